"""What every speech backend does the same way: sentences in, one normalised WAV out.

Each sentence is synthesised on its own, so its start and end in the voice-over are known
exactly (the lengths of the clips and the pauses between them) and the video can time its
subtitles and its ducking from them; a backend only says how to voice one sentence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assetloom.create.errors import GenerationError
from assetloom.create.generators.audio import (
    SPEECH_LUFS,
    Speech,
    join_sentences,
    normalise,
    split_sentences,
    wav_bytes,
)
from assetloom.create.generators.base import SPEECH, Parent, Recipe, resolve_seed

if TYPE_CHECKING:
    import numpy as np

MAX_CHARACTERS = 5000
"""About five minutes of speech: longer scripts are split by the caller, not queued here."""
MEDIA_TYPE = "audio/wav"


class SentenceSpeaker:
    """A SpeechGenerator that voices a script sentence by sentence; subclasses implement
    `_voice` (which voice and language a request resolves to) and `_synthesise`."""

    backend: str
    model: str

    def generate(
        self,
        prompt: str,
        *,
        voice: str = "",
        language: str = "en",
        seed: int | None = None,
        parents: Sequence[Parent] = (),
        speed: float = 1.0,
        pause_s: float = 0.35,
        lufs: float = SPEECH_LUFS,
    ) -> Speech:
        """The script spoken, at `lufs` integrated loudness, `pause_s` between sentences."""
        texts = split_sentences(prompt)
        if not texts:
            raise GenerationError(
                "the script has nothing to say", hint="give the text of the voice-over"
            )
        if len(prompt) > MAX_CHARACTERS:
            raise GenerationError(
                f"the script is {len(prompt)} characters; at most {MAX_CHARACTERS} are voiced "
                "at once",
                hint="split it and voice each part",
            )
        _check_range("speed", speed, 0.5, 2.0)
        _check_range("pause_s", pause_s, 0.0, 3.0)
        _check_range("lufs", lufs, -40.0, -6.0)
        voice, language, model = self._voice(voice, language)
        seed = resolve_seed(seed)
        clips, rate = self._synthesise(
            texts, voice=voice, language=language, seed=seed, speed=speed
        )
        track, sentences = join_sentences(texts, clips, rate, pause_s=pause_s)
        track, level = normalise(track, rate, lufs)
        parameters = {
            "voice": voice,
            "language": language,
            "speed": speed,
            "pause_s": pause_s,
            "lufs": lufs,
        }
        recipe = Recipe(SPEECH, self.backend, model, prompt, seed, parameters, tuple(parents))
        return Speech(wav_bytes(track, rate), MEDIA_TYPE, recipe, sentences, round(level, 2))

    def _voice(self, voice: str, language: str) -> tuple[str, str, str]:
        """(voice, language, model) a request resolves to, as its recipe records them."""
        raise NotImplementedError

    def _synthesise(
        self, texts: list[str], *, voice: str, language: str, seed: int, speed: float
    ) -> tuple[list[np.ndarray], int]:
        """One float clip per sentence, and their sample rate."""
        raise NotImplementedError


def primary_language(language: str) -> str:
    """'en-GB' -> 'en', 'zh_Hans_CN' -> 'zh'."""
    return language.strip().replace("_", "-").split("-")[0].lower()


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GenerationError(f"{name} must be a number, not {value!r}")
    if not low <= value <= high:
        raise GenerationError(f"{name} {value} is outside {low} to {high}")
