"""The narrow interfaces the rest of AssetLoom sees; backends live in sibling modules.

Every vector that leaves an encoder is float32 and L2-normalised, so a dot product is a cosine and
the index never has to know which backend produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np
from PIL import Image


@runtime_checkable
class TextEncoder(Protocol):
    """Embeds text into the shared semantic space."""

    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Search queries and tag names (short, asking): shape (n, dim)."""
        ...

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Stored text (titles, descriptions, OCR, transcripts): shape (n, dim)."""
        ...


@runtime_checkable
class ImageEncoder(Protocol):
    """Embeds images into the text space of the text encoder it was built for."""

    name: str
    dim: int
    feature_dim: int
    text_encoder_name: str
    """The text encoder whose space `encode` targets; a library must pair them."""

    def encode(self, images: list[Image.Image]) -> np.ndarray:
        """Images into the shared space: shape (n, dim)."""
        ...

    def backbone_features(self, images: list[Image.Image]) -> np.ndarray:
        """Images into the visual space, for image-to-image similarity: shape (n, feature_dim)."""
        ...

    def encode_with_features(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Both of the above from one forward pass: what `add` wants per image."""
        ...

    def picture_queries(self, queries: np.ndarray, texts: list[str]) -> np.ndarray:
        """The paired text encoder's query vectors for `texts`, shaped for matching this
        encoder's pictures: the identity where both towers were trained together (CLIP)."""
        ...


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    """One stretch of recognised speech, in seconds from the start of the recording.

    `no_speech_prob` and `avg_logprob` are the recogniser's own confidence figures, kept so
    that the rules that dropped or kept a segment can be checked afterwards."""

    start: float
    end: float
    text: str
    no_speech_prob: float
    avg_logprob: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """What a recording says. No segments means no speech was found (music, silence)."""

    language: str | None
    """ISO 639-1 code of the speech ("en", "zh"); None when there was none."""
    segments: tuple[TranscriptSegment, ...]
    duration: float
    """Seconds of audio given."""
    seconds_transcribed: float = 0.0
    """Seconds the model read: the stretches voice detection kept, up to the cap."""

    @property
    def speech(self) -> bool:
        return bool(self.segments)

    @property
    def text(self) -> str:
        return join_text([s.text for s in self.segments], self.language)


UNSPACED_LANGUAGES = frozenset({"zh", "yue", "ja", "th", "lo", "km", "my", "bo"})
"""Scripts written without spaces between words: their segments join without one."""


def join_text(texts: list[str], language: str | None) -> str:
    sep = "" if language in UNSPACED_LANGUAGES else " "
    return sep.join(t.strip() for t in texts if t.strip())


@runtime_checkable
class Transcriber(Protocol):
    """Speech to text for recordings and the sound track of videos."""

    name: str

    def transcribe(
        self, samples: np.ndarray, rate: int, *, language: str | None = None
    ) -> Transcript:
        """Mono float32 `samples` at `rate` Hz; `language` skips detection when known."""
        ...


class OcrLine(NamedTuple):
    """One line of text found in a picture."""

    text: str
    box: tuple[tuple[float, float], ...]
    """Its four corners in the picture's pixels, clockwise from the top left."""
    score: float
    """The recogniser's confidence, 0..1."""


@runtime_checkable
class OcrEngine(Protocol):
    """Reads the text in pictures (zh/en)."""

    name: str

    def recognise(self, image: Image.Image) -> list[OcrLine]:
        """The picture's lines, top to bottom; [] when it holds no text. Cheap for pictures
        without text: an engine gates them before reading."""
        ...


@runtime_checkable
class Moderator(Protocol):
    """Scores pictures for content a library may want to hold back."""

    name: str

    def score(self, images: list[Image.Image]) -> list[float]:
        """One score per picture, 0 (benign) .. 1 (certainly explicit)."""
        ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Row-wise unit length in float32; zero rows stay zero instead of becoming NaN."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)
