"""CLIP backend: loading and encoding through a tiny random model built from a config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetloom.models import (
    ImageEncoder,
    TextEncoder,
    clear_cache,
    get_image_encoder,
    get_text_encoder,
)
from assetloom.models.clip_onnx import ClipModel, resolve_model_dir
from assetloom.models.errors import ModelNotInstalledError, UnknownBackendError

pytest.importorskip("tokenizers")
tiny_clip = pytest.importorskip("tiny_clip", reason="test helper beside this file")


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_clip.write_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)),
        Image.new("RGBA", (20, 90), (0, 128, 255, 128)),
        Image.new("L", (32, 32), 200),
    ]


def test_setting_loads_both_towers_of_one_model(clip_dir: Path) -> None:
    text = get_text_encoder(f"clip:{clip_dir}")
    image = get_image_encoder(f"clip:{clip_dir}")
    assert isinstance(text, TextEncoder) and isinstance(image, ImageEncoder)
    assert text.model is image.model  # one folder, loaded once
    assert image.text_encoder_name == text.name
    assert get_image_encoder(f"clip:{clip_dir}") is image


def test_encodes_with_right_shapes(clip_dir: Path) -> None:
    text = get_text_encoder(f"clip:{clip_dir}")
    image = get_image_encoder(f"clip:{clip_dir}")
    t = text.encode_queries(["a dog runs on the beach", "一只 狗", "an unknown word " * 20])
    i, feats = image.encode_with_features(_images())
    assert t.shape == (3, 16) and i.shape == (3, 16) and feats.shape == (3, image.feature_dim)
    assert t.dtype == i.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(np.vstack([t, i]), axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(text.encode_passages(["a dog"]), text.encode_queries(["a dog"]))
    assert text.encode_queries([]).shape == (0, 16) and image.encode([]).shape == (0, 16)


def test_batching_does_not_change_results(clip_dir: Path) -> None:
    model = ClipModel(clip_dir, batch_size=2)
    images = _images()
    together = model.encode_images(images)
    alone = np.vstack([model.encode_images([img]) for img in images])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    texts = ["a dog", "the red ball on the grass", "cat"]
    np.testing.assert_allclose(
        model.encode_texts(texts), np.vstack([model.encode_texts([t]) for t in texts]), atol=1e-5
    )


def test_missing_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalledError, match="CLIP weights folder not found") as err:
        get_image_encoder(f"clip:{tmp_path / 'nowhere'}")
    assert "offline" in str(err.value)


def test_incomplete_folder_names_missing_files(clip_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "visual").mkdir()
    (tmp_path / "config.json").write_text((clip_dir / "config.json").read_text())
    with pytest.raises(ModelNotInstalledError, match=r"textual/model\.onnx"):
        resolve_model_dir(str(tmp_path), None)


def test_hub_id_uses_an_existing_download(clip_dir: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(clip_dir, tmp_path / "clip" / "someone__tiny-clip")
    clear_cache()
    encoder = get_image_encoder("clip:someone/tiny-clip", cache_dir=tmp_path)
    assert encoder.encode(_images()[:1]).shape == (1, 16)


@pytest.mark.parametrize("setting", ["clip", "clip:", "dalle:x", "offline:extra", ""])
def test_bad_settings_are_rejected(setting: str) -> None:
    with pytest.raises(UnknownBackendError):
        get_text_encoder(setting)
