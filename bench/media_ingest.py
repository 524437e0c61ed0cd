"""Ingest speed of recordings: real-time factor (media seconds per wall second) and peak RSS.

    .venv/bin/python bench/media_ingest.py [--modality video] [--seconds 20] [--json]

One section per media type: `video_cases()` makes the files, `run_video()` measures them
(`MODALITIES` lists the sections; other media types add theirs beside it).

Documents: text PDFs (`documents_cases()`), in pages per second, `run_documents()`.

Audio: MP3s of espeak-ng speech (dev captions read one after another) and of synthetic music
(`audio_cases()`), through `Library.add`; `--understanding` turns the models on, so speech is
transcribed (Whisper base) and music is recognised as such: the figure users see.
With `--understanding`, the video clips carry espeak speech instead of a tone.

Video: 720p H.264 clips (25 fps, a hard cut every 3 s, panning scenes, an AAC tone track),
generated with PyAV. Two figures:
- `extract`: one clip through `prepare_files` in a fresh process (one worker's work: hash,
  decode, shot detection, key frames, poster, strip, the 16 kHz speech track), with that
  process's peak RSS;
- `add`: one clip per core through `Library.add` end to end (the process pool, the commit).
Target: a real-time factor >= 5 on the 2-core machine, understanding (models, speech
recognition) off: they are measured by bench/embed.py and the speech recogniser's bench.
The 1-minute load average is printed with each figure: on a shared, busy machine wall-clock
rates understate what an idle one does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the generators live with the tests: tests/media_av.py

os.environ.setdefault("ASSETLOOM_UNDERSTANDING", "false")
SPEECH_LINES = [
    "A black dog is running through the tall green grass of a meadow.",
    "Two children in red jackets are building a snowman in the park.",
    "A man in a blue helmet rides his bicycle down a rocky mountain trail.",
    "A girl in a yellow dress jumps into the lake from a wooden pier.",
    "A crowd of people watch fireworks over the river at night.",
    "A brown horse stands in a field next to an old wooden fence.",
]


def video_cases(folder: Path, seconds: float, count: int) -> list[Path]:
    """`count` distinct 720p H.264 clips of `seconds` with a tone track (with understanding
    on, a speech track: what the speech recogniser costs is part of the figure)."""
    from tests.media_av import VIDEO_RATE, iter_scene_frames, make_clip, write_video

    folder.mkdir(parents=True, exist_ok=True)
    shots = max(1, round(seconds / 3.0))
    if not _understanding():
        return [
            make_clip(
                folder / f"hd{i}.mp4", 40 + i, shots=shots, shot_seconds=3.0, size=(1280, 720)
            )
            for i in range(count)
        ]
    clips = []
    for i in range(count):
        voice = _speech_track(shots * 3.0, VIDEO_RATE, offset=i)
        frames = iter_scene_frames(40 + i, shots, 3.0, (1280, 720), 25)
        clips.append(write_video(folder / f"hd{i}.mp4", frames, fps=25, audio=voice))
    return clips


def _understanding() -> bool:
    return os.environ.get("ASSETLOOM_UNDERSTANDING", "false").lower() == "true"


def _speech_track(seconds: float, rate: int, *, offset: int = 0) -> np.ndarray:
    """espeak-ng reading caption lines until `seconds` are filled; (n, 1) float32 at `rate`."""
    from tests.media_av import resample, speech

    parts: list[np.ndarray] = []
    total = 0
    i = offset
    while total < seconds * rate:
        samples, sr = speech(SPEECH_LINES[i % len(SPEECH_LINES)])
        mono = resample(samples.reshape(-1, 1), sr, rate).reshape(-1).astype(np.float32)
        parts += [mono, np.zeros(int(0.4 * rate), np.float32)]
        total += len(mono) + int(0.4 * rate)
        i += 1
    return np.concatenate(parts)[: int(seconds * rate)].reshape(-1, 1)


def audio_cases(folder: Path, seconds: float, count: int) -> dict[str, list[Path]]:
    """`count` speech MP3s and `count` music MP3s of `seconds` each."""
    from tests.media_av import RATE, music, write_audio

    folder.mkdir(parents=True, exist_ok=True)
    return {
        "speech": [
            write_audio(folder / f"talk{i}.mp3", _speech_track(seconds, RATE, offset=i), RATE)
            for i in range(count)
        ],
        "music": [
            write_audio(folder / f"song{i}.mp3", music(70 + i, seconds), RATE) for i in range(count)
        ],
    }


def run_audio(seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="mediaingest-") as tmp:
        cases = audio_cases(Path(tmp) / "audio", seconds, os.cpu_count() or 2)
        return {
            "understanding": _understanding(),
            **{kind: _add_all(paths) for kind, paths in cases.items()},
        }


def _extract_one(path: str) -> dict[str, float]:
    """In this process: prepare one file as an `add` worker does; time and peak RSS."""
    from assetloom.ingest.prepare import init_worker, prepare_files
    from assetloom.ingest.records import Options, Prepared
    from assetloom.settings import Settings

    init_worker()
    opts = Options.from_settings(Settings(), embed=False)
    t0 = time.perf_counter()
    (rec,) = prepare_files([path], opts)
    elapsed = time.perf_counter() - t0
    assert isinstance(rec, Prepared), rec
    duration = float(rec.metadata["duration"])
    return {
        "media_seconds": round(duration, 2),
        "seconds": round(elapsed, 2),
        "realtime_factor": round(duration / elapsed, 1),
        "key_frames": rec.metadata["key_frames"],
        "peak_rss_mib": _peak_rss_mib(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _peak_rss_mib() -> float:
    """This process's peak RSS: VmHWM, which starts afresh at exec (ru_maxrss would carry the
    parent's figure over from the fork)."""
    with suppress(OSError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _add_all(paths: list[Path]) -> dict[str, float]:
    from assetloom.app.library import Library

    with tempfile.TemporaryDirectory() as tmp, Library.create(Path(tmp) / "lib") as lib:
        t0 = time.perf_counter()
        report = lib.add(paths)
        elapsed = time.perf_counter() - t0
        assert len(report.added) == len(paths), report.skipped
        duration = sum(float(a.metadata["duration"]) for a in lib.list().assets)
    return {
        "files": len(paths),
        "media_seconds": round(duration, 2),
        "seconds": round(elapsed, 2),
        "realtime_factor": round(duration / elapsed, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def run_video(seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="mediaingest-") as tmp:
        t0 = time.perf_counter()
        clips = video_cases(Path(tmp) / "clips", seconds, os.cpu_count() or 2)
        made = round(time.perf_counter() - t0, 1)
        extract = _in_fresh_process("--extract", str(clips[0]))
        add = _add_all(clips)
    return {
        "clip": "1280x720 H.264 25 fps + AAC",
        "make_seconds": made,
        "extract": extract,
        "add": add,
    }


def _in_fresh_process(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def documents_cases(folder: Path, pages: int, count: int) -> list[Path]:
    """`count` distinct PDFs of `pages` pages, each page 40 lines of Helvetica text (the
    text layer a word processor's export has)."""
    from tests.documents.makers import make_pdf

    folder.mkdir(parents=True, exist_ok=True)
    words = [
        "harbour",
        "ferry",
        "lighthouse",
        "keeper",
        "oyster",
        "market",
        "tide",
        "pier",
        "boat",
        "storm",
    ]
    out = []
    for i in range(count):
        body = [
            [" ".join(words[(i + p + n + k) % len(words)] for k in range(12)) for n in range(40)]
            for p in range(pages)
        ]
        out.append(make_pdf(folder / f"doc{i}.pdf", body))
    return out


def run_documents(pages: int = 40, count: int | None = None) -> dict[str, object]:
    """Pages per second for text PDFs: one file through `prepare_files` in this process
    (text of every page, the first pages rendered, the thumbnail), then one file per core
    through `Library.add`."""
    from assetloom.app.library import Library
    from assetloom.ingest.prepare import init_worker, prepare_files
    from assetloom.ingest.records import Options, Prepared
    from assetloom.settings import Settings

    with tempfile.TemporaryDirectory(prefix="mediaingest-") as tmp:
        docs = documents_cases(Path(tmp) / "docs", pages, count or os.cpu_count() or 2)
        init_worker()
        opts = Options.from_settings(Settings(), embed=False)
        prepare_files([str(docs[0])], opts)  # imports and first-use set-up, not measured
        t0 = time.perf_counter()
        (rec,) = prepare_files([str(docs[0])], opts)
        extract_s = time.perf_counter() - t0
        assert isinstance(rec, Prepared), rec
        with Library.create(Path(tmp) / "lib") as lib:
            t0 = time.perf_counter()
            report = lib.add(docs)
            add_s = time.perf_counter() - t0
        assert len(report.added) == len(docs), report.skipped
    return {
        "pdf": f"{pages} pages of text",
        "extract": {"seconds": round(extract_s, 2), "pages_per_s": round(pages / extract_s, 1)},
        "add": {
            "files": len(docs),
            "seconds": round(add_s, 2),
            "pages_per_s": round(pages * len(docs) / add_s, 1),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
    }


MODALITIES: dict[str, Callable[[float], dict[str, object]]] = {
    "audio": run_audio,
    "video": run_video,
    # Pages, not seconds, size a document: 40-page PDFs whatever --seconds says.
    "documents": lambda seconds: run_documents(),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--modality", choices=sorted(MODALITIES), action="append")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each clip")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    ap.add_argument(
        "--understanding", action="store_true", help="models on: transcripts, embeddings, OCR"
    )
    ap.add_argument("--extract", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.understanding:
        os.environ["ASSETLOOM_UNDERSTANDING"] = "true"
    if args.extract:
        print(json.dumps(_extract_one(args.extract)))
        return 0
    out = {m: MODALITIES[m](args.seconds) for m in args.modality or MODALITIES}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"cores: {os.cpu_count()}")
    for modality, doc in out.items():
        print(f"{modality}: {json.dumps(doc)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
