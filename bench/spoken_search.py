"""Spoken-word search: recordings found by what they say.

    .venv/bin/python bench/spoken_search.py [--clips 50] [--asr-model whisper-base] [--workers 2]

Flickr8k dev captions (the first caption of each of the first N images) are read by espeak-ng
into WAV files, added to a fresh library with understanding on (speech recognition, then the
transcript passages embedded), and searched as `search "<text>" --type audio` runs it:

- the caption that was spoken, word for word (R@1), and
- another caption of the same picture, never spoken (R@1, R@5): the words differ, the
  meaning does not, so only the passage vectors can find it.

Also printed: ingest time and its real-time factor (seconds of work per second of audio), and
the mean word error rate of the transcripts against what was said.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ASSETLOOM_SHARED", REPO.parent / "shared"))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=50)
    ap.add_argument("--asr-model", default="whisper-base")
    ap.add_argument("--workers", type=int, default=0, help="0: one per core")
    args = ap.parse_args()
    os.environ["ASSETLOOM_UNDERSTANDING"] = "true"
    os.environ["ASSETLOOM_ASR_MODEL"] = args.asr_model
    os.environ["ASSETLOOM_WORKERS"] = str(args.workers)
    from assetloom.app.library import Library
    from assetloom.app.search import SearchQuery
    from assetloom.core.assets import MediaType

    rows = [
        json.loads(line)
        for line in (SHARED / "data" / "flickr8k" / "dev.jsonl").read_text("utf-8").splitlines()
    ][: args.clips]
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, asr {args.asr_model}")
    with tempfile.TemporaryDirectory() as tmp:
        clips = Path(tmp) / "clips"
        clips.mkdir()
        paths = []
        for i, row in enumerate(rows):
            path = clips / f"clip{i:03d}.wav"
            subprocess.run(
                ["espeak-ng", "-v", "en", "-w", str(path), row["captions_en"][0]],
                check=True,
                capture_output=True,
            )
            paths.append(path)
        with Library.create(Path(tmp) / "lib") as lib:
            t0 = time.perf_counter()
            report = lib.add(paths)
            spent = time.perf_counter() - t0
            if report.skipped:
                sys.exit(f"skipped: {report.skipped[:3]}")
            ids = {Path(a.file).name: a.asset_id for a in report.added}
            order = [ids[p.name] for p in paths]
            assets = [lib.get(a) for a in order]
            audio_s = sum(float(a.metadata.get("duration", 0.0)) for a in assets)
            errors = []
            for asset, row in zip(assets, rows, strict=True):
                texts = [
                    p.text or ""
                    for p in lib.catalog.passages_of([asset.asset_id]).get(asset.asset_id, [])
                ]
                errors.append(word_error_rate(row["captions_en"][0], " ".join(texts)))
            print(
                f"added {len(order)} clips ({audio_s:.0f} s of speech) in {spent:.1f} s: "
                f"real-time factor {spent / max(audio_s, 1e-9):.3f}; "
                f"mean word error rate {sum(errors) / len(errors):.3f}"
            )
            for label, column in (("spoken caption", 0), ("other caption", 1)):
                ranks = []
                for want, row in zip(order, rows, strict=True):
                    hits = lib.search(
                        SearchQuery(
                            text=row["captions_en"][column], media_type=MediaType.AUDIO, limit=5
                        )
                    )
                    got = [h.asset.asset_id for h in hits]
                    ranks.append(got.index(want) + 1 if want in got else None)
                r1 = sum(r == 1 for r in ranks) / len(ranks)
                r5 = sum(r is not None for r in ranks) / len(ranks)
                print(f"{label:15}: R@1 {r1:.2f}, R@5 {r5:.2f} ({len(ranks)} queries)")


if __name__ == "__main__":
    main()
