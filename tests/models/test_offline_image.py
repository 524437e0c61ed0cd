"""Offline image encoder: ONNX vs torch, preprocessing, retrieval with the shipped head."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetloom.models import ImageEncoder, get_image_encoder, get_text_encoder
from assetloom.models.backbone import IMAGE_SIZE, Preprocessor, to_input
from assetloom.models.errors import ModelNotInstalledError
from assetloom.models.offline import OfflineImageEncoder, default_head_path

torch = pytest.importorskip("torch")


def _photos(n: int, seed: int = 0) -> list[Image.Image]:
    """Smooth random pictures (noise upsampled) so the network sees structure, not static."""
    rng = np.random.default_rng(seed)
    return [
        Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)).resize(
            (320, 240), Image.Resampling.BICUBIC
        )
        for _ in range(n)
    ]


def test_preprocessing_squashes_and_flattens_alpha() -> None:
    out = to_input(Image.new("RGBA", (300, 100), (255, 0, 0, 0)))
    assert out.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and out.dtype == np.uint8
    assert (out == 255).all()  # fully transparent → white, whatever the hidden colour
    gray = to_input(Image.new("L", (50, 500), 7))
    assert (gray == 7).all()
    batch = Preprocessor(workers=2)([Image.new("RGB", (10, 10))] * 3)
    assert batch.shape == (3, IMAGE_SIZE, IMAGE_SIZE, 3)


@pytest.mark.slow
def test_onnx_graph_matches_torch(tmp_path: Path) -> None:
    """Export a randomly initialised head and check ONNX Runtime against torch on the same input."""
    from assetloom.models.alignment import AlignmentHead, HeadConfig, load_head, save_head
    from assetloom.models.backbone import load_efficientnet_lite2, stem_to_tail, tail_to_features

    net = load_efficientnet_lite2()
    torch.manual_seed(0)
    head_path = tmp_path / "head.npz"
    save_head(
        AlignmentHead(HeadConfig(hidden=64, attn_heads=2), net), head_path, {"note": "random"}
    )
    head, meta = load_head(head_path, net)
    assert meta == {"note": "random"}

    images = _photos(3)
    encoder = OfflineImageEncoder(tmp_path / "cache", head_path=head_path, batch_size=2)
    emb, feats = encoder.encode_with_features(images)
    assert encoder.onnx_path.is_file()

    def reference(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            tail_in, mid = stem_to_tail(net, torch.from_numpy(batch))
            emb = head(tail_in, mid).numpy()
            feats = tail_to_features(net, tail_in).numpy()
        return emb, feats / np.linalg.norm(feats, axis=1, keepdims=True)

    # The graph averages each image with its mirror: rebuild that by hand in torch.
    x = Preprocessor(workers=1)(images)
    (e1, f1), (e2, f2) = reference(x), reference(np.ascontiguousarray(x[:, :, ::-1]))
    want_emb = (e1 + e2) / np.linalg.norm(e1 + e2, axis=1, keepdims=True)
    want_feats = (f1 + f2) / np.linalg.norm(f1 + f2, axis=1, keepdims=True)
    np.testing.assert_allclose(emb, want_emb, atol=2e-4)
    np.testing.assert_allclose(feats, want_feats, atol=2e-4)


def test_missing_head_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalledError, match="alignment head is missing"):
        OfflineImageEncoder(tmp_path, head_path=tmp_path / "none.npz")


@pytest.fixture(scope="module")
def offline_encoder(model_cache: Path) -> ImageEncoder:
    if not default_head_path().is_file():
        pytest.fail(f"the shipped head {default_head_path()} is missing from the package")
    return get_image_encoder("offline", cache_dir=model_cache)


@pytest.mark.slow
def test_shipped_head_shapes_and_pairing(offline_encoder: ImageEncoder) -> None:
    assert isinstance(offline_encoder, ImageEncoder)
    emb, feats = offline_encoder.encode_with_features(_photos(2))
    assert emb.shape == (2, 384) and feats.shape == (2, 1280)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert offline_encoder.text_encoder_name == get_text_encoder("offline").name
    assert offline_encoder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_shipped_head_retrieves_dev_images(
    offline_encoder: ImageEncoder, flickr_dev: tuple[Path, list[dict]]
) -> None:
    """On 100 dev images, captions find their image far above chance (R@10 chance = 10 %)."""
    from assetloom.core.retrieval_metrics import retrieval_metrics

    root, rows = flickr_dev
    rows = rows[:100]
    images = [Image.open(root / r["image"]) for r in rows]
    image_emb = offline_encoder.encode(images)
    text = get_text_encoder("offline")
    for lang, floor in (("en", 0.6), ("zh", 0.5)):
        captions = [r[f"captions_{lang}"][0] for r in rows]
        sim = text.encode_queries(captions) @ image_emb.T
        metrics = retrieval_metrics(sim, np.arange(len(rows)))["text_to_image"]
        assert metrics["R@10"] >= floor, (lang, metrics)


def test_old_unused_graphs_are_pruned_but_recent_ones_stay(tmp_path: Path) -> None:
    from assetloom.models.offline import GRAPH_GRACE_S, KEEP_GRAPHS, prune_graphs

    now = 1_000_000_000.0
    graphs = []
    for n in range(KEEP_GRAPHS + 3):  # image-0 newest ... oldest last
        path = tmp_path / f"image-{n}.onnx"
        path.write_bytes(b"graph")
        (tmp_path / f"image-{n}.onnx.lock").touch()
        age = 60.0 * n if n < 2 else GRAPH_GRACE_S + 60.0 * n  # two used lately, rest stale
        os.utime(path, (now - age, now - age))
        graphs.append(path)
    current = tmp_path / "image-new.onnx"
    current.write_bytes(b"graph")
    (tmp_path / "align-features-x.onnx").write_bytes(b"other")

    gone = prune_graphs(tmp_path, keep=current, now=now)

    # The KEEP_GRAPHS - 1 most recent others stay (with the current one, KEEP_GRAPHS in all);
    # older ones go once unused past the grace period, with their lock files.
    assert sorted(gone) == sorted(graphs[KEEP_GRAPHS - 1 :])
    assert all(p.exists() for p in graphs[: KEEP_GRAPHS - 1])
    assert not (tmp_path / f"image-{KEEP_GRAPHS + 2}.onnx.lock").exists()
    assert current.exists() and (tmp_path / "align-features-x.onnx").exists()
