"""Zero-shot tags scored in the shared text/image space.

A tag is one unit vector: the mean of its English and Chinese prompt embeddings (e5 `query:` side,
the side image vectors were aligned to). Its evidence in an image is the cosine between the two.
Each tag has a threshold on that cosine, chosen on weakly labelled Flickr8k dev images
(tools/calibrate_tags.py, figures in docs/tags.md), and its score is a logistic of the margin:

    score = sigmoid(scale * (cosine - threshold))

so a tag is assigned exactly when its score reaches 0.5, higher means further past the tag's own
bar, and tags within an image rank by that. `scale` is the slope of a logistic regression of the
weak labels on cosines pooled over tags: one unit of scale * margin multiplies the odds by e.

Cosines are deliberately not standardised per tag: tags the image head separates poorly have a
narrow spread, and dividing by it made them fire as often as well-separated ones (lower precision,
measured). A user tag with example assets blends the examples' mean visual vector into its own, and
cosines with such a vector run larger (image-to-image similarity), so they are mapped back onto the
background distribution of the tag's text part before scoring:

    cosine' = mean_text + (cosine - mean_blend) * std_text / std_blend

Means and spreads come from the mean and covariance of ordinary images (background.npz), so this
needs no labelled images of the tag. The tag keeps the false-alarm rate of its names, hence its
threshold, while the examples sharpen the ranking; an examples-only tag borrows a typical tag's.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from assetloom.errors import BadInputError
from assetloom.models.base import TextEncoder, l2_normalise
from assetloom.models.errors import ModelNotInstalledError
from assetloom.tagging.agreement import combine
from assetloom.tagging.imagenet import ImageNetView, load_view

log = logging.getLogger(__name__)

VOCABULARY_FILE = "vocabulary.json"
BACKGROUND_FILE = "background.npz"
TEXT_WEIGHT = 0.7
"""Share of the prompt embedding in a tag that also has examples; the rest is the examples' mean.
On Flickr8k concepts with 5 examples, 0.5/0.7/0.85 gave held-out micro F0.5 0.31/0.33/0.35 (names
alone 0.32). Those concepts are ones words already describe; user tags tend to name what words
miss, so the examples keep a real share."""
MAX_TAGS = 10

ExampleResolver = Callable[[list[str]], np.ndarray]
"""Asset ids → their visual vectors, (n, dim); supplied by the library for user tags."""


@dataclass(frozen=True)
class TagDefinition:
    """One tag as the catalog stores it.

    `threshold` is on the cosine; None means the calibrated default (for user tags).
    `examples` holds visual vectors or asset ids. Prompts default to the names themselves: on this
    caption-aligned space "a photo of {name}" scored worse than the bare name (docs/tags.md).
    """

    key: str
    name_en: str
    name_zh: str
    threshold: float | None = None
    builtin: bool = False
    examples: Sequence[np.ndarray | str] = field(default=(), compare=False, repr=False)
    prompts_en: tuple[str, ...] = ()
    prompts_zh: tuple[str, ...] = ()
    group: str = ""

    def prompts(self) -> list[str]:
        en = self.prompts_en or tuple(n for n in (self.name_en.strip(),) if n)
        zh = self.prompts_zh or tuple(n for n in (self.name_zh.strip(),) if n)
        return [*en, *zh]


@dataclass(frozen=True, eq=False)
class Calibration:
    """The score slope, the default threshold (cosine), and background statistics of images.

    The covariance is kept low-rank (`factors` @ `factors`.T + `noise` * I): enough to give any
    tag's cosine spread, small enough to ship. `reference` is a typical built-in tag's background
    (mean, std) of cosines, for tags that have examples but no names.
    """

    mean: np.ndarray
    factors: np.ndarray
    noise: float
    scale: float = 1.0
    default_threshold: float = 0.0
    reference: tuple[float, float] = (0.0, 0.05)
    text_encoder: str = ""
    image_encoder: str = ""

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, rank: int = 64, **scalars: Any) -> Calibration:
        """Background statistics from a sample of image vectors (a few hundred or more)."""
        x = np.asarray(vectors, dtype=np.float64)
        mean = x.mean(axis=0)
        cov = np.cov(x - mean, rowvar=False)
        values, vecs = np.linalg.eigh(cov)  # ascending
        rank = min(rank, len(values) - 1)
        noise = float(values[:-rank].mean())
        top = np.clip(values[-rank:] - noise, 0.0, None)
        factors = vecs[:, -rank:] * np.sqrt(top)
        return cls(mean.astype(np.float32), factors.astype(np.float32), noise, **scalars)

    def spread(self, tag_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Background mean and standard deviation of each tag's cosine with an image."""
        u = np.asarray(tag_vectors, dtype=np.float64)
        mu = u @ self.mean
        var = ((u @ self.factors) ** 2).sum(axis=1) + self.noise * (u * u).sum(axis=1)
        return mu.astype(np.float32), np.sqrt(np.maximum(var, 1e-12)).astype(np.float32)


def _package_file(name: str) -> Path:
    return Path(str(resources.files("assetloom.tagging") / name))


def read_vocabulary(path: Path | None = None) -> dict[str, Any]:
    """The raw vocabulary document: {"calibration": {...} | null, "tags": [...]}."""
    return json.loads((path or _package_file(VOCABULARY_FILE)).read_text(encoding="utf-8"))


def load_builtin_definitions(path: Path | None = None) -> list[TagDefinition]:
    """The curated default vocabulary, thresholds as calibrated."""
    return [
        TagDefinition(
            key=t["key"],
            name_en=t["en"],
            name_zh=t["zh"],
            threshold=t.get("threshold"),
            builtin=True,
            prompts_en=tuple(t["prompts_en"]),
            prompts_zh=tuple(t["prompts_zh"]),
            group=t["group"],
        )
        for t in read_vocabulary(path)["tags"]
    ]


def load_calibration(vocabulary: Path | None = None, background: Path | None = None) -> Calibration:
    """The shipped calibration: scalars from vocabulary.json, statistics from background.npz."""
    block = read_vocabulary(vocabulary).get("calibration")
    background = background or _package_file(BACKGROUND_FILE)
    if not block or not background.is_file():
        raise ModelNotInstalledError(
            "The tag vocabulary has not been calibrated for this image encoder",
            hint="run tools/calibrate_tags.py",
        )
    with np.load(background) as data:
        mean, factors, noise = data["mean"], data["factors"], float(data["noise"])
    return Calibration(
        mean=mean.astype(np.float32),
        factors=factors.astype(np.float32),
        noise=noise,
        scale=block["scale"],
        default_threshold=block["default_threshold"],
        reference=tuple(block["reference"]),
        text_encoder=block["text_encoder"],
        image_encoder=block["image_encoder"],
    )


def save_background(calibration: Calibration, path: Path) -> None:
    np.savez_compressed(
        path,
        mean=calibration.mean.astype(np.float32),
        factors=calibration.factors.astype(np.float16),
        noise=np.float64(calibration.noise),
    )


class PromptCache:
    """Prompt embeddings on disk, one file per text encoder, so a tag is embedded once ever.

    A user tag added later embeds only its own prompts; the write is atomic, and a lost race
    between two processes only costs re-embedding the loser's new prompts.
    """

    def __init__(self, text_encoder: TextEncoder, cache_dir: Path | None) -> None:
        self.encoder = text_encoder
        self.path = Path(cache_dir) / f"tag-prompts-{text_encoder.name}.npz" if cache_dir else None

    def embed(self, texts: list[str]) -> dict[str, np.ndarray]:
        known: dict[str, np.ndarray] = {}
        if self.path is not None and self.path.is_file():
            with np.load(self.path) as data:
                known = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
        missing = sorted(set(texts) - known.keys())
        if missing:
            vectors = self.encoder.encode_queries(missing)
            known.update(zip(missing, vectors, strict=True))
            self._save(known)
        return {t: known[t] for t in texts}

    def _save(self, known: dict[str, np.ndarray]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, texts=np.array(list(known)), vectors=np.stack(list(known.values())))
        os.replace(tmp, self.path)


class Tagger:
    """Scores images against a set of tags; tag vectors are built once, on first use.

    `example_vectors` resolves asset ids in `TagDefinition.examples`; `cache_dir` (the library's
    model cache) keeps prompt embeddings across processes, since embedding the ~1,800 built-in
    prompts takes 10-40 s on two cores.

    Given the trunk's features as well (`features=`), built-in tags go through the agreement
    rule (tagging.agreement): object tags need the backbone's ImageNet classifier to agree,
    people tags its person support, and the rest a picture within the head's domain;
    `imagenet` defaults to the shipped view, loaded on first such call. Without features, or
    where the classifier's weights cannot be read, tags come from the head alone.
    """

    def __init__(
        self,
        definitions: Iterable[TagDefinition],
        text_encoder: TextEncoder,
        *,
        calibration: Calibration | None = None,
        example_vectors: ExampleResolver | None = None,
        cache_dir: Path | None = None,
        max_tags: int = MAX_TAGS,
        imagenet: ImageNetView | None = None,
    ) -> None:
        self._definitions = list(definitions)
        self._by_key = {d.key: d for d in self._definitions}
        if len(self._by_key) != len(self._definitions):
            raise BadInputError("Tag keys must be unique")
        self.calibration = calibration or load_calibration()
        if self.calibration.text_encoder not in ("", text_encoder.name):
            log.warning(
                "tag calibration was made for another text encoder",
                extra={"calibrated": self.calibration.text_encoder, "used": text_encoder.name},
            )
        self._prompts = PromptCache(text_encoder, cache_dir)
        self._cache_dir = cache_dir
        self._resolve = example_vectors
        self.max_tags = max_tags
        self.thresholds = np.array(
            [
                self.calibration.default_threshold if d.threshold is None else d.threshold
                for d in self._definitions
            ],
            dtype=np.float32,
        )
        self._lock = threading.Lock()
        self._vectors: np.ndarray | None = None
        self._gain = self._offset = np.zeros(0, np.float32)
        self._imagenet = imagenet
        self._imagenet_tried = imagenet is not None

    @property
    def definitions(self) -> list[TagDefinition]:
        return list(self._definitions)

    @property
    def keys(self) -> list[str]:
        return [d.key for d in self._definitions]

    @property
    def vectors(self) -> np.ndarray:
        """(n_tags, dim) unit tag vectors, in `definitions` order."""
        with self._lock:
            if self._vectors is None:
                self._build()
            assert self._vectors is not None
            return self._vectors

    def _build(self) -> None:
        all_prompts = sorted({p for d in self._definitions for p in d.prompts()})
        embedded = self._prompts.embed(all_prompts)
        n = len(self._definitions)
        text = np.zeros((n, self._prompts.encoder.dim), np.float32)
        blended = text.copy()
        for i, d in enumerate(self._definitions):
            prompts = d.prompts()
            if prompts:
                text[i] = l2_normalise(np.mean([embedded[p] for p in prompts], axis=0))
            if len(d.examples):
                examples = self._example_mean(d)
                blended[i] = TEXT_WEIGHT * text[i] + (1.0 - TEXT_WEIGHT) * examples
            elif not prompts:
                raise BadInputError(
                    f"Tag {d.key!r} has neither names nor examples to score it by",
                    hint="give it an English or Chinese name, or example assets",
                )
        has_examples = np.array([bool(len(d.examples)) for d in self._definitions])
        vectors = l2_normalise(np.where(has_examples[:, None], blended, text))
        # Text-only tags score their plain cosine (gain 1, offset 0); blended ones are mapped onto
        # the background distribution of their text part, or of a typical tag if they have none.
        gain, offset = np.ones(n, np.float32), np.zeros(n, np.float32)
        if has_examples.any():
            mu, sigma = self.calibration.spread(vectors[has_examples])
            ref_mu, ref_sigma = self.calibration.spread(text[has_examples])
            nameless = ~text[has_examples].any(axis=1)
            ref_mu[nameless], ref_sigma[nameless] = self.calibration.reference
            gain[has_examples] = ref_sigma / sigma
            offset[has_examples] = ref_mu - mu * ref_sigma / sigma
        self._vectors, self._gain, self._offset = vectors, gain, offset

    def _example_mean(self, d: TagDefinition) -> np.ndarray:
        ids = [e for e in d.examples if isinstance(e, str)]
        vectors = [np.asarray(e, np.float32) for e in d.examples if not isinstance(e, str)]
        if ids:
            if self._resolve is None:
                raise BadInputError(
                    f"Tag {d.key!r} names example assets, but no way to look up their vectors",
                    hint="pass example_vectors= to Tagger",
                )
            vectors.extend(np.asarray(self._resolve(ids), np.float32))
        return l2_normalise(np.mean(l2_normalise(np.stack(vectors)), axis=0))

    def cosines(self, visual_vectors: np.ndarray) -> np.ndarray:
        """(n, n_tags) cosines, blended tags mapped onto their text part's scale (see module)."""
        u = self.vectors
        v = np.asarray(visual_vectors, np.float32).reshape(-1, u.shape[1])
        return (v @ u.T) * self._gain + self._offset

    def scores(self, visual_vectors: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        """(n, n_tags) scores in 0..1; 0.5 is each tag's threshold. With the trunk's features
        (n, 1280), built-in tags also go through the agreement rule."""
        margin = self.cosines(visual_vectors) - self.thresholds
        head = (1.0 / (1.0 + np.exp(-self.calibration.scale * margin))).astype(np.float32)
        view = self._view() if features is not None else None
        if view is None or features is None:
            return head
        probabilities = view.probabilities(features)
        roles = view.roles(
            self.keys,
            [d.group == "people" for d in self._definitions],
            [d.builtin for d in self._definitions],  # user tags keep their own definition
        )
        support = view.support(probabilities, self.keys)
        person, familiar = view.person(probabilities), view.familiarity(features)
        return combine(head, support, person, familiar, roles, view.rule)

    def _view(self) -> ImageNetView | None:
        with self._lock:
            if not self._imagenet_tried:
                self._imagenet_tried = True
                try:
                    self._imagenet = load_view(self._cache_dir)
                except ModelNotInstalledError as exc:
                    log.warning("tags from the alignment head alone: %s", exc)
            return self._imagenet

    def assign(
        self, visual_vectors: np.ndarray, features: np.ndarray | None = None
    ) -> list[list[tuple[str, float]]]:
        """Per image: (key, score) for tags at or above their threshold, best first."""
        scores = self.scores(visual_vectors, features)
        keys = self.keys
        out: list[list[tuple[str, float]]] = []
        for row in scores:
            hits = np.flatnonzero(row >= 0.5)
            hits = hits[np.argsort(-row[hits], kind="stable")][: self.max_tags]
            out.append([(keys[i], round(float(row[i]), 4)) for i in hits])
        return out

    def names(self, keys: Iterable[str]) -> list[str]:
        """English and Chinese names of the given tags, for the keyword index; no repeats."""
        names: dict[str, None] = {}
        for key in keys:
            d = self._by_key.get(key)
            if d is None:
                raise KeyError(f"unknown tag {key!r}")
            for name in (d.name_en, d.name_zh):
                if name.strip():
                    names.setdefault(name.strip(), None)
        return list(names)
