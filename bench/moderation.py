"""Open-NSFW scores on benign photos: the false-positive rate per threshold.

    python bench/moderation.py [--n 1000] [--threads 1]

Scores the Flickr8k dev images (ASSETLOOM_SHARED, default ../shared; all benign, so every
flag is a false positive) and prints the share at or over each threshold, the highest scores
with their captions, and ms per image. This is what `moderation_threshold`'s default was
chosen from (docs/media.md). Dev-split figures; positives are not measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from PIL import Image

THRESHOLDS = (0.2, 0.5, 0.7, 0.8, 0.9, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from assetloom.models.moderation.open_nsfw import OpenNsfwModerator
    from assetloom.settings import Settings

    shared = Path(os.environ.get("ASSETLOOM_SHARED", Path(__file__).parents[2] / "shared"))
    flickr = shared / "data/flickr8k"
    dev = [json.loads(line) for line in (flickr / "dev.jsonl").open()][: args.n]
    moderator = OpenNsfwModerator(threads=args.threads)
    scores: list[float] = []
    started = time.perf_counter()
    for start in range(0, len(dev), 32):
        part = [Image.open(flickr / it["image"]).convert("RGB") for it in dev[start : start + 32]]
        scores += moderator.score(part)
    seconds = time.perf_counter() - started
    default = Settings.model_fields["moderation_threshold"].default
    print(f"Open-NSFW on {len(dev)} Flickr8k dev images: {seconds / len(dev) * 1000:.1f} ms/image")
    for t in THRESHOLDS:
        n = sum(s >= t for s in scores)
        mark = "  <- default" if t == default else ""
        print(f"  threshold {t:.2f}: {n:4d} flagged, false-positive rate {n / len(dev):.4f}{mark}")
    print("  highest:")
    for s, it in sorted(zip(scores, dev, strict=True), key=lambda p: -p[0])[:8]:
        print(f"    {s:.3f}  {Path(it['image']).name}  {it['captions_en'][0][:70]}")


if __name__ == "__main__":
    main()
