"""How long `duplicates` takes, and how long again once nothing (or a little) is new.

    nice -n 10 .venv/bin/python bench/duplicates_run.py [--shared ../shared] [--dev 300]
        [--more 20] [--understanding]

Builds a library from the imagededup test images (UKBench objects and their flipped, resized,
rotated copies, formats and nested folders) plus the first N Flickr8k dev photos, then times:
the first `duplicates` run (every asset is new), a second run with nothing new, and a third
after adding `--more` edited copies of dev photos (caption bars). Prints the groups found.
Before issue #14 every run decoded every original; now a run compares only the new assets.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]


def _caption_bar(src: Path, target: Path) -> Path:
    with Image.open(src) as im:
        out = im.convert("RGB")
    top = round(out.height * 0.85)
    ImageDraw.Draw(out).rectangle((0, top, out.width, out.height), fill="black")
    out.save(target, quality=90)
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    default_shared = os.environ.get("ASSETLOOM_SHARED", str(REPO.parent / "shared"))
    ap.add_argument("--shared", type=Path, default=Path(default_shared))
    ap.add_argument("--dev", type=int, default=300, help="first N Flickr8k dev photos")
    ap.add_argument("--more", type=int, default=20, help="copies added before the third run")
    ap.add_argument("--understanding", action="store_true", help="embeddings on (similar tier)")
    args = ap.parse_args(argv)
    os.environ["ASSETLOOM_UNDERSTANDING"] = "true" if args.understanding else "false"
    from assetloom.app.library import Library

    dedup = args.shared / "data/nearduplicate/imagededup-tests/tests/data"
    lines = (args.shared / "data/flickr8k/dev.jsonl").read_text().splitlines()[: args.dev]
    dev = [args.shared / "data/flickr8k" / json.loads(x)["image"] for x in lines]
    with tempfile.TemporaryDirectory(prefix="dupbench-") as tmp:
        root = Path(tmp)
        lib = Library.create(root / "lib")
        report = lib.add([dedup, *dev], recursive=True)
        n = len(report.added)
        times = {}
        t0 = time.perf_counter()
        first = lib.duplicates()
        times["first run"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = lib.duplicates()
        times["nothing new"] = time.perf_counter() - t0
        more = [_caption_bar(p, root / f"more-{i}.jpg") for i, p in enumerate(dev[: args.more])]
        lib.add(more)
        t0 = time.perf_counter()
        third = lib.duplicates()
        times[f"{len(more)} new"] = time.perf_counter() - t0
        lib.close()
    print(f"duplicates on {n} assets (imagededup test images + {len(dev)} Flickr8k dev photos)")
    for (name, seconds), groups in zip(times.items(), (first, second, third), strict=True):
        sizes = sorted((len(g.assets) for g in groups), reverse=True)
        print(f"  {name:12s} {seconds:6.2f} s  {len(groups)} groups, sizes {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
