"""music=midi: a bed composed from the tone, rendered by FluidSynth, remade exactly by seed."""

from __future__ import annotations

import hashlib
import io

import mido
import pytest

from assetloom.create.errors import GenerationError
from assetloom.create.generators import MusicGenerator, get_generator
from assetloom.create.generators.audio import MUSIC_LUFS
from assetloom.create.generators.music_midi import RATE, TONES, Music, tone_of
from tests.create.studio_media import ffmpeg_lufs, onset_period, read_wav


@pytest.fixture(scope="module")
def composer() -> MusicGenerator:
    generator = get_generator("music=midi")
    assert isinstance(generator, MusicGenerator)
    return generator


def _bed(composer: MusicGenerator, prompt: str, **kwargs: object) -> Music:
    out = composer.generate(prompt, **kwargs)  # type: ignore[arg-type]
    assert isinstance(out, Music) and out.plan is not None
    return out


def _pcm_hash(out: Music) -> str:
    samples, _ = read_wav(out.data)
    return hashlib.sha256(samples.tobytes()).hexdigest()


def test_same_seed_same_samples_other_seed_other_music(composer: MusicGenerator) -> None:
    first = _bed(composer, "an energetic bed", duration_s=6, seed=11)
    assert _pcm_hash(_bed(composer, "an energetic bed", duration_s=6, seed=11)) == _pcm_hash(first)
    assert _pcm_hash(_bed(composer, "an energetic bed", duration_s=6, seed=12)) != _pcm_hash(first)
    r = first.recipe
    again = get_generator(f"{r.kind}={r.backend}").generate(r.prompt, seed=r.seed, **r.parameters)
    assert again.data == first.data and again.recipe == r
    assert r.parameters == {"tone": "energetic", "duration_s": 6, "format": "wav", "lufs": -20.0}
    assert r.model == "fluidsynth:TimGM6mb"


def test_the_bed_is_as_long_and_as_loud_as_asked(composer: MusicGenerator) -> None:
    out = _bed(composer, "warm", duration_s=7.5, seed=1)
    samples, rate = read_wav(out.data)
    assert out.media_type == "audio/wav" and rate == RATE and samples.shape == (7.5 * RATE, 2)
    assert abs(ffmpeg_lufs(samples, rate) - MUSIC_LUFS) < 1.0
    assert abs(samples[-200:]).max() < 0.01  # faded out, not cut off


@pytest.mark.parametrize("tone", ["energetic", "warm", "playful", "luxury"])
def test_the_beat_heard_is_the_tempo_planned(composer: MusicGenerator, tone: str) -> None:
    out = _bed(composer, tone, duration_s=8, seed=5)
    assert out.plan is not None
    low, high = TONES[tone].tempo
    assert low <= out.plan.bpm <= high
    samples, rate = read_wav(out.data)
    heard = onset_period(samples, rate, 0.3, 1.0)
    assert abs(heard - out.plan.beat_s) <= 0.02


def test_tones_set_tempo_and_the_score_says_so(composer: MusicGenerator) -> None:
    tempos = {}
    for tone in TONES:
        out = _bed(composer, tone, duration_s=8, seed=2, format="midi")
        assert out.media_type == "audio/midi" and out.plan is not None
        score = mido.MidiFile(file=io.BytesIO(out.data))
        (tempo,) = [m.tempo for t in score.tracks for m in t if m.type == "set_tempo"]
        assert round(mido.tempo2bpm(tempo)) == out.plan.bpm
        programs = sorted(m.program for t in score.tracks for m in t if m.type == "program_change")
        assert len(programs) == 3
        drums = [m for t in score.tracks for m in t if m.type == "note_on" and m.channel == 9]
        assert bool(drums) == (TONES[tone].drums != "none")
        assert abs(score.length - 8) < 4 * 60 / out.plan.bpm  # whole bars near the length
        tempos[tone] = out.plan.bpm
    assert tempos["calm"] < tempos["luxury"] < tempos["warm"] < tempos["playful"]
    assert tempos["playful"] < tempos["energetic"]


@pytest.mark.parametrize(
    ("prompt", "tone"),
    [
        ("Calm morning by the sea", "calm"),
        ("something upbeat for a gym", "energetic"),
        ("平静的早晨", "calm"),
        ("高端腕表广告", "luxury"),
        ("a cosy, then cheerful feel", "warm"),  # the first tone named wins
    ],
)
def test_the_prompt_names_the_tone(prompt: str, tone: str) -> None:
    assert tone_of(prompt) == tone


def test_bad_requests_say_what_to_do(composer: MusicGenerator) -> None:
    with pytest.raises(GenerationError, match="no tone") as err:
        _bed(composer, "background music", duration_s=5)
    assert err.value.hint and "calm, energetic, warm, playful, luxury" in err.value.hint
    with pytest.raises(GenerationError, match="outside 2 to 600"):
        _bed(composer, "calm", duration_s=0.5)
    with pytest.raises(GenerationError, match="outside 2 to 600"):
        _bed(composer, "calm", duration_s=3600)
    with pytest.raises(GenerationError, match="none of wav, midi"):
        _bed(composer, "calm", duration_s=5, format="mp3")
    assert _bed(composer, "background music", duration_s=3, tone="playful", seed=1).plan
