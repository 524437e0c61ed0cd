"""Files/s and peak RSS for `add` on real photos and on generated 12 MP JPEGs.

    .venv/bin/python bench/ingest.py [--shared ../shared] [--large 40]

Targets on a 2-core machine, no ML models: >= 150 files/s for the 224 px Flickr8k dev set,
>= 10 files/s for 4000x3000 JPEGs. Each set goes into a fresh library in a fresh process so the
peak RSS figure belongs to that run alone (workers come from a fork server: their peak is not
counted in the main process). The 1-minute load average is printed: on a shared, busy machine
wall-clock rates understate what an idle one does. Set ASSETLOOM_UNDERSTANDING=false to measure
the library core alone (bench/embed.py measures the path with models).
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
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

REPO = Path(__file__).resolve().parents[1]


def make_large_jpegs(folder: Path, count: int) -> Path:
    """Photo-like 12 MP JPEGs: smooth noise at several scales, so they compress like photos."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for i in range(count):
        base = rng.integers(0, 256, size=(75, 100, 3), dtype=np.uint8)
        img = Image.fromarray(base).resize((4000, 3000), Image.Resampling.BICUBIC)
        detail = Image.fromarray(rng.integers(0, 40, size=(3000, 4000, 3), dtype=np.uint8))
        img = Image.blend(img, detail.filter(ImageFilter.GaussianBlur(1)), 0.15)
        img.save(folder / f"large-{i:03d}.jpg", quality=90)
    return folder


def run_one(folder: str) -> dict[str, float]:
    from assetloom.app.library import Library

    with tempfile.TemporaryDirectory() as tmp, Library.create(Path(tmp) / "lib") as lib:
        t0 = time.perf_counter()
        report = lib.add([Path(folder)], recursive=True)
        elapsed = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n = len(report.added)
    return {
        "load_average_1m": round(os.getloadavg()[0], 2),
        "files": n,
        "skipped": len(report.skipped),
        "seconds": round(elapsed, 2),
        "files_per_s": round(n / elapsed, 1),
        "peak_rss_main_mib": round(own / 1024, 1),
    }


def measure(folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", default=os.environ.get("ASSETLOOM_SHARED", REPO.parent / "shared"))
    ap.add_argument("--large", type=int, default=40, help="How many 12 MP JPEGs to generate.")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    dev = Path(args.shared) / "data/flickr8k"
    with tempfile.TemporaryDirectory() as tmp:
        dev_dir = Path(tmp) / "dev"
        dev_dir.mkdir()
        for line in (dev / "dev.jsonl").read_text().splitlines():
            image = json.loads(line)["image"]
            os.symlink(dev / image, dev_dir / Path(image).name)
        print(f"cores: {os.cpu_count()}")
        print("flickr8k dev (224 px):", json.dumps(measure(dev_dir)))
        large = make_large_jpegs(Path(tmp) / "large", args.large)
        print(f"12 MP JPEGs (4000x3000, {args.large}):", json.dumps(measure(large)))


if __name__ == "__main__":
    main()
