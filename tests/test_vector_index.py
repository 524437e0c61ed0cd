"""VectorIndex: exact flat search, HNSW recall, tombstones, persistence and input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assetloom.errors import AssetLoomError, VectorIndexError
from assetloom.index.vector_index import VectorIndex

DIM = 64


def clustered(n: int, *, dim: int = DIM, clusters: int = 300, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres, spread in a per-cluster 8-d subspace (embedding-like)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    bases = np.random.default_rng(1).standard_normal((clusters, 8, dim)) / np.sqrt(8)
    labels = rng.integers(0, clusters, n)
    z = rng.standard_normal((n, 8))
    x = centres[labels] / np.sqrt(dim) + np.einsum("nr,nrd->nd", z, bases[labels]) / np.sqrt(dim)
    x += 0.1 * rng.standard_normal((n, dim)) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]
    return ids[order]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [len(set(f) & set(t)) for f, t in zip(found, truth, strict=True)]
    return sum(hits) / truth.size


@pytest.fixture(scope="module")
def big() -> tuple[np.ndarray, np.ndarray, VectorIndex]:
    vectors = clustered(30_000)
    ids = np.arange(30_000, dtype=np.int64) * 7 + 3  # ids unrelated to rows
    return ids, vectors, VectorIndex.build(ids, vectors)


def test_flat_search_is_exact() -> None:
    vectors = clustered(2_000, seed=1)
    ids = np.arange(2_000, dtype=np.int64) + 1_000
    index = VectorIndex(DIM)
    index.add(ids[:1_000], vectors[:1_000])
    index.add(ids[1_000:], vectors[1_000:])
    queries = clustered(50, seed=2)
    scores, found = index.search(queries, 10)
    assert index.kind == "flat" and len(index) == 2_000
    np.testing.assert_array_equal(found, exact(vectors, ids, queries, 10))
    np.testing.assert_allclose(scores[:, 0], (queries @ vectors.T).max(axis=1), atol=1e-5)
    best = index.search_one(queries[0], 3)
    assert [i for i, _ in best] == found[0, :3].tolist()
    np.testing.assert_allclose(index.get(int(ids[5])), vectors[5], atol=1e-6)
    assert index.get(-42) is None


def test_unnormalised_input_is_normalised() -> None:
    vectors = clustered(100, seed=3)
    index = VectorIndex(DIM)
    index.add(np.arange(100), vectors * 5.0)
    [(found, score)] = index.search_one(vectors[7] * 0.1, 1)
    assert found == 7 and score == pytest.approx(1.0, abs=1e-5)


def test_hnsw_recall_at_10(big: tuple[np.ndarray, np.ndarray, VectorIndex]) -> None:
    ids, vectors, index = big
    assert index.kind == "hnsw"
    queries = clustered(300, seed=9)
    _, found = index.search(queries, 10)
    assert recall(found, exact(vectors, ids, queries, 10)) >= 0.95


def test_remove_on_hnsw_never_returns_removed(
    big: tuple[np.ndarray, np.ndarray, VectorIndex], tmp_path: Path
) -> None:
    ids, vectors, index = big
    gone = ids[::12]  # ~8 %: below the compaction line
    assert index.remove(gone) == len(gone)
    assert index.remove(gone) == 0
    assert len(index) == len(ids) - len(gone) and not index.needs_compaction
    queries = np.concatenate([vectors[::12][:200], clustered(100, seed=10)])
    _, found = index.search(queries, 10)
    assert not np.isin(found, gone).any()
    assert (found >= 0).all()  # filtered in the graph walk, so still k results
    keep = ~np.isin(ids, gone)
    assert recall(found, exact(vectors[keep], ids[keep], queries, 10)) >= 0.95

    path = tmp_path / "visual.vidx"
    index.save(path)
    loaded = VectorIndex.load(path, dim=DIM)
    assert (loaded.kind, len(loaded), loaded.tombstones) == ("hnsw", len(index), len(gone))
    np.testing.assert_array_equal(loaded.search(queries, 10)[1], found)
    assert loaded.get(int(gone[0])) is None


def test_flat_remove_and_replace() -> None:
    vectors = clustered(200, seed=4)
    index = VectorIndex(DIM)
    index.add(np.arange(200), vectors)
    index.remove([0, 1, 2, 999])
    assert len(index) == 197 and 0 not in index and 3 in index
    assert not np.isin(index.search(vectors[:3], 200)[1], [0, 1, 2]).any()
    index.add([3], vectors[100:101])  # replace: id 3 now points elsewhere
    hits = index.search_one(vectors[100], 2)
    assert {i for i, _ in hits} == {3, 100} and len(index) == 197
    np.testing.assert_allclose(index.get(3), vectors[100], atol=1e-6)
    index.remove(np.arange(150))  # past 10 %: a flat index compacts at once
    assert index.tombstones == 0 and len(index) == 50


def test_hnsw_compaction_and_switch_back_to_flat() -> None:
    vectors = clustered(600, seed=5)
    index = VectorIndex.build(np.arange(600), vectors, hnsw_threshold=300)
    assert index.kind == "hnsw"
    index.remove(np.arange(100))
    assert index.needs_compaction and index.tombstones == 100
    before = index.search(vectors[100:110], 5)[1]
    index.compact()
    assert (index.kind, index.tombstones, len(index)) == ("hnsw", 0, 500)
    np.testing.assert_array_equal(index.search(vectors[100:110], 5)[1], before)
    index.remove(np.arange(100, 400))
    index.compact()
    assert index.kind == "flat" and len(index) == 200


def test_build_picks_kind_by_size_and_flat_grows_into_hnsw() -> None:
    vectors = clustered(400, seed=6)
    assert VectorIndex.build(np.arange(400), vectors, hnsw_threshold=400).kind == "flat"
    assert VectorIndex.build(np.arange(400), vectors, hnsw_threshold=399).kind == "hnsw"
    index = VectorIndex(DIM, hnsw_threshold=300)
    index.add(np.arange(300), vectors[:300])
    assert index.kind == "flat"
    index.add(np.arange(300, 400), vectors[300:])
    assert index.kind == "hnsw" and len(index) == 400
    assert index.search_one(vectors[350], 1)[0][0] == 350


def test_save_load_round_trip_flat_with_tombstones(tmp_path: Path) -> None:
    vectors = clustered(100, seed=7)
    index = VectorIndex(DIM, space="text")
    index.add(np.arange(100) + 10, vectors)
    index.remove([10, 11])  # 2 %: kept as tombstones
    path = tmp_path / "index" / "text.vidx"
    index.save(path)
    index.save(path)  # overwrite in place
    assert [p.name for p in path.parent.iterdir()] == ["text.vidx"]
    loaded = VectorIndex.load(path)
    assert (loaded.space, loaded.dim, loaded.tombstones, len(loaded)) == ("text", DIM, 2, 98)
    np.testing.assert_array_equal(loaded.search(vectors, 5)[1], index.search(vectors, 5)[1])
    loaded.add([10], vectors[:1])
    assert loaded.search_one(vectors[0], 1)[0][0] == 10


def test_empty_index_searches_return_nothing() -> None:
    index = VectorIndex(DIM)
    scores, ids = index.search(clustered(3), 5)
    assert ids.shape == (3, 5) and (ids == -1).all() and np.isneginf(scores).all()
    assert index.search_one(clustered(1)[0], 5) == []
    index.add([1, 2], clustered(2))
    assert [i for i, _ in index.search_one(clustered(1)[0], 5)] in ([1, 2], [2, 1])
    index.remove([1, 2])
    assert index.search_one(clustered(1)[0], 5) == []
    assert index.search(np.empty((0, DIM), np.float32), 5)[1].shape == (0, 5)


def test_bad_input_raises_vector_index_error(tmp_path: Path) -> None:
    index = VectorIndex(DIM, space="visual")
    with pytest.raises(VectorIndexError, match="do not fit this 64-d index"):
        index.add([1], np.ones((1, 32), np.float32))
    index.add([1], clustered(1))
    with pytest.raises(AssetLoomError, match="64-d"):
        index.search(np.ones((1, 384), np.float32), 3)
    bad = [
        lambda: index.add([1, 2], clustered(1)),
        lambda: index.add([5, 5], clustered(2)),
        lambda: index.add([5], np.full((1, DIM), np.nan, np.float32)),
        lambda: index.add([5], np.zeros((1, DIM), np.float32)),
        lambda: index.search(clustered(1), 0),
    ]
    for call in bad:
        with pytest.raises(VectorIndexError):
            call()

    path = tmp_path / "v.vidx"
    index.save(path)
    with pytest.raises(VectorIndexError, match="expected 384-d"):
        VectorIndex.load(path, dim=384)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(VectorIndexError, match="cannot read"):
        VectorIndex.load(path)
    path.write_bytes(b"not an index at all")
    with pytest.raises(VectorIndexError):
        VectorIndex.load(path)
