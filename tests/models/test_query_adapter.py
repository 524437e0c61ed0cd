"""The query side of the offline encoder: the numpy run-time map equals the torch one it was
trained as, starts as the identity, and only the shipped head's pictures see adapted queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assetloom.models.query_adapter import QueryAdapter, load_adapter, save_adapter

torch = pytest.importorskip("torch")


def _queries(n: int = 7, seed: int = 0) -> np.ndarray:
    q = np.random.default_rng(seed).normal(size=(n, 384)).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


@pytest.mark.parametrize("hidden", [0, 32])
def test_numpy_map_equals_the_trained_torch_map(tmp_path: Path, hidden: int) -> None:
    torch.manual_seed(1)
    model = QueryAdapter(hidden=hidden, langs=("en", "zh"))
    for p in model.parameters():  # away from the identity start, so the test can fail
        torch.nn.init.normal_(p, std=0.05)
    save_adapter(model, tmp_path / "a.npz", {"note": "test"})
    adapter = load_adapter(tmp_path / "a.npz")
    assert adapter is not None and adapter.config["note"] == "test"
    q = _queries()
    for lang in ("en", "zh"):
        with torch.no_grad():
            want = model(torch.from_numpy(q), lang).numpy()
        got = adapter(q, lang)
        np.testing.assert_allclose(got, want, atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(adapter(q, "en"), adapter(q, "zh"), atol=1e-3)  # one map a language


def test_an_untrained_adapter_is_the_identity(tmp_path: Path) -> None:
    save_adapter(QueryAdapter(hidden=0, langs=("all",)), tmp_path / "a.npz", {})
    adapter = load_adapter(tmp_path / "a.npz")
    assert adapter is not None
    q = _queries()
    np.testing.assert_allclose(adapter(q, "zh"), q, atol=1e-6)  # an unknown language: the one map


def test_no_file_means_no_adapter(tmp_path: Path) -> None:
    assert load_adapter(tmp_path / "absent.npz") is None


def test_the_shipped_encoder_adapts_queries_by_language(tmp_path: Path) -> None:
    from assetloom.models.offline import OfflineImageEncoder
    from assetloom.models.text_e5 import E5TextEncoder

    texts = ["a dog runs on the grass", "海边的孩子"]
    q = E5TextEncoder().encode_queries(texts)
    shipped = OfflineImageEncoder(tmp_path)
    adapted = shipped.picture_queries(q, texts)
    assert adapted.shape == q.shape
    np.testing.assert_allclose(np.linalg.norm(adapted, axis=1), 1.0, atol=1e-5)
    cos = (adapted * q).sum(axis=1)
    assert (cos < 0.99).all()  # reshaped (the cosine scale moves: relevance is fitted on it)
    # One query alone is adapted exactly as in the batch (its language, not the batch's).
    np.testing.assert_allclose(shipped.picture_queries(q[1:], texts[1:]), adapted[1:], atol=1e-6)


def test_a_head_of_ones_own_keeps_plain_queries(tmp_path: Path) -> None:
    import shutil

    from assetloom.models.offline import OfflineImageEncoder, default_head_path

    own = tmp_path / "own_head.npz"
    shutil.copy(default_head_path(), own)
    q = _queries(2)
    out = OfflineImageEncoder(tmp_path, head_path=own).picture_queries(q, ["a", "b"])
    np.testing.assert_array_equal(out, q)
