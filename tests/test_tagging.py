"""Zero-shot tagging: the shipped vocabulary, score calibration, tags on real Flickr8k photos."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from assetloom.errors import BadInputError
from assetloom.models import l2_normalise
from assetloom.tagging import (
    Calibration,
    TagDefinition,
    Tagger,
    load_builtin_definitions,
    load_calibration,
)
from assetloom.tagging.tagger import read_vocabulary

REPO = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
DIM = 384


class HashEncoder:
    """A stand-in text encoder: a fixed random unit vector per text, no model."""

    name = "hash"
    dim = DIM

    def __init__(self) -> None:
        self.calls = 0

    def _vec(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(DIM)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return l2_normalise(np.stack([self._vec(t) for t in texts]))

    encode_passages = encode_queries


def isotropic() -> Calibration:
    """Background of random unit vectors: mean 0, every cosine spread 1/sqrt(dim)."""
    zeros = np.zeros((DIM, 1), np.float32)
    return Calibration(
        np.zeros(DIM, np.float32), zeros, 1.0 / DIM, scale=10.0, default_threshold=0.3
    )


# ------------------------------------------------------------------ the shipped vocabulary
def test_vocabulary_is_valid() -> None:
    doc = read_vocabulary()
    tags = doc["tags"]
    assert 300 <= len(tags) <= 600
    for field in ("key", "en", "zh"):
        values = [t[field] for t in tags]
        assert len(set(values)) == len(values), f"duplicate {field}"
    for t in tags:
        assert re.fullmatch(r"[a-z0-9_]+", t["key"]), t["key"]
        assert t["en"].strip() and CJK.search(t["zh"]), t["key"]
        assert t["prompts_en"] and t["prompts_zh"], t["key"]
        assert all(CJK.search(p) for p in t["prompts_zh"]), t["key"]
        assert t["synonyms_en"] and t["group"], t["key"]
        # A cosine between tag and image; 1.0 switches off a tag the encoder cannot rank.
        assert -0.5 < t["threshold"] < 0.9 or t["threshold"] == 1.0, t["key"]
    assert sum(t["threshold"] < 1.0 for t in tags) > 0.8 * len(tags)
    calibration = doc["calibration"]
    assert -0.5 < calibration["default_threshold"] < 0.9 and calibration["scale"] > 0
    assert {"people", "animals", "scenes", "colors", "styles", "product_shots"} <= {
        t["group"] for t in tags
    }


def test_builtin_definitions_and_calibration_load() -> None:
    definitions = load_builtin_definitions()
    dog = next(d for d in definitions if d.key == "dog")
    assert (dog.name_en, dog.name_zh, dog.builtin) == ("dog", "狗", True)
    assert dog.prompts() == ["dog", "a dog", "狗", "一只狗"]
    calibration = load_calibration()
    assert calibration.mean.shape == (DIM,) and calibration.factors.shape[0] == DIM


# ------------------------------------------------------------------ scoring, without models
def test_calibration_spread_matches_the_background() -> None:
    rng = np.random.default_rng(1)
    mix = rng.standard_normal((DIM, DIM)) * np.linspace(1.0, 0.05, DIM)
    images = l2_normalise(rng.standard_normal((4000, DIM)) @ mix + 0.3)
    tags = l2_normalise(rng.standard_normal((5, DIM)))
    mu, sigma = Calibration.from_vectors(images, rank=64).spread(tags)
    cosines = images @ tags.T
    np.testing.assert_allclose(mu, cosines.mean(0), atol=1e-4)
    np.testing.assert_allclose(sigma, cosines.std(0), rtol=0.05)


def test_examples_keep_the_false_alarm_rate_of_the_names() -> None:
    """Blending examples into a tag makes its cosines larger; they are mapped back so that on
    ordinary images the blended tag is distributed as its names alone, and thresholds still hold."""
    rng = np.random.default_rng(3)
    mix = rng.standard_normal((DIM, DIM)) * np.linspace(1.0, 0.05, DIM)
    images = l2_normalise(rng.standard_normal((3000, DIM)) @ mix + 0.2)
    calibration = Calibration.from_vectors(images)
    encoder = HashEncoder()
    names = TagDefinition("t", "thing", "东西", None)
    blended = TagDefinition("t", "thing", "东西", None, examples=list(images[:3]))
    plain = Tagger([names], encoder, calibration=calibration).cosines(images[3:])[:, 0]
    mapped = Tagger([blended], encoder, calibration=calibration).cosines(images[3:])[:, 0]
    assert abs(mapped.mean() - plain.mean()) < 0.1 * plain.std()
    assert abs(mapped.std() / plain.std() - 1) < 0.1


def test_assign_orders_by_score_and_respects_thresholds() -> None:
    encoder = HashEncoder()
    definitions = [
        TagDefinition("a", "alpha", "甲", 0.3),
        TagDefinition("b", "beta", "乙", 0.3),
        TagDefinition("c", "gamma", "丙", 0.7),
    ]
    tagger = Tagger(definitions, encoder, calibration=isotropic())
    u = tagger.vectors
    image = l2_normalise(u[0] + 0.5 * u[1] + 0.8 * u[2])
    scores = tagger.scores(image[None])
    assert scores.shape == (1, 3) and ((scores > 0) & (scores < 1)).all()
    assert scores[0, 0] > scores[0, 1]
    [assigned] = tagger.assign(image[None])
    assert [k for k, _ in assigned] == ["a", "b"]  # c's cosine beats b's, but not its threshold
    assert all(score >= 0.5 for _, score in assigned) and scores[0, 2] < 0.5
    assert assigned[0][1] >= assigned[1][1]
    assert tagger.assign(l2_normalise(-u[0])[None]) == [[]]
    tagger.scores(image[None])
    assert encoder.calls == 1  # tag vectors embedded once


def test_at_most_max_tags_per_image() -> None:
    definitions = [TagDefinition(f"t{i}", f"tag {i}", f"标签{i}", -1.0) for i in range(15)]
    tagger = Tagger(definitions, HashEncoder(), calibration=isotropic(), max_tags=10)
    [assigned] = tagger.assign(np.ones((1, DIM), np.float32) / np.sqrt(DIM))
    assert len(assigned) == 10


def test_names_give_english_and_chinese() -> None:
    tagger = Tagger(load_builtin_definitions(), HashEncoder(), calibration=isotropic())
    assert tagger.names(["dog", "beach", "dog"]) == ["dog", "狗", "beach", "海滩"]
    assert tagger.names([]) == []
    with pytest.raises(KeyError):
        tagger.names(["no-such-tag"])


def test_user_tag_definitions(tmp_path: Path) -> None:
    encoder = HashEncoder()
    examples = l2_normalise(np.random.default_rng(2).standard_normal((3, DIM)))
    by_vector = TagDefinition("trip", "our trip", "我们的旅行", None, examples=list(examples))
    by_id = TagDefinition("trip", "our trip", "我们的旅行", None, examples=["a1", "a2", "a3"])
    looked_up: list[list[str]] = []

    def resolve(ids: list[str]) -> np.ndarray:
        looked_up.append(ids)
        return examples[[int(i[1:]) - 1 for i in ids]]

    first = Tagger([by_vector], encoder, calibration=isotropic(), cache_dir=tmp_path)
    second = Tagger([by_id], encoder, calibration=isotropic(), example_vectors=resolve)
    np.testing.assert_allclose(first.vectors, second.vectors, atol=1e-6)
    assert looked_up == [["a1", "a2", "a3"]]
    assert first.thresholds[0] == isotropic().default_threshold  # None → calibrated default

    # Prompt embeddings persist: a new process (a new Tagger) does not embed them again.
    calls = encoder.calls
    again = Tagger([by_vector], encoder, calibration=isotropic(), cache_dir=tmp_path)
    np.testing.assert_allclose(again.vectors, first.vectors, atol=1e-6)
    assert encoder.calls == calls

    examples_only = TagDefinition("look", "", "", None, examples=list(examples))
    tagger = Tagger([examples_only], encoder, calibration=isotropic())
    assert tagger.scores(examples[:1])[0, 0] > 0.5
    with pytest.raises(BadInputError):
        Tagger([by_id], encoder, calibration=isotropic()).assign(examples)
    with pytest.raises(BadInputError):
        Tagger([TagDefinition("x", "", "", None)], encoder, calibration=isotropic()).assign(
            examples
        )
    with pytest.raises(BadInputError):
        Tagger([by_vector, by_id], encoder, calibration=isotropic())


# ------------------------------------------------------------------ real encoders, real photos
@pytest.fixture(scope="module")
def dev() -> tuple[Path, list[dict]]:
    shared = Path(os.environ.get("ASSETLOOM_SHARED", REPO.parent / "shared"))
    root = shared / "data" / "flickr8k"
    if not (root / "dev.jsonl").is_file():
        pytest.skip(f"Flickr8k dev split not found under {root} (set ASSETLOOM_SHARED)")
    rows = [json.loads(line) for line in (root / "dev.jsonl").read_text().splitlines() if line]
    return root, rows


def _mentioning(rows: list[dict], word: str, at_least: int) -> list[dict]:
    pattern = re.compile(rf"\b{word}s?\b")
    return [
        r
        for r in rows
        if sum(bool(pattern.search(c.lower())) for c in r["captions_en"]) >= at_least
    ]


@pytest.fixture(scope="module")
def encoders() -> tuple[Any, Any, Path]:
    """(text encoder, image encoder, model cache); the cache persists so exports happen once."""
    from assetloom.models import get_image_encoder, get_text_encoder
    from assetloom.models.errors import ModelNotInstalledError

    cache = Path(os.environ.get("ASSETLOOM_MODEL_CACHE", Path.home() / ".cache/assetloom/models"))
    try:
        return get_text_encoder("offline", cache), get_image_encoder("offline", cache), cache
    except ModelNotInstalledError as exc:
        pytest.skip(f"offline encoders not available: {exc}")


def _embed(image_encoder: Any, root: Path, rows: list[dict]) -> np.ndarray:
    return image_encoder.encode([Image.open(root / r["image"]).convert("RGB") for r in rows])


@pytest.mark.slow
def test_dog_photos_are_tagged_dog(
    dev: tuple[Path, list[dict]], encoders: tuple[Any, Any, Path]
) -> None:
    root, rows = dev
    text_encoder, image_encoder, cache = encoders
    dogs = _mentioning(rows, "dog", at_least=3)[:16]
    tagger = Tagger(load_builtin_definitions(), text_encoder, cache_dir=cache)
    assigned = tagger.assign(_embed(image_encoder, root, dogs))
    with_dog = sum("dog" in dict(tags) for tags in assigned)
    assert with_dog > len(dogs) / 2, assigned
    for tags in assigned:
        assert len(tags) <= 10 and [s for _, s in tags] == sorted(
            (s for _, s in tags), reverse=True
        )
    names = tagger.names([k for k, _ in assigned[0]])
    assert any(CJK.search(n) for n in names) and any(n.isascii() for n in names)


@pytest.mark.slow
def test_user_tag_with_examples_finds_its_kind(
    dev: tuple[Path, list[dict]], encoders: tuple[Any, Any, Path]
) -> None:
    """A tag named "seaside holiday" with three beach photos fires on other beach photos."""
    root, rows = dev
    text_encoder, image_encoder, cache = encoders
    beach = _mentioning(rows, "beach", at_least=3)[:11]
    beach_ids = {r["image"] for r in _mentioning(rows, "beach", at_least=1)}
    others = [r for r in _mentioning(rows, "dog", at_least=3) if r["image"] not in beach_ids][:8]
    vectors = _embed(image_encoder, root, beach + others)
    examples, held_out, negatives = vectors[:3], vectors[3:11], vectors[11:]

    tag = TagDefinition("seaside", "seaside holiday", "海边度假", None, examples=list(examples))
    tagger = Tagger([tag], text_encoder, cache_dir=cache)
    hit = [bool(tags) for tags in tagger.assign(held_out)]
    miss = [bool(tags) for tags in tagger.assign(negatives)]
    assert sum(hit) > len(hit) / 2 and sum(miss) < len(miss) / 2, (hit, miss)
    assert tagger.scores(held_out).mean() > tagger.scores(negatives).mean() + 0.2
