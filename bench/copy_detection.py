"""Copy detection: precision and recall per transform, and false matches among unrelated photos.

    .venv/bin/python bench/copy_detection.py [--shared ../shared] [--originals 1000]
        [--unrelated 1000] [--via library|rules] [--json]

Registers the originals (default: the 1,000 Flickr8k dev images), makes eleven transformed
copies of each, verifies every copy and every unrelated photo (the first N Flickr8k train
images, disjoint from dev) and counts:
- a copy is a true positive when its best near-identical/exact match is its own original, a
  false positive when the best match is another asset, a miss otherwise;
- an unrelated photo with any near-identical/exact match is a false positive (a "false match").
Targets: overall recall >= 0.95 at precision >= 0.99; no false match among 1,000 unrelated.

`--via library` (default) goes through `Library.create` / `add` / `verify` end to end with
understanding (embeddings) off; `--via rules` calls the fingerprint functions, the Hamming
index and `core.copy_rules` directly, which is what the library does underneath and is faster
when tuning thresholds. Figures from the dev split are development figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from assetloom.core.assets import Fingerprint

REPO = Path(__file__).resolve().parents[1]
Transform = Callable[[Image.Image], Image.Image]


def _font(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(8, px))


def _centre_crop(im: Image.Image, cut: float) -> Image.Image:
    """Cut `cut` of the width and of the height, half on each side."""
    dx, dy = round(im.width * cut / 2), round(im.height * cut / 2)
    return im.crop((dx, dy, im.width - dx, im.height - dy))


def resize_50(im: Image.Image) -> Image.Image:
    return im.resize((max(1, im.width // 2), max(1, im.height // 2)), Image.Resampling.LANCZOS)


def rotate_5(im: Image.Image) -> Image.Image:
    """5° counter-clockwise, same canvas, black corners (as most editors leave it)."""
    return im.rotate(5, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))


def text_overlay(im: Image.Image) -> Image.Image:
    out = im.copy()
    size = max(10, im.height // 9)
    ImageDraw.Draw(out).text(
        (im.width // 2, int(im.height * 0.78)),
        "SUMMER SALE -30%",
        font=_font(size),
        fill=(255, 255, 255),
        stroke_width=max(1, size // 12),
        stroke_fill=(0, 0, 0),
        anchor="mm",
    )
    return out


def logo_overlay(im: Image.Image) -> Image.Image:
    """An opaque round logo, a quarter of the width, in the bottom-right corner."""
    out = im.copy()
    s = max(12, im.width // 4)
    logo = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(logo)
    d.ellipse((0, 0, s - 1, s - 1), fill=(220, 30, 60, 255), outline="white", width=max(1, s // 20))
    d.text((s // 2, s // 2), "AL", font=_font(s // 2), fill="white", anchor="mm")
    margin = max(2, im.width // 30)
    out.paste(logo, (im.width - s - margin, im.height - s - margin), logo)
    return out


def screenshot(im: Image.Image) -> Image.Image:
    """The picture inside an app screen: dark title bar, caption line, grey text bars below."""
    w, h = im.size
    canvas_w, canvas_h = round(w * 1.3), round(h * 1.8)
    canvas = Image.new("RGB", (canvas_w, canvas_h), (245, 246, 248))
    d = ImageDraw.Draw(canvas)
    bar = round(canvas_h * 0.08)
    d.rectangle((0, 0, canvas_w, bar), fill=(32, 33, 36))
    font = _font(max(8, bar // 2))
    d.text((bar // 2, bar // 2), "Photos · Shared with you", font=font, fill="white", anchor="lm")
    left, top = (canvas_w - w) // 2, bar + round(canvas_h * 0.07)
    d.text((left, top - round(canvas_h * 0.035)), "Alex posted a photo", font=font, fill=(60,) * 3)
    canvas.paste(im.convert("RGB"), (left, top))
    y = top + h + round(canvas_h * 0.03)
    for i in range(3):
        right = left + round(w * (0.9 - 0.2 * i))
        d.rectangle((left, y, right, y + max(2, canvas_h // 80)), fill=(200, 200, 205))
        y += round(canvas_h * 0.035)
    return canvas


TRANSFORMS: dict[str, Transform] = {
    "resize_50": resize_50,
    "jpeg_q30": lambda im: im,  # the JPEG q=30 save is the transform (see write_copies)
    "crop_10": lambda im: _centre_crop(im, 0.10),
    "crop_25": lambda im: _centre_crop(im, 0.25),
    "rotate_5": rotate_5,
    "brightness_+30": lambda im: ImageEnhance.Brightness(im).enhance(1.3),
    "greyscale": lambda im: im.convert("L"),
    "hflip": ImageOps.mirror,
    "text_overlay": text_overlay,
    "logo_overlay": logo_overlay,
    "screenshot": screenshot,  # PNG, as screenshots are saved
    "screenshot_jpeg": screenshot,  # the same, re-compressed (shared through a chat app)
}
JPEG_QUALITY = {"jpeg_q30": 30, "screenshot_jpeg": 70}


def flickr_images(shared: Path, split: str, limit: int) -> list[Path]:
    lines = (shared / "data" / "flickr8k" / f"{split}.jsonl").read_text().splitlines()
    return [shared / "data" / "flickr8k" / json.loads(x)["image"] for x in lines[:limit]]


def write_copies(originals: list[Path], folder: Path) -> dict[str, list[Path]]:
    """Each transform's copies on disk (PNG, JPEG for the JPEG transform), in original order."""
    out: dict[str, list[Path]] = {name: [] for name in TRANSFORMS}
    for i, path in enumerate(originals):
        with Image.open(path) as im:
            im = im.convert("RGB")
            for name, transform in TRANSFORMS.items():
                jpeg = name in JPEG_QUALITY
                target = folder / name / f"{i:05d}.{'jpg' if jpeg else 'png'}"
                target.parent.mkdir(parents=True, exist_ok=True)
                if jpeg:
                    transform(im).save(target, "JPEG", quality=JPEG_QUALITY[name])
                else:
                    transform(im).save(target, compress_level=1)
                out[name].append(target)
    return out


class ViaLibrary:
    """The real thing: a library on disk, `add` then `verify`."""

    def __init__(self, root: Path) -> None:
        os.environ["ASSETLOOM_UNDERSTANDING"] = "false"
        from assetloom.app.library import Library

        self.lib = Library.create(root / "lib")

    def register(self, paths: list[Path]) -> list[str]:
        report = self.lib.add(paths)
        by_file = {Path(o.file).name: o.asset_id for o in report.added + report.present}
        return [by_file[p.name] for p in paths]

    def best_matches(self, paths: list[Path]) -> list[str | None]:
        from assetloom.core.assets import Tier

        out: list[str | None] = []
        for result in self.lib.verify(paths):
            copies = [m for m in result.matches if m.tier in (Tier.EXACT, Tier.NEAR_IDENTICAL)]
            out.append(copies[0].asset_id if copies else None)
        return out


class ViaRules:
    """Fingerprints, Hamming index and rules without the catalog: the matching layer alone."""

    def __init__(self) -> None:
        from assetloom.index.hamming import HammingIndex

        self.index = HammingIndex(256)
        self.rows: list[str] = []  # index row id -> asset id
        self.stored: dict[str, list[Fingerprint]] = {}

    def register(self, paths: list[Path]) -> list[str]:
        from assetloom.ingest.image_fingerprints import stored_fingerprints

        ids = []
        for path in paths:
            with Image.open(path) as im:
                fps = stored_fingerprints(im)
            asset_id = f"a{len(self.stored):06d}"
            self.stored[asset_id] = fps
            pdq = [f for f in fps if f.kind.startswith("pdq")]
            start = len(self.rows)
            self.rows.extend([asset_id] * len(pdq))
            codes = np.frombuffer(b"".join(f.value for f in pdq), np.uint8).reshape(len(pdq), -1)
            self.index.add(np.arange(start, start + len(pdq), dtype=np.int64), codes)
            ids.append(asset_id)
        return ids

    def best_matches(self, paths: list[Path]) -> list[str | None]:
        from assetloom.core.copy_rules import SEARCH_RADIUS, image_match
        from assetloom.ingest.image_fingerprints import query_fingerprints

        out: list[str | None] = []
        for path in paths:
            with Image.open(path) as im:
                query = query_fingerprints(im)
            codes = [f.value for f in query if f.kind.startswith("pdq")]
            hits = self.index.range_search(
                np.frombuffer(b"".join(codes), np.uint8).reshape(len(codes), -1),
                SEARCH_RADIUS["pdq"],
            )
            candidates = {self.rows[row] for per_code in hits for row, _ in per_code}
            verdicts = [(image_match(query, self.stored[a]), a) for a in sorted(candidates)]
            found = sorted((v[1], a) for v, a in verdicts if v is not None)
            out.append(found[0][1] if found else None)
        return out


def score(truth: list[str], got: list[str | None]) -> tuple[int, int, int]:
    tp = sum(g == t for g, t in zip(got, truth, strict=True))
    fp = sum(g is not None and g != t for g, t in zip(got, truth, strict=True))
    return tp, fp, len(truth)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    default_shared = os.environ.get("ASSETLOOM_SHARED", str(REPO.parent / "shared"))
    ap.add_argument("--shared", type=Path, default=Path(default_shared))
    ap.add_argument("--originals", type=int, default=1000, help="first N Flickr8k dev images")
    ap.add_argument("--unrelated", type=int, default=1000, help="first N Flickr8k train images")
    ap.add_argument("--via", choices=("library", "rules"), default="library")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args(argv)
    if not (args.shared / "data" / "flickr8k").is_dir():
        print(f"no Flickr8k under {args.shared}/data (set --shared or ASSETLOOM_SHARED)")
        return 2
    originals = flickr_images(args.shared, "dev", args.originals)
    unrelated = flickr_images(args.shared, "train", args.unrelated)
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="copybench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        copies = write_copies(originals, root / "copies")
        t_make = time.perf_counter() - t0
        engine = ViaLibrary(root) if args.via == "library" else ViaRules()
        t0 = time.perf_counter()
        asset_ids = engine.register(originals)
        t_register = time.perf_counter() - t0
        t0 = time.perf_counter()
        totals = [0, 0, 0]
        for name, paths in copies.items():
            tp, fp, n = score(asset_ids, engine.best_matches(paths))
            totals = [totals[0] + tp, totals[1] + fp, totals[2] + n]
            rows[name] = {
                "n": n,
                "tp": tp,
                "fp": fp,
                "precision": _div(tp, tp + fp),
                "recall": tp / n,
            }
        false_matches = sum(g is not None for g in engine.best_matches(unrelated))
        t_verify = time.perf_counter() - t0
    tp, fp, n = totals
    overall = {
        "n": n,
        "tp": tp,
        "fp": fp + false_matches,
        "recall": tp / n,
        "precision": _div(tp, tp + fp + false_matches),
    }
    queries = n + len(unrelated)
    report = {
        "via": args.via,
        "originals": len(originals),
        "unrelated": len(unrelated),
        "per_transform": rows,
        "overall": overall,
        "unrelated_false_matches": false_matches,
        "seconds": {
            "make_copies": round(t_make, 1),
            "register": round(t_register, 1),
            "verify": round(t_verify, 1),
            "verify_ms_per_file": round(1000 * t_verify / queries, 1),
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


def _div(a: int, b: int) -> float:
    return a / b if b else 1.0


def _print(report: dict) -> None:
    print(
        f"copy detection via {report['via']}: {report['originals']} Flickr8k dev originals, "
        f"{report['unrelated']} unrelated train photos"
    )
    print(f"{'transform':16s} {'n':>5s} {'recall':>7s} {'precision':>9s} {'wrong':>5s}")
    for name, r in report["per_transform"].items():
        print(f"{name:16s} {r['n']:5d} {r['recall']:7.3f} {r['precision']:9.3f} {r['fp']:5d}")
    o = report["overall"]
    print(f"{'overall':16s} {o['n']:5d} {o['recall']:7.3f} {o['precision']:9.3f} {o['fp']:5d}")
    print(
        f"false matches among {report['unrelated']} unrelated photos: "
        f"{report['unrelated_false_matches']}"
    )
    s = report["seconds"]
    print(
        f"time: copies {s['make_copies']} s, register {s['register']} s, "
        f"verify {s['verify']} s ({s['verify_ms_per_file']} ms/file)"
    )


if __name__ == "__main__":
    sys.exit(main())
