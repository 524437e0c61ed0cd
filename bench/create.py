"""Creation studio speed: wall time per output kind.

    .venv/bin/python bench/create.py [--kind speech] [--small] [--json]

One function per output kind (`KINDS`; text and image add theirs beside these):
- speech: real-time factor (synthesis seconds per second of speech; below 1 is faster than
  real time) of speech=piper on an English script and speech=espeak on a Chinese one; the
  first call, which loads the Piper voice, is reported apart from a warm one;
- music: render time of a music=midi bed (composition, FluidSynth, loudness) per tone;
- campaign: a whole `create` with the offline defaults on a library of 20 dev photos: wall
  time per step (brief and references, the copy, each image, voice-over, music, shorts,
  watermarking and signing, the library check, registration) and in all;
- video: encode rate (frames per wall second, the whole generate call: decoding the inputs,
  the mix, the Ken Burns frames, subtitles, H.264/AAC) of a 15 s 9:16 720x1280 short.
`--small` shrinks every case (a few seconds, 360x640) to check the bench itself runs.
The 1-minute load average is printed with each figure: on a shared, busy machine wall-clock
rates understate what an idle one does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCRIPT_EN = (
    "Meet the trail bottle. It keeps your drinks ice cold for a full day on the mountain. "
    "At two hundred grams, you will hardly know it is there. Made from recycled steel, "
    "it is built to last for years. Order yours today."
)
SCRIPT_ZH = (
    "山野水杯，陪你走遍每一座山。保温二十四小时，只有二百克。再生钢制造，经久耐用。今天就下单吧！"
)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _rtf(wav: bytes, wall: float) -> dict[str, float]:
    """Real-time factor: wall seconds per second of the speech made."""
    import io
    import wave

    with wave.open(io.BytesIO(wav)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    return {
        "audio_s": round(seconds, 2),
        "wall_s": round(wall, 3),
        "rtf": round(wall / seconds, 3),
        "load_average_1m": _load(),
    }


def bench_speech(small: bool) -> dict[str, Any]:
    from assetloom.create.generators import get_generator

    script = SCRIPT_EN.split(". ")[0] + "." if small else SCRIPT_EN
    out: dict[str, Any] = {}
    piper = get_generator("speech=piper")
    for label in ("piper_first_call", "piper_warm"):
        start = time.perf_counter()
        speech = piper.generate(script, seed=1)
        wall = time.perf_counter() - start
        out[label] = _rtf(speech.data, wall)
    espeak = get_generator("speech=espeak")
    espeak.generate("你好。", language="zh", seed=1)  # pypinyin's dictionary loads once
    start = time.perf_counter()
    speech = espeak.generate(SCRIPT_ZH[:12] if small else SCRIPT_ZH, language="zh", seed=1)
    out["espeak_zh"] = _rtf(speech.data, time.perf_counter() - start)
    return out


def bench_music(small: bool) -> dict[str, Any]:
    from assetloom.create.generators import get_generator
    from assetloom.create.generators.music_midi import TONES

    composer = get_generator("music=midi")
    seconds = 5.0 if small else 30.0
    composer.generate("calm", duration_s=2, seed=0)  # the soundfont's first load
    out: dict[str, Any] = {}
    for tone in TONES:
        start = time.perf_counter()
        composer.generate(tone, duration_s=seconds, seed=1)
        wall = time.perf_counter() - start
        out[tone] = {"music_s": seconds, "render_s": round(wall, 3), "load_average_1m": _load()}
    return out


def _pictures(count: int) -> list[Any]:
    import numpy as np
    from PIL import Image, ImageDraw

    pictures = []
    for seed in range(count):
        rng = np.random.default_rng(seed)
        img = Image.new("RGB", (1600, 1200), tuple(int(v) for v in rng.integers(0, 256, 3)))
        draw = ImageDraw.Draw(img)
        for _ in range(40):
            x, y, r = (int(v) for v in rng.integers((0, 0, 30), (1600, 1200, 250)))
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        pictures.append(img)
    return pictures


def bench_video(small: bool) -> dict[str, Any]:
    from assetloom.create.generators import get_generator
    from assetloom.create.generators.video_shorts import cues_from

    width, height, seconds = (360, 640, 4.0) if small else (720, 1280, 15.0)
    voice = get_generator("speech=espeak").generate(SCRIPT_EN, seed=1)
    bed = get_generator("music=midi").generate("energetic", duration_s=seconds, seed=1)
    maker = get_generator("video=shorts")
    fps = 30
    start = time.perf_counter()
    short = maker.generate(
        "Trail bottle",
        duration_s=seconds,
        width=width,
        height=height,
        fps=fps,
        seed=1,
        images=_pictures(2 if small else 5),
        voice_over=voice.data,
        music=bed.data,
        cues=cues_from(voice.sentences),  # type: ignore[attr-defined]
        bpm=bed.plan.bpm,  # type: ignore[attr-defined]
    )
    wall = time.perf_counter() - start
    frames = round(seconds * fps)
    return {
        "size": f"{width}x{height}",
        "video_s": seconds,
        "frames": frames,
        "wall_s": round(wall, 2),
        "encode_fps": round(frames / wall, 1),
        "mp4_kib": len(short.data) // 1024,
        "load_average_1m": _load(),
    }


def bench_campaign(small: bool) -> dict[str, Any]:
    """A whole campaign with the offline defaults, as `assetloom create` runs it: a library of
    dev photos (understanding on), then every output kind; wall time per step (the studio's
    progress steps, in order) and in all. `--small`: copy and one image."""
    import os as _os
    import tempfile

    _os.environ["ASSETLOOM_UNDERSTANDING"] = "true"
    from assetloom.app.library import Library
    from assetloom.app.studio import Request, Studio

    shared = Path(
        _os.environ.get("ASSETLOOM_SHARED", Path(__file__).resolve().parents[2] / "shared")
    )
    rows = (shared / "data" / "flickr8k" / "dev.jsonl").read_text().splitlines()[:20]
    photos = [shared / "data" / "flickr8k" / json.loads(r)["image"] for r in rows]
    outputs = ["text", "image"] if small else ["text", "image", "speech", "music", "video"]
    formats = ["1:1"] if small else ["1:1", "9:16", "16:9"]
    steps: list[tuple[str, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-create-") as tmp,
        Library.create(Path(tmp) / "lib") as lib,
    ):
        lib.add(photos)
        t0 = last = time.perf_counter()

        def step(text: str) -> None:
            nonlocal last
            now = time.perf_counter()
            if steps:
                steps[-1] = (steps[-1][0], round(now - last, 2))
            steps.append((text, 0.0))
            last = now

        doc = Studio(lib, progress=step).create(
            Request(
                "为一款新型环保水瓶创作社交媒体内容，放在海边场景",
                outputs=outputs,
                formats=formats,
                seed=1,
            )
        )
        end = time.perf_counter()
        steps[-1] = (steps[-1][0], round(end - last, 2))
    return {
        "state": doc["state"],
        "outputs": [o["label"] for o in doc["outputs"]],
        "steps_s": dict(steps),
        "total_s": round(end - t0, 1),
        "load_average_1m": _load(),
    }


KINDS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "campaign": bench_campaign,
    "speech": bench_speech,
    "music": bench_music,
    "video": bench_video,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--kind", choices=sorted(KINDS), action="append")
    ap.add_argument("--small", action="store_true", help="tiny cases: check the bench runs")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args(argv)
    results = {kind: KINDS[kind](args.small) for kind in args.kind or KINDS}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"cores: {os.cpu_count()}")
    for kind, doc in results.items():
        print(f"{kind}: {json.dumps(doc)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
