"""HammingIndex: add / remove / range and k-NN search / atomic save / load / rebuild."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assetloom.index.hamming import HammingIndex


def _codes(n: int, nbytes: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, nbytes), dtype=np.uint8)


def _flip(codes: np.ndarray, nbits: int) -> np.ndarray:
    """The same codes with their first `nbits` bits inverted (distance exactly nbits)."""
    bits = np.unpackbits(codes, axis=1)
    bits[:, :nbits] ^= 1
    return np.packbits(bits, axis=1)


@pytest.fixture(params=["flat", "ivf"])
def index(request: pytest.FixtureRequest) -> HammingIndex:
    idx = HammingIndex(256, ivf_threshold=10**9 if request.param == "flat" else 100)
    idx.add(np.arange(1000, 1500, dtype=np.int64), _codes(500))
    assert idx.kind == request.param
    return idx


def test_range_search_is_inclusive_sorted_and_maps_ids(index: HammingIndex) -> None:
    codes = _codes(500)
    queries = np.concatenate([_flip(codes[:1], 3), _flip(codes[1:2], 60), _flip(codes[2:3], 61)])
    hits = index.range_search(queries, 60)
    assert hits[0] == [(1000, 3)]
    assert hits[1] == [(1001, 60)]  # radius is inclusive
    assert hits[2] == []
    near = np.concatenate([codes[5:6], codes[5:6]])
    near[1] = _flip(codes[5:6], 10)[0]
    index.add(np.array([7, 8], dtype=np.int64), near)
    assert [i for i, _ in index.range_search(codes[5:6], 12)[0]] == [1005, 7, 8]


def test_knn_returns_nearest_first(index: HammingIndex) -> None:
    codes = _codes(500)
    result = index.knn(_flip(codes[10:11], 4), 3)[0]
    assert result[0] == (1010, 4)
    assert len(result) == 3
    assert result[1][1] >= 4


def test_remove_then_search(index: HammingIndex) -> None:
    codes = _codes(500)
    assert index.remove([1000, 1001, 424242]) == 2
    assert len(index) == 498
    assert index.range_search(codes[:2], 0) == [[], []]
    assert index.range_search(codes[2:3], 0) == [[(1002, 0)]]


def test_save_load_round_trip_is_atomic(index: HammingIndex, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "pdq.faissbin"
    index.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["pdq.faissbin"]  # no temp file left
    loaded = HammingIndex.load(path)
    assert len(loaded) == len(index) and loaded.kind == index.kind
    probe = _flip(_codes(500)[42:43], 5)
    assert loaded.range_search(probe, 10) == index.range_search(probe, 10)
    index.remove([1042])
    index.save(path)  # overwrite in place
    assert HammingIndex.load(path).range_search(probe, 10) == [[]]


def test_rebuild_from_rows_matches_incremental(index: HammingIndex) -> None:
    codes = _codes(500)
    rows = ((1000 + i, codes[i].tobytes()) for i in range(500))
    rebuilt = HammingIndex.rebuild(256, rows, batch=64)
    probe = _flip(codes[100:103], 7)
    assert rebuilt.range_search(probe, 8) == index.range_search(probe, 8)


def test_switches_to_ivf_past_threshold_and_keeps_everything() -> None:
    codes = _codes(600)
    idx = HammingIndex(256, ivf_threshold=400)
    idx.add(np.arange(300, dtype=np.int64), codes[:300])
    assert idx.kind == "flat"
    idx.add(np.arange(300, 600, dtype=np.int64), codes[300:])
    assert idx.kind == "ivf" and len(idx) == 600
    found = idx.range_search(codes[::50], 0)
    assert [h[0][0] for h in found] == list(range(0, 600, 50))


def test_64_bit_codes_empty_index_and_bad_input() -> None:
    idx = HammingIndex(64)
    assert idx.range_search(_codes(2, 8), 5) == [[], []]
    assert idx.knn(_codes(1, 8), 3) == [[]]
    idx.add(np.array([1, 2]), _codes(2, 8))
    assert idx.range_search(_codes(2, 8)[:1], 0) == [[(1, 0)]]
    with pytest.raises(ValueError, match="2 ids for 3 codes"):
        idx.add(np.array([5, 6]), _codes(3, 8))
    with pytest.raises(ValueError, match="whole number of bytes"):
        HammingIndex(60)
