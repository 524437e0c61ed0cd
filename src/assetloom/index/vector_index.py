"""Dense vector index for one embedding space: cosine similarity over int64 ids, in process.

Vectors are L2-normalised on the way in, so inner product is cosine. The catalog keeps the
vectors; this index is a cache that `VectorIndex.build` recreates from them at any time.

Layout, by size (figures in docs/vector-index.md, measured with bench/search.py):
- up to `HNSW_THRESHOLD` live vectors, an exact `IndexFlatIP` (20k x 384-d: ~1 ms a query);
- above it, `IndexHNSWFlat` with inner product, `HnswParams` chosen for recall@10 >= 0.95.

Both keep vectors in insertion rows; we map row -> id ourselves because HNSW cannot delete.
A removed (or replaced) id leaves a tombstoned row that searches skip through a FAISS
`IDSelector`, so a search still returns k live results; `compact()` drops the dead rows.
"""

from __future__ import annotations

import json
import logging
import struct
import threading
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import faiss
import numpy as np

from assetloom.blobs.local import write_atomic
from assetloom.errors import VectorIndexError

log = logging.getLogger(__name__)

HNSW_THRESHOLD = 20_000
COMPACT_FRACTION = 0.10
SERIAL_QUERIES = 16  # fewer queries than this search on one thread, see `_one_thread`
_CHUNK = 65_536  # rows normalised and added per step, to bound temporary copies
_MAGIC = b"ALVECIDX"
_VERSION = 1
_HEAD = struct.Struct("<8sII")  # magic, format version, header JSON length


@dataclass(frozen=True)
class HnswParams:
    """Graph settings. Defaults, measured: recall@10 1.00 at 100k and 0.97 at 1M clustered
    384-d vectors, p50 0.3-0.4 ms (ef_search 64 gave 0.92 at 1M, 256 gave 0.98 for +0.2 ms).

    `ef_search` may change on a live index (`dataclasses.replace`); `m` and `ef_construction`
    apply from the next build or compact.
    """

    m: int = 32
    ef_construction: int = 80
    ef_search: int = 128


DEFAULT_HNSW = HnswParams()


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run FAISS on one OpenMP thread in this OS thread (the setting is per thread).

    For a few queries a thread team costs more than it saves, and on a busy machine a
    descheduled team member stalls the whole search: a 20k flat search measured 1 ms on one
    thread, 16 ms on two while other work held the cores. Builds keep all cores.
    """
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class VectorIndex:
    """int64 id -> unit vector of `dim` floats; k-NN by cosine. Thread-safe (one lock)."""

    def __init__(
        self,
        dim: int,
        *,
        space: str = "",
        hnsw_threshold: int = HNSW_THRESHOLD,
        hnsw: HnswParams = DEFAULT_HNSW,
    ) -> None:
        if dim <= 0:
            raise VectorIndexError(f"vector dimension must be positive, not {dim}")
        self.dim = dim
        self.space = space
        self.hnsw_threshold = hnsw_threshold
        self.hnsw = hnsw
        self._lock = threading.RLock()
        self._reset("flat")

    # ------------------------------------------------------------------ state
    def _reset(self, kind: str) -> None:
        self._index: faiss.Index = self._new_index(kind)
        self._row_ids = array("q")  # row -> id, dead rows included
        self._row_of: dict[int, int] = {}  # live id -> row
        self._dead: set[int] = set()  # tombstoned rows
        self._selector: tuple[faiss.IDSelector, ...] | None = None

    def _new_index(self, kind: str) -> faiss.Index:
        if kind == "flat":
            return faiss.IndexFlatIP(self.dim)
        index = faiss.IndexHNSWFlat(self.dim, self.hnsw.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.hnsw.ef_construction
        index.hnsw.efSearch = self.hnsw.ef_search
        return index

    @property
    def kind(self) -> str:
        """ "flat" or "hnsw": which structure currently answers searches."""
        return "hnsw" if isinstance(self._index, faiss.IndexHNSW) else "flat"

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, vector_id: object) -> bool:
        return vector_id in self._row_of

    @property
    def tombstones(self) -> int:
        return len(self._dead)

    @property
    def needs_compaction(self) -> bool:
        """True once dead rows pass `COMPACT_FRACTION`: they cost memory and search time."""
        return len(self._dead) > COMPACT_FRACTION * max(len(self._row_ids), 1)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        ids: np.ndarray | Iterable[int],
        vectors: np.ndarray,
        *,
        space: str = "",
        hnsw_threshold: int = HNSW_THRESHOLD,
        hnsw: HnswParams = DEFAULT_HNSW,
    ) -> VectorIndex:
        """A fresh index over (ids, vectors), flat or HNSW by size: the rebuild path."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise VectorIndexError(f"vectors must be a 2-d array, not shape {vectors.shape}")
        out = cls(vectors.shape[1], space=space, hnsw_threshold=hnsw_threshold, hnsw=hnsw)
        ids_arr = _ids(ids)
        if len(ids_arr) > hnsw_threshold:
            out._index = out._new_index("hnsw")
        out.add(ids_arr, vectors)
        return out

    def add(self, ids: np.ndarray | Iterable[int], vectors: np.ndarray) -> None:
        """Add or replace vectors (shape (n, dim)) under ids; a replaced id's old row dies."""
        ids_arr = _ids(ids)
        vectors = self._matrix(vectors, "vectors")
        if len(ids_arr) != len(vectors):
            raise VectorIndexError(f"{len(ids_arr)} ids for {len(vectors)} vectors")
        if len(np.unique(ids_arr)) != len(ids_arr):
            raise VectorIndexError("the same id appears twice in one add")
        with self._lock:
            self._tombstone(ids_arr)
            first = len(self._row_ids)
            for lo in range(0, len(ids_arr), _CHUNK):
                self._index.add(_unit(vectors[lo : lo + _CHUNK]))
            self._row_ids.frombytes(ids_arr.tobytes())
            rows = range(first, first + len(ids_arr))
            self._row_of.update(zip(ids_arr.tolist(), rows, strict=True))
            if self.kind == "flat" and (len(self) > self.hnsw_threshold or self.needs_compaction):
                self.compact()

    def remove(self, ids: np.ndarray | Iterable[int]) -> int:
        """Remove ids (unknown ones are ignored); returns how many went.

        A flat index compacts itself at once (cheap below the threshold); an HNSW one only
        raises `needs_compaction`, since its rebuild takes minutes at a million vectors.
        """
        with self._lock:
            removed = self._tombstone(_ids(ids))
            if self.kind == "flat" and self.needs_compaction:
                self.compact()
            return removed

    def compact(self) -> None:
        """Rebuild from the live vectors, dropping dead rows; picks flat or HNSW by live size."""
        with self._lock:
            live = np.fromiter(sorted(self._row_of.values()), dtype=np.int64, count=len(self))
            ids = np.frombuffer(self._row_ids, dtype=np.int64)[live]
            vectors = self._index.reconstruct_batch(live) if len(live) else np.empty((0, self.dim))
            old = self.kind
            self._reset("hnsw" if len(live) > self.hnsw_threshold else "flat")
            self.add(ids, vectors)
            log.info(
                "vector index compacted",
                extra={"space": self.space, "live": len(live), "from": old, "to": self.kind},
            )

    def _tombstone(self, ids: np.ndarray) -> int:
        rows = [row for i in ids.tolist() if (row := self._row_of.pop(i, None)) is not None]
        if rows:
            self._dead.update(rows)
            self._selector = None
        return len(rows)

    # ------------------------------------------------------------------ reading
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by cosine for each query row: (scores float32, ids int64), both (nq, k).

        Slots beyond the live vectors hold id -1 and score -inf.
        """
        if k <= 0:
            raise VectorIndexError(f"k must be positive, not {k}")
        queries = self._matrix(queries, "queries")
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        with self._lock:
            if not len(self) or not len(queries):
                return scores, ids
            serial = _one_thread() if len(queries) < SERIAL_QUERIES else nullcontext()
            with serial:
                found, rows = self._index.search(_unit(queries), k, params=self._params(k))
            hit = rows >= 0
            ids[hit] = np.frombuffer(self._row_ids, dtype=np.int64)[rows[hit]]
        scores[hit] = found[hit]
        return scores, ids

    def search_one(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest (id, cosine) to one vector, best first; fewer if the index is small."""
        scores, ids = self.search(np.asarray(vector).reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def get(self, vector_id: int) -> np.ndarray | None:
        """The stored (normalised) vector for an id, or None."""
        with self._lock:
            row = self._row_of.get(vector_id)
            return None if row is None else self._index.reconstruct(row)

    def _params(self, k: int) -> faiss.SearchParameters | None:
        sel = self._live_selector()
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.hnsw.ef_search, k))
            if sel is not None:
                params.sel = sel
            return params
        return None if sel is None else faiss.SearchParameters(sel=sel)

    def _live_selector(self) -> faiss.IDSelector | None:
        """NOT(dead rows), cached until the next removal; FAISS skips them while searching."""
        if not self._dead:
            return None
        if self._selector is None:
            dead = np.fromiter(self._dead, dtype=np.int64, count=len(self._dead))
            batch = faiss.IDSelectorBatch(dead)
            # keep `batch` referenced: the NOT selector holds only a raw pointer to it
            self._selector = (faiss.IDSelectorNot(batch), batch)
        return self._selector[0]

    def _matrix(self, x: np.ndarray, what: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise VectorIndexError(
                f"{what} of shape {x.shape} do not fit this {self.dim}-d index"
                + (f" ({self.space})" if self.space else ""),
                hint="vectors from another encoder need `assetloom index rebuild`",
            )
        if not np.isfinite(x).all():
            raise VectorIndexError(f"{what} contain NaN or infinite values")
        if len(x) and not np.any(x, axis=1).all():
            raise VectorIndexError(f"{what} contain an all-zero vector, which has no direction")
        return x

    # ------------------------------------------------------------------ files
    def to_bytes(self) -> bytes:
        """Header, row ids, tombstones, graph: a snapshot to write out without holding a lock."""
        with self._lock:
            header = {
                "dim": self.dim,
                "space": self.space,
                "kind": self.kind,
                "rows": len(self._row_ids),
                "dead": len(self._dead),
                "hnsw_threshold": self.hnsw_threshold,
                "hnsw": asdict(self.hnsw),
            }
            head = json.dumps(header).encode()
            return b"".join(
                (
                    _HEAD.pack(_MAGIC, _VERSION, len(head)) + head,
                    self._row_ids.tobytes(),
                    np.array(sorted(self._dead), dtype=np.int64).tobytes(),
                    faiss.serialize_index(self._index).tobytes(),
                )
            )

    def save(self, path: str | Path) -> None:
        """Write one file atomically (tmp + fsync + rename)."""
        write_atomic(Path(path), self.to_bytes())

    @classmethod
    def load(cls, path: str | Path, *, dim: int | None = None) -> VectorIndex:
        """Read a file written by `save`; a damaged or foreign file raises VectorIndexError."""
        path = Path(path)
        hint = "delete it and run `assetloom index rebuild`"
        try:
            with path.open("rb") as fh:
                magic, version, head_len = _HEAD.unpack(_read(fh, _HEAD.size))
                if magic != _MAGIC or version != _VERSION:
                    raise VectorIndexError(f"{path} is not a vector index we can read", hint=hint)
                header = json.loads(_read(fh, head_len))
                row_ids = _read(fh, 8 * header["rows"])
                dead = np.frombuffer(_read(fh, 8 * header["dead"]), dtype=np.int64)
                index = faiss.read_index(faiss.PyCallbackIOReader(fh.read))
        except (OSError, ValueError, KeyError, RuntimeError, struct.error) as exc:
            raise VectorIndexError(f"cannot read vector index {path}: {exc}", hint=hint) from exc
        if index.ntotal != header["rows"] or index.d != header["dim"]:
            raise VectorIndexError(f"{path} is inconsistent (rows or dimension)", hint=hint)
        if dim is not None and dim != header["dim"]:
            raise VectorIndexError(
                f"{path} holds {header['dim']}-d vectors, expected {dim}-d",
                hint="the encoder changed: run `assetloom index rebuild`",
            )
        out = cls(
            header["dim"],
            space=header["space"],
            hnsw_threshold=header["hnsw_threshold"],
            hnsw=HnswParams(**header["hnsw"]),
        )
        out._index = index
        out._row_ids.frombytes(row_ids)
        out._dead = set(dead.tolist())
        ids = np.frombuffer(row_ids, dtype=np.int64)
        live = np.ones(len(ids), dtype=bool)
        live[dead] = False
        out._row_of = dict(zip(ids[live].tolist(), np.flatnonzero(live).tolist(), strict=True))
        return out


def _read(fh: BinaryIO, n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise ValueError("file is truncated")
    return data


def _ids(ids: np.ndarray | Iterable[int]) -> np.ndarray:
    arr = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids))
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise VectorIndexError(f"ids must be integers, not {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64).reshape(-1)


def _unit(x: np.ndarray) -> np.ndarray:
    """A float32, C-contiguous, L2-normalised copy (FAISS normalises in place)."""
    out = np.array(x, dtype=np.float32, order="C", copy=True)
    faiss.normalize_L2(out)
    return out
