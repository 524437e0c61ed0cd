"""index.pgvector: the VectorIndex port over the catalog's embeddings rows in PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from assetloom.index.base import VectorIndex
from assetloom.index.pgvector import PgVectorIndex, index_name
from assetloom.store.db import make_engine, migrate
from assetloom.store.schema import AssetRow
from assetloom.store.search_tables import EmbeddingRow
from tests.backends.pg_database import fresh_database

SPACES = {"visual": (96, 1800), "backbone": (160, 1200)}  # space: (dimensions, rows)
K = 10


@dataclass
class Catalog:
    engine: sa.Engine
    reader: sa.Engine
    vectors: dict[str, np.ndarray]  # space -> unit vectors, row i belongs to asset_ids[i]
    asset_ids: list[str]


def unit(rng: np.random.Generator, n: int, dims: int) -> np.ndarray:
    v = rng.standard_normal((n, dims)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def catalog(postgres_url: str) -> Iterator[Catalog]:
    rng = np.random.default_rng(10)
    n_assets = max(n for _, n in SPACES.values())
    asset_ids = [f"{i:032x}" for i in range(n_assets)]
    with fresh_database(postgres_url) as url:
        engine = make_engine(url, writer=True)
        reader = make_engine(url)
        try:
            migrate(engine)
            vectors = {space: unit(rng, n, dims) for space, (dims, n) in SPACES.items()}
            with Session(engine) as s, s.begin():
                s.add_all(asset(a) for a in asset_ids)
                s.flush()
                for space, matrix in vectors.items():  # as the catalog writer does: ORM rows
                    rows = [
                        EmbeddingRow(asset_id=a, space=space, model="m", vector=v.tobytes())
                        for a, v in zip(asset_ids, matrix, strict=False)
                    ]
                    s.add_all(rows)
            yield Catalog(engine, reader, vectors, asset_ids)
        finally:
            engine.dispose()
            reader.dispose()


def asset(asset_id: str) -> AssetRow:
    return AssetRow(
        asset_id=asset_id,
        sha256=asset_id * 2,
        media_type="image",
        mime="image/jpeg",
        size=1,
        original_name=f"{asset_id}.jpg",
        metadata_json={},
        has_thumbnail=False,
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def index(catalog: Catalog) -> PgVectorIndex:
    index = PgVectorIndex(catalog.reader)
    with Session(catalog.engine) as s:
        rows = s.execute(sa.select(EmbeddingRow.id, EmbeddingRow.space, EmbeddingRow.vector))
        index.add_rows([(i, space, v) for i, space, v in rows])
    return index


def exact_top(catalog: Catalog, space: str, query: np.ndarray, k: int) -> list[tuple[str, float]]:
    scores = catalog.vectors[space] @ query
    best = np.argsort(-scores, kind="stable")[:k]
    return [(catalog.asset_ids[i], float(scores[i])) for i in best]


def test_it_is_a_vector_index(index: PgVectorIndex) -> None:
    assert isinstance(index, VectorIndex)


def test_add_rows_made_one_hnsw_index_per_space(catalog: Catalog, index: PgVectorIndex) -> None:
    with catalog.reader.connect() as conn:
        names = set(
            conn.execute(
                sa.text(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'embeddings' "
                    "AND indexdef LIKE '%USING hnsw%'"
                )
            ).scalars()
        )
    assert names == {index_name(space, dims) for space, (dims, _) in SPACES.items()}


@pytest.mark.parametrize("space", sorted(SPACES))
def test_the_search_uses_the_space_index(
    catalog: Catalog, index: PgVectorIndex, space: str
) -> None:
    dims = SPACES[space][0]
    sql, params = index.search_sql(space, catalog.vectors[space][0], K)
    with catalog.reader.connect() as conn:
        plan = "\n".join(conn.execute(sa.text("EXPLAIN " + sql), params).scalars())
    assert index_name(space, dims) in plan, plan


@pytest.mark.parametrize("space", sorted(SPACES))
def test_recall_against_exact_search(catalog: Catalog, index: PgVectorIndex, space: str) -> None:
    rng = np.random.default_rng(sorted(SPACES).index(space))
    dims = SPACES[space][0]
    recalls = []
    for query in unit(rng, 25, dims):
        got = index.search_assets(space, query, K)
        want = exact_top(catalog, space, query, K)
        recalls.append(len({a for a, _ in got} & {a for a, _ in want}) / K)
        assert len(got) == K
        sims = [hit["similarity"] for _, hit in got]
        assert sims == sorted(sims, reverse=True)
        truth = dict(exact_top(catalog, space, query, len(catalog.asset_ids)))
        for asset_id, hit in got:  # the ids are the rows' own assets, the scores their cosines
            assert hit["similarity"] == pytest.approx(truth[asset_id], abs=1e-4)
    assert np.mean(recalls) >= 0.9, recalls


def test_a_stored_vector_finds_its_own_asset_first(catalog: Catalog, index: PgVectorIndex) -> None:
    for space in SPACES:
        for i in (0, 17, len(catalog.vectors[space]) - 1):
            got = index.search_assets(space, catalog.vectors[space][i] * 3.0, 3)  # any length
            assert got[0][0] == catalog.asset_ids[i]
            assert got[0][1]["similarity"] == pytest.approx(1.0, abs=1e-5)


def test_more_results_than_ef_search(catalog: Catalog, index: PgVectorIndex) -> None:
    got = index.search_assets("visual", catalog.vectors["visual"][5], 300)
    assert len(got) == 300 and got[0][0] == catalog.asset_ids[5]


def test_odd_queries(index: PgVectorIndex) -> None:
    assert index.search_assets("visual", np.zeros(96, np.float32), K) == []
    assert index.search_assets("visual", np.full(96, np.nan, np.float32), K) == []
    assert index.search_assets("visual", np.ones(96, np.float32), 0) == []
    assert index.search_assets("no such space", np.ones(96, np.float32), K) == []
    assert index.search_assets("visual", np.ones(7, np.float32), K) == []  # no rows of 7-d
    assert index.search_assets("it's", np.ones(96, np.float32), K) == []  # quoted


def test_sizes_and_rebuild(catalog: Catalog, index: PgVectorIndex) -> None:
    expected = {space: n for space, (_, n) in SPACES.items()}
    assert index.sizes() == expected
    assert index.rebuild() == expected
    test_add_rows_made_one_hnsw_index_per_space(catalog, index)
    with catalog.reader.connect() as conn:
        invalid = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_index WHERE indrelid = 'embeddings'::regclass "
                "AND NOT indisvalid"
            )
        ).scalar_one()
    assert invalid == 0
    query = catalog.vectors["backbone"][3]
    assert index.search_assets("backbone", query, 1)[0][0] == catalog.asset_ids[3]


def test_concurrent_rebuilds_take_turns(catalog: Catalog, index: PgVectorIndex) -> None:
    """Two processes rebuilding at once (here: two threads, two connections) used to share
    the temporary index name; each now waits its turn and both succeed."""
    from concurrent.futures import ThreadPoolExecutor

    others = [PgVectorIndex(catalog.reader) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda ix: ix.rebuild(), others))
    expected = {space: n for space, (_, n) in SPACES.items()}
    assert results == [expected, expected]
    test_add_rows_made_one_hnsw_index_per_space(catalog, index)


def test_one_asset_two_rows_is_listed_once(catalog: Catalog, index: PgVectorIndex) -> None:
    target = catalog.asset_ids[42]
    near = catalog.vectors["visual"][42] + 0.01 * catalog.vectors["visual"][43]
    with Session(catalog.engine) as s, s.begin():
        row = EmbeddingRow(asset_id=target, space="visual", model="m2", vector=near.tobytes())
        s.add(row)
        s.flush()
        extra = (row.id, "visual", row.vector)
    index.add_rows([extra])
    try:
        got = [a for a, _ in index.search_assets("visual", catalog.vectors["visual"][42], K)]
        assert got[0] == target and got.count(target) == 1
    finally:
        with Session(catalog.engine) as s, s.begin():
            s.execute(sa.delete(EmbeddingRow).where(EmbeddingRow.id == extra[0]))
        index.remove_rows([(extra[0], "visual")])


def test_removed_assets_are_never_found(catalog: Catalog, index: PgVectorIndex) -> None:
    """Deleting an asset deletes its rows (ON DELETE CASCADE), and so its hits, at once."""
    rng = np.random.default_rng(3)
    extra_ids = [f"{i:032x}"[::-1] for i in range(1, 31)]
    extra = unit(rng, len(extra_ids), SPACES["visual"][0])
    with Session(catalog.engine) as s, s.begin():
        s.add_all(asset(a) for a in extra_ids)
        s.flush()
        rows = [
            EmbeddingRow(asset_id=a, space="visual", model="m", vector=v.tobytes())
            for a, v in zip(extra_ids, extra, strict=True)
        ]
        s.add_all(rows)
        s.flush()
        added = [(r.id, r.space, r.vector) for r in rows]
    index.add_rows(added)
    for i in range(0, len(extra_ids), 6):
        assert index.search_assets("visual", extra[i], K)[0][0] == extra_ids[i]
    with Session(catalog.engine) as s, s.begin():
        s.execute(sa.delete(AssetRow).where(AssetRow.asset_id.in_(extra_ids)))
    index.remove_rows([(row_id, space) for row_id, space, _ in added])
    for i in range(0, len(extra_ids), 6):
        got = [a for a, _ in index.search_assets("visual", extra[i], K)]
        assert len(got) == K and not set(got) & set(extra_ids)
    assert index.sizes() == {space: n for space, (_, n) in SPACES.items()}
