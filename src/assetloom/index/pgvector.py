"""The VectorIndex port on PostgreSQL + pgvector: the catalog's `embeddings` rows are the index.

Storage (migration 0006): `embeddings.embedding`, an untyped `vector` column beside the float32
bytes, filled by a trigger from those bytes in the same INSERT. Spaces differ in dimension, so
each (space, dimension) gets its own partial HNSW index over an expression of fixed dimension:

    CREATE INDEX ix_embeddings_hnsw_visual_384 ON embeddings
        USING hnsw ((embedding::vector(384)) vector_cosine_ops)
        WHERE space = 'visual' AND vector_dims(embedding) = 384

One table keeps one row id per embedding (hits resolve as with FAISS) and one write per row;
a table per space would need a second INSERT and a second row id. A search names the space and
dimension as literals, so the planner can match the partial index (a bind parameter cannot
prove the predicate), and orders by the same expression. Dimensions over 2,000 (HNSW's limit
for `vector`) use `halfvec` up to 4,000; beyond that a space is searched exactly.

Rows are searchable as soon as they commit (without an index, by an exact scan): `add_rows`
only makes a missing index, `remove_rows` has nothing to do (deleted rows leave the index with
VACUUM), and `rebuild` recreates the indexes.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from assetloom.index.base import VectorRow

log = logging.getLogger(__name__)

# ef_search 100 gave recall@10 0.955 and 40 gave 0.81 on 100k embedding-like 384-d vectors
# (shared/COMPONENTS.md, m 16, ef_construction 64); 128 leaves a margin. Never below k.
DEFAULT_EF_SEARCH = 128
MAX_EF_SEARCH = 1000  # pgvector's upper bound for hnsw.ef_search
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
MAX_VECTOR_DIMS = 2000  # HNSW over `vector`
MAX_HALFVEC_DIMS = 4000  # HNSW over `halfvec`
MAX_DIMS = 16000  # pgvector's `vector`
# add_rows builds a missing index only for a space this small (a new space, in practice): a
# build blocks writes to `embeddings` while it runs; bigger ones wait for rebuild().
AUTO_BUILD_MAX_ROWS = 50_000
_PREFIX = "ix_embeddings_hnsw_"
_PLAIN_SPACE = re.compile(r"[a-z0-9_]{1,16}")
_INDEX_CACHE_TTL_S = 60.0


def index_name(space: str, dims: int) -> str:
    """ix_embeddings_hnsw_<space>_<dims>; a space with other characters goes by a digest."""
    tag = (
        space
        if _PLAIN_SPACE.fullmatch(space)
        else "h" + hashlib.sha256(space.encode()).hexdigest()[:12]
    )
    return f"{_PREFIX}{tag}_{dims}"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _typed(dims: int) -> tuple[str, str]:
    """(the column cast to a fixed dimension, its operator class)."""
    kind = "vector" if dims <= MAX_VECTOR_DIMS else "halfvec"
    return f"(embedding::{kind}({dims}))", f"{kind}_cosine_ops"


def _predicate(space: str, dims: int) -> str:
    return f"space = {_literal(space)} AND vector_dims(embedding) = {dims}"


class PgVectorIndex:
    """Nearest embeddings per space by cosine, searched in PostgreSQL.

    `engine` may be the catalog's reader: searches only read, and index builds are DDL that do
    not need the writer's lock. `ef_search` applies per query (SET LOCAL), at least k.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        ef_search: int = DEFAULT_EF_SEARCH,
        m: int = HNSW_M,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
        maintenance_work_mem: str = "256MB",
        build_lock_timeout_s: float = 5.0,
    ) -> None:
        if not re.fullmatch(r"\d+\s*[kMG]?B", maintenance_work_mem):
            raise ValueError(f"maintenance_work_mem like '256MB', not {maintenance_work_mem!r}")
        self.engine = engine
        self.ef_search = ef_search
        self.m = m
        self.ef_construction = ef_construction
        self.maintenance_work_mem = maintenance_work_mem
        self.build_lock_timeout_s = build_lock_timeout_s
        self._indexes: set[str] = set()
        self._indexes_at = float("-inf")

    # --- the port --------------------------------------------------------------------------

    def search_assets(
        self, space: str, vector: np.ndarray, k: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """Assets nearest to `vector` in `space`, best first, with their cosine similarity.

        An asset with several rows in the space (two models, or the vectors of its key frames
        and passages) is listed once, at its best, naming the segment that row is of.
        """
        query = np.asarray(vector, dtype=np.float32).ravel()
        if k <= 0 or not 0 < query.size <= MAX_DIMS or not np.isfinite(query).all():
            return []
        if not query.any():  # no direction: cosine is undefined
            return []
        sql, params = self.search_sql(space, query, k)
        with self.engine.connect() as conn, conn.begin():
            ef = min(max(self.ef_search, k), MAX_EF_SEARCH)
            conn.execute(text("SELECT set_config('hnsw.ef_search', :v, true)"), {"v": str(ef)})
            if k > MAX_EF_SEARCH:  # more than one HNSW pass returns: keep scanning, in order
                conn.execute(text("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)"))
            rows = conn.execute(text(sql), params).all()
        hits: dict[str, dict[str, Any]] = {}
        for asset_id, segment, distance in rows:
            if asset_id not in hits:
                hits[asset_id] = {"similarity": round(1.0 - float(distance), 4)}
                if segment:
                    hits[asset_id]["segment"] = segment
        return list(hits.items())

    def add_rows(self, rows: Iterable[VectorRow]) -> None:
        """The trigger of migration 0006 already filled `embedding`; make missing indexes."""
        shapes = {(space, len(vector) // 4) for _, space, vector in rows if len(vector) >= 4}
        for space, dims in sorted(shapes):
            if dims <= MAX_HALFVEC_DIMS and index_name(space, dims) not in self._valid_indexes():
                self._build_if_small(space, dims)

    def remove_rows(self, rows: Iterable[tuple[int, str]]) -> None:
        """Nothing to do: the catalog's DELETE removed them from every index."""

    def rebuild(self) -> dict[str, int]:
        """Recreate every (space, dimension) index from the rows; drop those of no rows.

        Each new index is built beside the old one (searches keep using the old), then swapped
        in by name in the same transaction.
        """
        with self.engine.connect() as conn:
            shapes = conn.execute(
                text(
                    "SELECT space, vector_dims(embedding), count(*) FROM embeddings "
                    "WHERE embedding IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"
                )
            ).all()
        wanted = {index_name(space, dims) for space, dims, _ in shapes}
        for space, dims, _ in shapes:
            if dims <= MAX_HALFVEC_DIMS:
                self._build(space, dims, replace=True)
        with self.engine.connect() as conn, conn.begin():
            for name in self._existing_indexes(conn) - wanted:
                conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')
        self._indexes_at = float("-inf")
        counts: dict[str, int] = defaultdict(int)
        for space, _, n in shapes:
            counts[space] += int(n)
        return dict(counts)

    def sizes(self) -> dict[str, int]:
        """Rows per space with a vector (all of them but bytes no vector can hold)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT space, count(*) FROM embeddings WHERE embedding IS NOT NULL "
                    "GROUP BY space"
                )
            ).all()
        return {space: int(n) for space, n in rows}

    # --- SQL -------------------------------------------------------------------------------

    def search_sql(self, space: str, query: np.ndarray, k: int) -> tuple[str, dict[str, Any]]:
        """The k-NN statement (space and dimension inline, so the partial index matches)."""
        dims = int(query.size)
        expr, _ = _typed(dims)
        kind = "vector" if dims <= MAX_VECTOR_DIMS else "halfvec"
        distance = f"{expr} <=> CAST(:q AS {kind}({dims}))"
        sql = (
            f"SELECT asset_id, segment, {distance} AS distance FROM embeddings "
            f"WHERE {_predicate(space, dims)} ORDER BY {distance}, id LIMIT :k"
        )
        return sql, {"q": "[" + ",".join(map(repr, query.tolist())) + "]", "k": int(k)}

    def _build_if_small(self, space: str, dims: int) -> None:
        with self.engine.connect() as conn:
            n = conn.execute(
                text(f"SELECT count(*) FROM embeddings WHERE {_predicate(space, dims)}")
            ).scalar_one()
        if n <= AUTO_BUILD_MAX_ROWS:
            try:
                self._build(space, dims, replace=False)
            except DBAPIError as error:  # busy writers (lock_timeout), or another process won
                log.warning("HNSW index %s not built now: %s", index_name(space, dims), error.orig)
        else:
            log.warning(
                "space %r (%d-d) has %d vectors and no HNSW index: searched exactly until "
                "the vector index is rebuilt",
                space,
                dims,
                n,
            )

    def _build(self, space: str, dims: int, *, replace: bool) -> None:
        name = index_name(space, dims)
        expr, ops = _typed(dims)
        target = f"{name}__new" if replace else name
        self._indexes_at = float("-inf")
        with self.engine.connect() as conn, conn.begin():
            # One index build at a time, across processes: two `index rebuild`s would create
            # the same "__new" index, and each build's share lock on the table blocks the
            # other's swap (a deadlock). The second waits, then builds from what the first
            # committed.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('assetloom:hnsw-build'))"))
            conn.exec_driver_sql(
                f"SET LOCAL lock_timeout = '{int(self.build_lock_timeout_s * 1000)}ms'"
            )
            conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{self.maintenance_work_mem}'")
            if not replace and name in self._existing_indexes(conn):
                return
            # The target may be left over: an invalid index from a failed build, or a __new.
            conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{target}"')
            conn.exec_driver_sql(
                f'CREATE INDEX "{target}" ON embeddings USING hnsw ({expr} {ops}) '
                f"WITH (m = {int(self.m)}, ef_construction = {int(self.ef_construction)}) "
                f"WHERE {_predicate(space, dims)}"
            )
            if replace:
                conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')
                conn.exec_driver_sql(f'ALTER INDEX "{target}" RENAME TO "{name}"')

    def _valid_indexes(self) -> set[str]:
        now = time.monotonic()
        if now - self._indexes_at > _INDEX_CACHE_TTL_S:
            with self.engine.connect() as conn:
                self._indexes = self._existing_indexes(conn)
                self._indexes_at = now
        return self._indexes

    @staticmethod
    def _existing_indexes(conn: Connection, *, valid_only: bool = True) -> set[str]:
        rows = conn.execute(
            text(
                "SELECT c.relname, i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = to_regclass('embeddings') AND c.relname LIKE :p"
            ),
            {"p": _PREFIX.replace("_", "\\_") + "%"},
        ).all()
        return {name for name, valid in rows if valid or not valid_only}
