"""Speech recognisers for the speech tests, and the word error rate they are held to."""

from __future__ import annotations

import re

import pytest

from assetloom.models.base import Transcriber
from assetloom.models.registry import get_transcriber
from assetloom.settings import Settings


@pytest.fixture(scope="session")
def asr() -> Transcriber:
    """Whisper base, assembled in the machine's shared model cache as a library would."""
    return get_transcriber("whisper-base", Settings().model_cache)


@pytest.fixture(scope="session")
def tiny_asr() -> Transcriber:
    return get_transcriber("whisper-tiny.en")


def words(text: str) -> list[str]:
    """Lower-case words without punctuation: "Two women, climbing." -> ["two", "women", ...]."""
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by edit distance."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))
