"""`music=midi`: a music bed composed as MIDI from a tone, rendered with FluidSynth.

The tone ("calm", "energetic", "warm", "playful", "luxury"; synonyms and Chinese words are
read too) fixes the ranges: tempo, major or minor, the chord progressions, the General MIDI
instruments for chords, bass and melody, and a drum pattern. The seed picks within them (key,
exact tempo, progression, instruments, melody), with numpy's PCG64, so the same tone, length and
seed make the same score, and the same score the same samples: FluidSynth is run in-process
(pyfluidsynth), single-threaded, writing float samples (its 16-bit output would be dithered),
event by event at exact sample times. The bed is cut to the length asked with a fade-out and
normalised to -20 LUFS, under a voice-over at -16.

The soundfont is Debian's TimGM6mb (6 MB, GPL-2); `format="midi"` returns the score itself as
a standard MIDI file instead. In-process rather than the `fluidsynth` command: no temporary
files, no process per bed, float output, and the events need no MIDI file round trip.
"""

from __future__ import annotations

import ctypes
import io
import math
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetloom.create.errors import GenerationError
from assetloom.create.generators.audio import MUSIC_LUFS, normalise, wav_bytes
from assetloom.create.generators.base import MUSIC, Generated, Parent, Recipe, resolve_seed
from assetloom.create.generators.registry import register

if TYPE_CHECKING:
    import numpy as np

SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
)
RATE = 44_100
MIN_DURATION_S, MAX_DURATION_S = 2.0, 600.0
FORMATS = {"wav": "audio/wav", "midi": "audio/midi"}
_FADE_S = 1.5
_TAIL_S = 2.0
"""Rendered past the last note so reverb and releases die away before the cut."""
_DRUMS = 9
_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")


@dataclass(frozen=True)
class Tone:
    """What a tone allows; the seed chooses within it."""

    tempo: tuple[int, int]
    """Beats per minute, lowest and highest; the tones' ranges do not overlap."""
    modes: tuple[str, ...]
    progressions: tuple[tuple[int, ...], ...]
    """Scale degrees (0 = tonic), one chord a bar."""
    chords: tuple[int, ...]
    bass: tuple[int, ...]
    lead: tuple[int, ...]
    """General MIDI programs (0-based) to choose among for each part."""
    rhythms: tuple[tuple[float, ...], ...]
    """Melody rhythms, one bar of note lengths in beats each."""
    drums: str
    chord_style: str
    """"hold" (a chord a bar), "stabs" (beats 2 and 4) or "arpeggio" (eighths)."""
    bass_style: str
    """"whole", "roots" (root and fifth on 1 and 3), "eighths" or "walk"."""
    sevenths: bool = False
    words: tuple[str, ...] = field(default=())


TONES: dict[str, Tone] = {
    "calm": Tone(
        tempo=(66, 76),
        modes=("major",),
        progressions=((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 0, 4)),
        chords=(89, 88, 48),
        bass=(32, 42),
        lead=(0, 11, 46),
        rhythms=((2.0, 2.0), (1.0, 1.0, 2.0), (3.0, 1.0)),
        drums="none",
        chord_style="hold",
        bass_style="whole",
        words=("relaxed", "peaceful", "serene", "soft", "gentle", "平静", "安静", "舒缓", "宁静"),
    ),
    "energetic": Tone(
        tempo=(122, 134),
        modes=("minor", "major"),
        progressions=((0, 5, 2, 6), (5, 3, 0, 4), (0, 6, 5, 6)),
        chords=(50, 90),
        bass=(38, 39),
        lead=(80, 81),
        rhythms=((0.5,) * 8, (1.0, 0.5, 0.5, 1.0, 1.0), (0.5, 0.5, 1.0, 0.5, 0.5, 1.0)),
        drums="four",
        chord_style="stabs",
        bass_style="eighths",
        words=("upbeat", "dynamic", "exciting", "sporty", "powerful", "活力", "动感", "激情"),
    ),
    "warm": Tone(
        tempo=(88, 98),
        modes=("major",),
        progressions=((0, 5, 3, 4), (0, 3, 5, 4), (3, 4, 0, 0)),
        chords=(24, 25),
        bass=(32, 33),
        lead=(73, 71, 0),
        rhythms=((1.0, 1.0, 1.0, 1.0), (1.5, 0.5, 2.0), (2.0, 1.0, 1.0)),
        drums="soft",
        chord_style="arpeggio",
        bass_style="roots",
        words=("cozy", "cosy", "friendly", "homely", "inspiring", "温暖", "温馨", "亲切"),
    ),
    "playful": Tone(
        tempo=(104, 116),
        modes=("major",),
        progressions=((0, 3, 4, 0), (0, 4, 5, 3), (0, 1, 4, 0)),
        chords=(45, 12),
        bass=(32, 45),
        lead=(12, 13, 9, 72),
        rhythms=((0.5, 0.5, 1.0, 0.5, 0.5, 1.0), (1.0, 0.5, 0.5, 2.0), (0.5,) * 8),
        drums="bouncy",
        chord_style="stabs",
        bass_style="roots",
        words=(
            "fun",
            "funny",
            "cheerful",
            "quirky",
            "cute",
            "kids",
            "俏皮",
            "有趣",
            "可爱",
            "欢快",
        ),
    ),
    "luxury": Tone(
        tempo=(78, 86),
        modes=("minor", "major"),
        progressions=((1, 4, 0, 0), (0, 5, 1, 4), (0, 3, 1, 4)),
        chords=(4, 5, 0),
        bass=(32,),
        lead=(66, 59, 48),
        rhythms=((1.5, 0.5, 1.0, 1.0), (3.0, 1.0), (2.0, 1.0, 1.0)),
        drums="brushes",
        chord_style="hold",
        bass_style="walk",
        sevenths=True,
        words=(
            "elegant",
            "premium",
            "luxurious",
            "sophisticated",
            "classy",
            "奢华",
            "高端",
            "优雅",
        ),
    ),
}
_PROGRAMS = {
    0: "Acoustic Grand Piano", 4: "Electric Piano 1", 5: "Electric Piano 2", 9: "Glockenspiel",
    11: "Vibraphone", 12: "Marimba", 13: "Xylophone", 24: "Nylon Guitar", 25: "Steel Guitar",
    32: "Acoustic Bass", 33: "Finger Bass", 38: "Synth Bass 1", 39: "Synth Bass 2", 42: "Cello",
    45: "Pizzicato Strings", 46: "Harp", 48: "String Ensemble", 50: "Synth Strings",
    59: "Muted Trumpet", 66: "Tenor Sax", 71: "Clarinet", 72: "Piccolo", 73: "Flute",
    80: "Square Lead", 81: "Saw Lead", 88: "New Age Pad", 89: "Warm Pad", 90: "Polysynth Pad",
}  # fmt: skip
# Per drum style: (GM key, velocity, beats in the bar it plays on).
_DRUM_PATTERNS: dict[str, tuple[tuple[int, int, tuple[float, ...]], ...]] = {
    "none": (),
    "four": ((36, 110, (0, 1, 2, 3)), (38, 95, (1, 3)), (42, 70, tuple(i / 2 for i in range(8)))),
    "soft": ((36, 80, (0, 2)), (37, 60, (1, 3)), (42, 45, (0, 1, 2, 3))),
    "bouncy": ((36, 95, (0, 1.5, 2)), (39, 85, (1, 3)), (70, 55, tuple(i / 2 for i in range(8)))),
    "brushes": ((36, 70, (0, 2)), (51, 55, (0, 1, 2, 3)), (37, 50, (3,))),
}


@dataclass(frozen=True)
class Note:
    start: float
    """Beats from the start."""
    length: float
    channel: int
    key: int
    velocity: int


@dataclass(frozen=True)
class Plan:
    """What the seed chose for the tone: enough to read the bed back (the video cuts on its
    beat) and to check it."""

    tone: str
    key: str
    mode: str
    bpm: int
    progression: str
    instruments: dict[str, str]
    bars: int

    @property
    def beat_s(self) -> float:
        return 60.0 / self.bpm

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Score:
    plan: Plan
    notes: tuple[Note, ...]
    programs: dict[int, int]
    """General MIDI program of each melodic channel (9 is the drum kit)."""


@dataclass(frozen=True)
class Music(Generated):
    """A bed and the plan it was composed from."""

    plan: Plan | None = None


def tone_of(prompt: str) -> str:
    """The tone a prompt names (the first tone or synonym found), or a GenerationError."""
    text = prompt.lower()
    found = [
        (text.find(word), name)
        for name, tone in TONES.items()
        for word in (name, *tone.words)
        if word in text
    ]
    if not found:
        raise GenerationError(
            f"no tone in the music brief {prompt!r}",
            hint=f"name one of: {', '.join(TONES)}",
        )
    return min(found)[1]


def compose(tone_name: str, duration_s: float, seed: int) -> Score:
    """The score, a pure function of its arguments."""
    import numpy as np

    tone = TONES[tone_name]
    rng = np.random.default_rng([seed, sorted(TONES).index(tone_name)])
    bpm = int(rng.integers(tone.tempo[0], tone.tempo[1] + 1))
    mode = tone.modes[int(rng.integers(len(tone.modes)))]
    root = 48 + int(rng.integers(0, 12))  # the bass octave's tonic, C3..B3
    progression = tone.progressions[int(rng.integers(len(tone.progressions)))]
    programs = {
        "chords": tone.chords[int(rng.integers(len(tone.chords)))],
        "bass": tone.bass[int(rng.integers(len(tone.bass)))],
        "lead": tone.lead[int(rng.integers(len(tone.lead)))],
    }
    bars = max(2, round(duration_s / (4 * 60 / bpm)))
    scale = _SCALES[mode]
    notes: list[Note] = []
    for bar in range(bars):
        last = bar == bars - 1
        degree = 0 if last else progression[bar % len(progression)]
        chord = _chord(root, scale, degree, tone.sevenths)
        t = 4.0 * bar
        notes += _chord_part(tone.chord_style, chord, t, last, rng)
        notes += _bass_part(tone.bass_style, chord, t, last, rng)
        if bar and not last:
            for key, velocity, beats in _DRUM_PATTERNS[tone.drums]:
                notes += [Note(t + at, 0.25, _DRUMS, key, _vary(velocity, rng)) for at in beats]
    notes += _melody(tone, root, scale, progression, bars, rng)
    plan = Plan(
        tone=tone_name,
        key=_NOTE_NAMES[root % 12],
        mode=mode,
        bpm=bpm,
        progression="-".join(_roman(d, mode) for d in progression),
        instruments={part: _PROGRAMS[p] for part, p in programs.items()},
        bars=bars,
    )
    channels = {0: programs["chords"], 1: programs["bass"], 2: programs["lead"]}
    return Score(plan, tuple(notes), channels)


def _chord(root: int, scale: Sequence[int], degree: int, sevenths: bool) -> list[int]:
    steps = (0, 2, 4, 6) if sevenths else (0, 2, 4)
    return [root + 12 + scale[(degree + s) % 7] + 12 * ((degree + s) // 7) for s in steps]


def _vary(velocity: int, rng: np.random.Generator) -> int:
    return int(min(127, max(1, velocity + int(rng.integers(-6, 7)))))


def _chord_part(
    style: str, chord: list[int], t: float, last: bool, rng: np.random.Generator
) -> list[Note]:
    if last or style == "hold":
        return [Note(t, 4.0, 0, k, _vary(62, rng)) for k in chord]
    if style == "stabs":
        return [Note(t + at, 0.4, 0, k, _vary(70, rng)) for at in (1.0, 3.0) for k in chord]
    order = [*chord, chord[0] + 12, *reversed(chord[1:])]
    return [Note(t + i / 2, 0.9, 0, order[i % len(order)], _vary(66, rng)) for i in range(8)]


def _bass_part(
    style: str, chord: list[int], t: float, last: bool, rng: np.random.Generator
) -> list[Note]:
    low = chord[0] - 12
    if last or style == "whole":
        return [Note(t, 4.0, 1, low, _vary(80, rng))]
    if style == "roots":
        return [Note(t, 1.8, 1, low, _vary(88, rng)), Note(t + 2, 1.8, 1, low + 7, _vary(84, rng))]
    if style == "eighths":
        return [
            Note(t + i / 2, 0.45, 1, low, _vary(92 if i % 2 == 0 else 78, rng)) for i in range(8)
        ]
    walk = [low, chord[1] - 12, chord[2] - 12, low + 12 if rng.random() < 0.5 else chord[1] - 12]
    return [Note(t + i, 0.95, 1, k, _vary(84, rng)) for i, k in enumerate(walk)]


def _melody(
    tone: Tone,
    root: int,
    scale: Sequence[int],
    progression: Sequence[int],
    bars: int,
    rng: np.random.Generator,
) -> list[Note]:
    """Two-bar phrases over the progression: the second bar echoes the first's rhythm and
    opening notes with a new ending. Notes on the beat land on the nearest chord tone, the
    rest move by step; now and then a note is left out, so the line breathes."""
    pitches = [root + 12 * o + s for o in (2, 3) for s in scale] + [root + 48]
    notes: list[Note] = []
    phrase: list[tuple[float, float, int]] = []
    current = len(pitches) // 3
    first = 1 if bars >= 4 else 0  # a bar of introduction, where there is room for one
    for bar in range(first, bars - 1):
        degree = progression[bar % len(progression)]
        chord = {p % 12 for p in _chord(root, scale, degree, tone.sevenths)}
        echo = (bar - first) % 2 == 1 and len(phrase) > 1
        if echo:
            rhythm = [length for _, length, _ in phrase]
        else:
            rhythm = list(tone.rhythms[int(rng.integers(len(tone.rhythms)))])
        made: list[tuple[float, float, int]] = []
        at = 0.0
        for i, length in enumerate(rhythm):
            if echo and i < len(rhythm) - 2:
                current = phrase[i][2]
            elif at % 1 == 0:  # a beat: the nearest chord tone
                tones = [j for j, p in enumerate(pitches) if p % 12 in chord]
                current = min(tones, key=lambda j: (abs(j - current), j))
            else:
                current = int(min(len(pitches) - 1, max(0, current + rng.choice((-2, -1, 1, 2)))))
            made.append((at, length, current))
            at += length
        phrase = made if not echo else []
        for at, length, index in made:
            if rng.random() > 0.12:
                notes.append(Note(4.0 * bar + at, length * 0.9, 2, pitches[index], _vary(84, rng)))
    tonic = min(
        (p for p in pitches if p % 12 == root % 12), key=lambda p: abs(p - pitches[current])
    )
    notes.append(Note(4.0 * (bars - 1), 3.5, 2, tonic, _vary(76, rng)))
    return notes


def _roman(degree: int, mode: str) -> str:
    third = (_SCALES[mode][(degree + 2) % 7] - _SCALES[mode][degree]) % 12
    numeral = _ROMAN[degree]
    return numeral if third == 4 else numeral.lower()


# ---------------------------------------------------------------------- output
def midi_bytes(score: Score, ppq: int = 480) -> bytes:
    """The score as a type-1 standard MIDI file (one track per part)."""
    import mido

    plan, notes = score.plan, score.notes
    smf = mido.MidiFile(type=1, ticks_per_beat=ppq)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(plan.bpm), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    meta.append(mido.MetaMessage("end_of_track", time=0))
    smf.tracks.append(meta)
    for channel in sorted({n.channel for n in notes}):
        events: list[tuple[int, int, mido.Message]] = []
        if channel in score.programs:
            program = score.programs[channel]
            events.append((0, 0, mido.Message("program_change", channel=channel, program=program)))
        for n in (n for n in notes if n.channel == channel):
            on, off = round(n.start * ppq), round((n.start + n.length) * ppq)
            message = mido.Message("note_on", channel=channel, note=n.key, velocity=n.velocity)
            events.append((on, 2, message))
            events.append((off, 1, mido.Message("note_off", channel=channel, note=n.key)))
        track = mido.MidiTrack()
        now = 0
        for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
            track.append(message.copy(time=tick - now))
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=0))
        smf.tracks.append(track)
    buffer = io.BytesIO()
    smf.save(file=buffer)
    return buffer.getvalue()


_render_lock = threading.Lock()
"""libfluidsynth's settings and logging are process-wide: one render at a time."""


def render(score: Score, soundfont: Path, seconds: float) -> np.ndarray:
    """Stereo float32 samples of the score, `seconds` long, from FluidSynth in-process."""
    import numpy as np

    try:
        import fluidsynth
    except ImportError as exc:  # pyfluidsynth itself, or the libfluidsynth it loads
        raise GenerationError(
            f"FluidSynth is not available: {exc}",
            hint="apt-get install libfluidsynth3 timgm6mb-soundfont; "
            "pip install -r requirements/studio.txt",
        ) from exc
    lib = fluidsynth._fl
    write = lib.fluid_synth_write_float
    buffer_args = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    write.argtypes = [ctypes.c_void_p, ctypes.c_int, *buffer_args, *buffer_args]
    write.restype = ctypes.c_int
    lib.fluid_set_log_function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    samples_per_beat = RATE * score.plan.beat_s
    events: list[tuple[int, int, int, int]] = []  # (sample, channel, key, velocity); 0 is off
    for n in score.notes:
        events.append((round(n.start * samples_per_beat), n.channel, n.key, n.velocity))
        events.append((round((n.start + n.length) * samples_per_beat), n.channel, n.key, 0))
    events.sort(key=lambda e: (e[0], e[3] > 0))  # at one instant, note-offs first
    total = round(seconds * RATE)
    out = np.zeros((total, 2), dtype=np.float32)
    with _render_lock:
        for level in range(5):  # FluidSynth warns about every unused preset: not our users' news
            lib.fluid_set_log_function(level, None, None)
        synth = fluidsynth.Synth(gain=0.4, samplerate=float(RATE), **{"synth.cpu-cores": 1})
        try:
            font = synth.sfload(str(soundfont))
            if font < 0:
                raise GenerationError(f"FluidSynth could not load the soundfont {soundfont}")
            synth.program_select(_DRUMS, font, 128, 0)
            for channel, program in score.programs.items():
                synth.program_select(channel, font, 0, program)
            position = 0

            def advance(to: int) -> None:
                nonlocal position
                while position < min(to, total):
                    n = min(to, total, position + 65536) - position
                    left, right = np.zeros(n, np.float32), np.zeros(n, np.float32)
                    write(synth.synth, n, left.ctypes.data, 0, 1, right.ctypes.data, 0, 1)
                    out[position : position + n, 0], out[position : position + n, 1] = left, right
                    position += n

            for at, channel, key, velocity in events:
                advance(at)
                if velocity:
                    synth.noteon(channel, key, velocity)
                else:
                    synth.noteoff(channel, key)
            advance(total)
        finally:
            synth.delete()
    return out


class MidiComposer:
    """The `music=midi` backend; `model` names the soundfont that voices the score."""

    backend = "midi"

    def __init__(self, soundfont: Path | None = None) -> None:
        self._soundfont = soundfont or next((p for p in SOUNDFONTS if p.is_file()), None)
        self.model = f"fluidsynth:{(self._soundfont or SOUNDFONTS[0]).stem}"

    def generate(
        self,
        prompt: str,
        *,
        duration_s: float = 30.0,
        seed: int | None = None,
        parents: Sequence[Parent] = (),
        tone: str | None = None,
        format: str = "wav",
        lufs: float = MUSIC_LUFS,
    ) -> Music:
        """A bed of `duration_s` seconds in the tone the prompt (or `tone`) names."""
        import numpy as np

        name = tone_of(tone if tone is not None else prompt)
        if not (isinstance(duration_s, int | float) and math.isfinite(duration_s)):
            raise GenerationError(f"duration_s must be a number of seconds, not {duration_s!r}")
        if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
            raise GenerationError(
                f"a music bed of {duration_s} s is outside {MIN_DURATION_S:.0f} to "
                f"{MAX_DURATION_S:.0f} s",
                hint="loop or join beds for anything longer",
            )
        if format not in FORMATS:
            raise GenerationError(f"music format {format!r} is none of {', '.join(FORMATS)}")
        if not -40.0 <= lufs <= -6.0:
            raise GenerationError(f"lufs {lufs} is outside -40 to -6")
        seed = resolve_seed(seed)
        score = compose(name, float(duration_s), seed)
        plan = score.plan
        parameters = {"tone": name, "duration_s": duration_s, "format": format, "lufs": lufs}
        if format == "midi":
            data = midi_bytes(score)
        else:
            if self._soundfont is None:
                raise GenerationError(
                    "no General MIDI soundfont is installed",
                    hint="apt-get install timgm6mb-soundfont (scripts/setup.sh does)",
                )
            score_s = plan.bars * 4 * plan.beat_s + _TAIL_S
            audio = render(score, self._soundfont, max(score_s, duration_s))
            n = round(duration_s * RATE)
            audio = audio[:n]
            fade = min(round(_FADE_S * RATE), n // 4)
            audio[n - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
            audio, _ = normalise(audio, RATE, lufs)
            data = wav_bytes(audio, RATE)
        recipe = Recipe(MUSIC, self.backend, self.model, prompt, seed, parameters, tuple(parents))
        return Music(data, FORMATS[format], recipe, plan)


@register(MUSIC, "midi")
def _midi(_argument: str) -> MidiComposer:
    return MidiComposer()
