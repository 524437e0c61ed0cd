"""`speech=espeak`: voice-overs from espeak-ng, above all Mandarin Chinese.

espeak-ng's `cmn` voice reads hanzi letter by letter as English, so Chinese is turned into
tone-numbered pinyin first (pypinyin, which applies the tone changes of 一, 不 and of third
tones before third tones) and read by the `cmn-latn-pinyin` voice. The result is intelligible
Mandarin with the right tones, but robotic: formant synthesis, flat phrasing, and pypinyin's
dictionary picks the reading of a polyphonic character (行, 重) that is wrong now and then. It
is the offline fallback, not a voice for a finished advert; an OpenAI-compatible endpoint
(`speech=openai:URL`) serving a neural Chinese voice is the better choice where there is one.
Digits and Latin words inside Chinese are left to espeak-ng, which reads numbers in Mandarin and
switches to English for Latin words. Other languages use espeak-ng's voice of that name
(`en-us`, `en-gb`, `de`...). espeak-ng is deterministic: the seed is recorded, not used.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from typing import TYPE_CHECKING

from assetloom.create.errors import GenerationError
from assetloom.create.generators.audio import decode_audio
from assetloom.create.generators.base import SPEECH
from assetloom.create.generators.registry import register
from assetloom.create.generators.speech_common import SentenceSpeaker, primary_language

if TYPE_CHECKING:
    import numpy as np

PINYIN_VOICE = "cmn-latn-pinyin"
WORDS_PER_MINUTE = {PINYIN_VOICE: 150}
"""espeak-ng's rate at speed 1.0 (its default, 175, hurries Mandarin)."""
DEFAULT_WPM = 170
TIMEOUT_S = 60.0
_PUNCTUATION = str.maketrans("，、；：。！？（）《》“”‘’", ",,,:.!?()  \"\"''")
_INSTALL_HINT = "install espeak-ng (apt-get install espeak-ng; scripts/setup.sh does)"


class EspeakSpeaker(SentenceSpeaker):
    backend = "espeak"
    model = "espeak-ng"

    def __init__(self, executable: str = "espeak-ng") -> None:
        self._executable = executable

    def _voice(self, voice: str, language: str) -> tuple[str, str, str]:
        version, voices = _installation(self._executable)
        wanted = voice.strip() or _voice_for(language)
        if wanted not in voices:
            near = sorted(v for v in voices if v.startswith(wanted.split("-")[0]))
            raise GenerationError(
                f"espeak-ng has no voice {wanted!r}",
                hint=f"voices for that language: {', '.join(near)}"
                if near
                else "list them with: espeak-ng --voices",
            )
        model = f"espeak-ng-{version}"
        if wanted == PINYIN_VOICE:
            from importlib.metadata import version as package_version

            model += f"+pypinyin-{package_version('pypinyin')}"
        return wanted, language.strip() or "en", model

    def _synthesise(
        self, texts: list[str], *, voice: str, language: str, seed: int, speed: float
    ) -> tuple[list[np.ndarray], int]:
        wpm = round(WORDS_PER_MINUTE.get(voice, DEFAULT_WPM) * speed)
        clips: list[np.ndarray] = []
        rate = 0
        for text in texts:
            spoken = to_pinyin(text) if voice == PINYIN_VOICE else text
            samples, rate = decode_audio(self._run(spoken, voice, wpm), what="espeak-ng output")
            clips.append(samples[:, 0])
        return clips, rate

    def _run(self, text: str, voice: str, wpm: int) -> bytes:
        command = [self._executable, "-v", voice, "-s", str(wpm), "--stdout", "--", text]
        try:
            done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise GenerationError(
                f"espeak-ng took over {TIMEOUT_S:.0f} s on one sentence", hint="shorten it"
            ) from exc
        if done.returncode != 0 or not done.stdout:
            why = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
            raise GenerationError(f"espeak-ng failed: {why}")
        return done.stdout


def to_pinyin(text: str) -> str:
    """Hanzi as tone-numbered pinyin syllables, tone changes applied ("ni2 hao3"), ü written ü
    as espeak-ng reads it; digits and Latin words pass through, punctuation becomes ASCII."""
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError as exc:
        raise GenerationError(
            "pypinyin is not installed: Chinese cannot be voiced",
            hint="install requirements/studio.txt",
        ) from exc
    syllables = lazy_pinyin(
        text, style=Style.TONE3, neutral_tone_with_five=True, v_to_u=True, tone_sandhi=True
    )
    return re.sub(r"\s+", " ", " ".join(syllables).translate(_PUNCTUATION)).strip()


def _voice_for(language: str) -> str:
    tag = language.strip().replace("_", "-").lower()
    primary = primary_language(tag)
    if primary in ("zh", "cmn"):
        return PINYIN_VOICE
    if primary == "en":
        return "en-gb" if tag in ("en-gb", "en-uk") else "en-us"
    return tag or "en-us"


@functools.cache
def _installation(executable: str) -> tuple[str, frozenset[str]]:
    """espeak-ng's version and voice names, asked once per process."""
    if shutil.which(executable) is None:
        raise GenerationError(f"{executable} is not installed", hint=_INSTALL_HINT)
    try:
        listing = subprocess.run(
            [executable, "--voices"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        banner = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise GenerationError(f"{executable} does not run: {exc}", hint=_INSTALL_HINT) from exc
    voices = frozenset(line.split()[1] for line in listing.splitlines()[1:] if line.split())
    found = re.search(r"(\d+\.\d+(?:\.\d+)?)", banner)
    return (found.group(1) if found else "unknown"), voices


@register(SPEECH, "espeak")
def _espeak(_argument: str) -> EspeakSpeaker:
    return EspeakSpeaker()
