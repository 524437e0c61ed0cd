"""Hamming search over fixed-width binary codes (PDQ, pHash, SimHash) with FAISS binary indexes.

The index holds (int64 row id -> code); the catalog's fingerprint rows are the truth and
`rebuild` recreates the index from them, so a lost or stale file costs a rebuild, never data.

Layout, by size (bench/verify_scale.py: 100,000 assets = 500,000 PDQ codes, ~60 probes/verify):
- up to `IVF_THRESHOLD` codes, an exact `IndexBinaryFlat`: verify p50 25 ms, recall 0.98;
- above it, `IndexBinaryIVF` (nlist ~ 4·sqrt(n), `NPROBE` lists scanned): p50 21 ms at the same
  size but recall 0.965 on that random-code library, so it only starts past a million codes,
  where a flat scan would take ~100 ms per verify.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

from assetloom.blobs.local import write_atomic

IVF_THRESHOLD = 1_000_000
NPROBE = 64
_TRAIN_MAX = 100_000
# Code comparisons below which a search runs on one thread: OpenMP's start-up and spinning cost
# ~25-50 ms per call on a busy 2-core machine, against 0.15 ms for 70 codes x 600 single-threaded.
_PARALLEL_WORK = 20_000_000


class HammingIndex:
    """Row ids -> binary codes of `nbits` bits; range and k-NN search by Hamming distance."""

    def __init__(self, nbits: int, *, ivf_threshold: int = IVF_THRESHOLD) -> None:
        if nbits % 8:
            raise ValueError(f"code width must be a whole number of bytes, not {nbits} bits")
        self.nbits = nbits
        self.ivf_threshold = ivf_threshold
        self._index: faiss.IndexBinary = _flat(nbits)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        """ "flat" or "ivf": which structure currently answers searches."""
        return "ivf" if isinstance(self._index, faiss.IndexBinaryIVF) else "flat"

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        """Add codes (uint8, shape (n, nbits/8)) under int64 row ids; ids must be new."""
        ids, codes = self._check(ids, codes)
        if not len(ids):
            return
        if self.kind == "flat" and len(self) + len(ids) > self.ivf_threshold:
            self._to_ivf(codes, ids)
            return
        self._index.add_with_ids(codes, ids)

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove row ids (unknown ids are ignored); returns how many codes went."""
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        if not arr.size:
            return 0
        return int(self._index.remove_ids(faiss.IDSelectorBatch(arr)))

    def range_search(self, codes: np.ndarray, radius: int) -> list[list[tuple[int, int]]]:
        """For each query code, every (row id, distance) with distance <= radius, nearest first."""
        codes = _codes(codes, self.nbits)
        if not len(codes) or not len(self):
            return [[] for _ in range(len(codes))]
        # FAISS's binary range search keeps distances strictly below its argument.
        with self._threads(len(codes)):
            lims, dist, ids = self._index.range_search(codes, radius + 1)
        out = []
        for q in range(len(codes)):
            lo, hi = int(lims[q]), int(lims[q + 1])
            order = np.argsort(dist[lo:hi], kind="stable")
            out.append([(int(ids[lo + i]), int(dist[lo + i])) for i in order])
        return out

    def knn(self, codes: np.ndarray, k: int) -> list[list[tuple[int, int]]]:
        """For each query code, its k nearest (row id, distance), nearest first."""
        codes = _codes(codes, self.nbits)
        if not len(codes) or not len(self) or k <= 0:
            return [[] for _ in range(len(codes))]
        with self._threads(len(codes)):
            dist, ids = self._index.search(codes, min(k, len(self)))
        return [
            [(int(i), int(d)) for d, i in zip(drow, irow, strict=True) if i >= 0]
            for drow, irow in zip(dist, ids, strict=True)
        ]

    def to_bytes(self) -> bytes:
        """The index as FAISS writes it: a snapshot to write out without holding a lock."""
        return faiss.serialize_index_binary(self._index).tobytes()

    def save(self, path: str | Path) -> None:
        """Write atomically: a temporary file in the same folder, fsync, then rename over `path`."""
        write_atomic(Path(path), self.to_bytes())

    @classmethod
    def load(cls, path: str | Path, *, ivf_threshold: int = IVF_THRESHOLD) -> HammingIndex:
        index = faiss.read_index_binary(str(path))
        if isinstance(index, faiss.IndexBinaryIVF):
            index.nprobe = NPROBE
        out = cls(index.d, ivf_threshold=ivf_threshold)
        out._index = index
        return out

    @classmethod
    def rebuild(
        cls,
        nbits: int,
        rows: Iterable[tuple[int, bytes]],
        *,
        ivf_threshold: int = IVF_THRESHOLD,
        batch: int = 50_000,
    ) -> HammingIndex:
        """A fresh index from (row id, code bytes) pairs, e.g. streamed from the catalog."""
        index = cls(nbits, ivf_threshold=ivf_threshold)
        ids: list[int] = []
        codes: list[bytes] = []
        for row_id, code in rows:
            ids.append(row_id)
            codes.append(code)
            if len(ids) >= batch:
                index.add(np.asarray(ids, dtype=np.int64), _codes(codes, nbits))
                ids, codes = [], []
        if ids:
            index.add(np.asarray(ids, dtype=np.int64), _codes(codes, nbits))
        return index

    @contextmanager
    def _threads(self, nq: int) -> Iterator[None]:
        """One OpenMP thread unless the scan is big enough to pay for more."""
        scanned = len(self) * (NPROBE / self._index.nlist if self.kind == "ivf" else 1.0)
        if nq * scanned >= _PARALLEL_WORK:
            yield
            return
        previous = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(previous)

    def _to_ivf(self, new_codes: np.ndarray, new_ids: np.ndarray) -> None:
        """Move everything into a trained IVF index once the flat scan gets too slow."""
        old_ids, old_codes = self._contents()
        ids = np.concatenate([old_ids, new_ids])
        codes = np.concatenate([old_codes, new_codes])
        nlist = max(64, int(4 * math.sqrt(len(ids))))
        quantizer = faiss.IndexBinaryFlat(self.nbits)
        ivf = faiss.IndexBinaryIVF(quantizer, self.nbits, nlist)
        ivf.own_fields = True
        quantizer.this.disown()
        sample = np.random.default_rng(0).permutation(len(codes))[:_TRAIN_MAX]
        ivf.train(codes[sample])
        ivf.add_with_ids(codes, ids)
        ivf.nprobe = NPROBE
        self._index = ivf

    def _contents(self) -> tuple[np.ndarray, np.ndarray]:
        flat = faiss.downcast_IndexBinary(self._index.index)
        codes = faiss.vector_to_array(flat.xb).reshape(-1, self.nbits // 8)
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        return ids, codes

    def _check(self, ids: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        codes = _codes(codes, self.nbits)
        if len(ids) != len(codes):
            raise ValueError(f"{len(ids)} ids for {len(codes)} codes")
        return ids, codes


def _flat(nbits: int) -> faiss.IndexBinary:
    return faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(nbits))


def _codes(codes: np.ndarray | list[bytes], nbits: int) -> np.ndarray:
    if isinstance(codes, list):
        codes = np.frombuffer(b"".join(codes), dtype=np.uint8)
    arr = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, nbits // 8)
    return arr
