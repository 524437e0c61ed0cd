"""`verify` latency against a 100,000-asset library, in-process: p50/p95 and recall.

    .venv/bin/python bench/verify_scale.py [--shared ../shared] [--assets 100000] [--queries 200]

The library is synthetic for size (random PDQ/pHash codes, five PDQ rows per asset as
`stored_fingerprints` makes) with real Flickr8k dev originals planted in it; the queries are
transformed copies of those originals (JPEG q=30, 10 % crop, 5° rotation, logo, screenshot).
Each verify = fingerprint the decoded query + Hamming range search + rules on the candidates;
decoding the file and catalog I/O are left out (the library's share). The same queries run
against the exact flat layout and the IVF layout `HammingIndex` switches to above
`IVF_THRESHOLD` codes, so the recall cost of the faster layout is printed next to its speed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from copy_detection import TRANSFORMS, flickr_images  # noqa: E402

from assetloom.core.assets import Fingerprint  # noqa: E402
from assetloom.core.copy_rules import SEARCH_RADIUS, image_match  # noqa: E402
from assetloom.index.hamming import HammingIndex  # noqa: E402
from assetloom.ingest.image_fingerprints import query_fingerprints, stored_fingerprints  # noqa: E402

QUERY_TRANSFORMS = ("jpeg_q30", "crop_10", "rotate_5", "logo_overlay", "screenshot")


def build_library(
    n_assets: int, originals: list[Path], rng: np.random.Generator
) -> tuple[list[list[Fingerprint]], np.ndarray, np.ndarray]:
    """Fingerprints per asset (planted originals first), and the PDQ rows: ids -> asset, codes."""
    assets = [stored_fingerprints(Image.open(p)) for p in originals]
    per_asset = sum(f.kind.startswith("pdq") for f in assets[0])
    synthetic = n_assets - len(assets)
    codes = rng.integers(0, 256, size=(synthetic, per_asset, 32), dtype=np.uint8)
    phash = rng.integers(0, 256, size=(synthetic, 8), dtype=np.uint8)
    for i in range(synthetic):
        fps = [Fingerprint(f"pdq_{j}", codes[i, j].tobytes(), 100) for j in range(per_asset)]
        assets.append([*fps, Fingerprint("phash", phash[i].tobytes())])
    owner = np.repeat(np.arange(n_assets), per_asset)
    real = np.stack(
        [
            np.frombuffer(f.value, np.uint8)
            for fps in assets[: len(originals)]
            for f in fps[:per_asset]
        ]
    )
    all_codes = np.concatenate([real, codes.reshape(-1, 32)])
    return assets, owner, all_codes


def run(index: HammingIndex, owner: np.ndarray, assets: list, queries: list) -> dict[str, float]:
    times, hits = [], 0
    for image, truth in queries:
        t0 = time.perf_counter()
        fps = query_fingerprints(image)
        codes = np.stack([np.frombuffer(f.value, np.uint8) for f in fps if f.kind[:3] == "pdq"])
        found = index.range_search(codes, SEARCH_RADIUS["pdq"])
        candidates = {int(owner[row]) for per_code in found for row, _ in per_code}
        verdicts = {a: image_match(fps, assets[a]) for a in candidates}
        best = min((v[1], a) for a, v in verdicts.items() if v) if any(verdicts.values()) else None
        times.append(time.perf_counter() - t0)
        hits += best is not None and best[1] == truth
    ms = np.array(times) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "recall": round(hits / len(queries), 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    default_shared = os.environ.get("ASSETLOOM_SHARED", str(REPO.parent / "shared"))
    ap.add_argument("--shared", type=Path, default=Path(default_shared))
    ap.add_argument("--assets", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200, help="planted originals x transforms")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not (args.shared / "data" / "flickr8k").is_dir():
        print(f"no Flickr8k under {args.shared}/data (set --shared or ASSETLOOM_SHARED)")
        return 2
    rng = np.random.default_rng(42)
    n_planted = max(1, args.queries // len(QUERY_TRANSFORMS))
    originals = flickr_images(args.shared, "dev", n_planted)
    assets, owner, codes = build_library(args.assets, originals, rng)
    queries = []
    for i, path in enumerate(originals):
        with Image.open(path) as im:
            im = im.convert("RGB")
            queries.extend((TRANSFORMS[t](im), i) for t in QUERY_TRANSFORMS)
    ids = np.arange(len(codes), dtype=np.int64)
    report: dict[str, object] = {
        "assets": args.assets,
        "pdq_rows": len(codes),
        "queries": len(queries),
    }
    for name, threshold in (("flat", len(codes) + 1), ("ivf", 0)):
        t0 = time.perf_counter()
        index = HammingIndex(256, ivf_threshold=threshold)
        index.add(ids, codes)
        build_s = time.perf_counter() - t0
        report[name] = {
            "layout": index.kind,
            "build_s": round(build_s, 1),
            **run(index, owner, assets, queries),
        }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        rows = f"{len(codes):,} PDQ rows"
        print(f"verify against {args.assets:,} assets ({rows}), {len(queries)} queries")
        for name in ("flat", "ivf"):
            r = report[name]
            print(
                f"  {name:5s} ({r['layout']}): p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, "
                f"recall {r['recall']}, index built in {r['build_s']} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
