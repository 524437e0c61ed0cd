"""Copy detection: precision and recall per transform, and false matches among unrelated photos.

    nice -n 10 .venv/bin/python bench/copy_detection.py [--shared ../shared] [--originals 1000]
        [--split dev|train] [--offset 0] [--unrelated 1000] [--bursts 40] [--burst-gap 30]
        [--edits all|classic|real] [--transforms a,b,...] [--no-understanding]
        [--via library|rules] [--json]

Registers the originals (default: the 1,000 Flickr8k dev images; `--split train --offset 1000`
takes held-out ones, from a split no threshold was chosen on), makes twelve classic
transformed copies of each and sixteen real edits (one-sided crops, corner logos, turns with
the canvas expanded, caption bars, mixes), verifies every copy and every unrelated photo (the
first N Flickr8k train images outside the originals' range) and counts:
- a copy is a true positive when its best near-identical/exact match (a copy tier) is its own
  original, a false positive when that match is another asset, a miss otherwise; "any tier"
  also counts the original found only as `similar`;
- an unrelated photo with any copy-tier match is a false positive (a "false match");
- distinct photos registered beside the originals (the originals themselves, UKBench
  objects, burst-like Flickr pairs) must not match each other in a copy tier.
Targets: copy-tier recall >= 0.97 per transform at 0 false matches (issue #14).

`--via library` (default) goes through `Library.create` / `add` / `verify` end to end with
understanding (embeddings: the backbone candidates of geometric verification) on unless
`--no-understanding`; `--via rules` (hashes only, no geometric verification) calls the
fingerprint functions, the Hamming index and `core.copy_rules` directly, which is what the
library does underneath and is faster when tuning thresholds. Figures from the dev split are
development figures (the thresholds were chosen on it); `--split train --offset 1000` gives
held-out ones. `--transforms` runs a subset (e.g. screenshot_jpeg) when checking one change.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

import assetloom
from assetloom.core.assets import Fingerprint

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = Path(assetloom.__file__).parent / "examples"
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


def crop_side(cut: float) -> Callable[[Image.Image, int], Image.Image]:
    """Cut `cut` of the picture from one side (left, top, right, bottom by turns)."""

    def edit(im: Image.Image, i: int) -> Image.Image:
        dx, dy = round(im.width * cut), round(im.height * cut)
        box = [
            (dx, 0, im.width, im.height),
            (0, dy, im.width, im.height),
            (0, 0, im.width - dx, im.height),
            (0, 0, im.width, im.height - dy),
        ][i % 4]
        return im.crop(box)

    return edit


def _corner(im: Image.Image, s: int, i: int) -> tuple[int, int]:
    m = max(2, im.width // 40)
    return [
        (im.width - s - m, im.height - s - m),
        (m, m),
        (im.width - s - m, m),
        (m, im.height - s - m),
    ][i % 4]


def logo_disc(size: float) -> Callable[[Image.Image, int], Image.Image]:
    """A plain white disc `size` of the width across in a corner (a watermark stamp)."""

    def edit(im: Image.Image, i: int) -> Image.Image:
        out = im.copy()
        s = max(6, round(im.width * size))
        x, y = _corner(im, s, i)
        ImageDraw.Draw(out).ellipse((x, y, x + s, y + s), fill=(255, 255, 255))
        return out

    return edit


def logo_image(size: float) -> Callable[[Image.Image, int], Image.Image]:
    """A small picture logo (the bundled rocket photo in a white frame) in a corner."""
    logo = Image.open(EXAMPLES / "rocket.jpg").convert("RGB")

    def edit(im: Image.Image, i: int) -> Image.Image:
        out = im.copy()
        s = max(8, round(im.width * size))
        framed = ImageOps.expand(logo.resize((s - 4, s - 4)), border=2, fill="white")
        out.paste(framed, _corner(im, s, i))
        return out

    return edit


def rotate_expand(degrees: float) -> Callable[[Image.Image, int], Image.Image]:
    """Turned by `degrees` (either way by turns), canvas expanded to hold the corners."""

    def edit(im: Image.Image, i: int) -> Image.Image:
        fill = (0, 0, 0) if i % 2 else (255, 255, 255)
        angle = degrees if i % 2 else -degrees
        return im.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)

    return edit


def caption_bar(share: float) -> Callable[[Image.Image, int], Image.Image]:
    """A black bar over the bottom `share` of the picture with a white caption."""

    def edit(im: Image.Image, i: int) -> Image.Image:
        out = im.copy()
        top = im.height - round(im.height * share)
        d = ImageDraw.Draw(out)
        d.rectangle((0, top, im.width, im.height), fill=(0, 0, 0))
        size = max(8, round((im.height - top) * 0.5))
        text = ["Breaking: the view from here", "Photo of the day", "@assetloom 2026"][i % 3]
        d.text(
            (im.width // 2, (top + im.height) // 2),
            text,
            font=_font(size),
            fill="white",
            anchor="mm",
        )
        return out

    return edit


def mix_crop_caption_logo(im: Image.Image, i: int) -> Image.Image:
    return logo_disc(0.15)(caption_bar(0.15)(crop_side(0.15)(im, i), i), i + 1)


def mix_rotate_logo(im: Image.Image, i: int) -> Image.Image:
    return rotate_expand(8)(logo_image(0.15)(im, i), i)


def mix_crop_rotate_jpeg(im: Image.Image, i: int) -> Image.Image:
    return rotate_expand(5)(crop_side(0.2)(im, i), i + 1)


# Edits users make that keep "the same picture": one-sided crops, corner logos, turns with the
# canvas expanded, caption bars and mixtures (issue #14). Each takes the image's index, so the
# side, corner and direction vary over the set.
REAL_EDITS: dict[str, Callable[[Image.Image, int], Image.Image]] = {
    "crop_side_10": crop_side(0.10),
    "crop_side_20": crop_side(0.20),
    "crop_side_30": crop_side(0.30),
    "logo_disc_10": logo_disc(0.10),
    "logo_disc_18": logo_disc(0.18),
    "logo_disc_25": logo_disc(0.25),
    "logo_image_12": logo_image(0.12),
    "logo_image_20": logo_image(0.20),
    "rotate_expand_5": rotate_expand(5),
    "rotate_expand_8": rotate_expand(8),
    "rotate_expand_10": rotate_expand(10),
    "caption_bar_10": caption_bar(0.10),
    "caption_bar_18": caption_bar(0.18),
    "mix_crop_caption_logo": mix_crop_caption_logo,
    "mix_rotate_logo": mix_rotate_logo,
    "mix_crop_rotate_jpeg": mix_crop_rotate_jpeg,
}

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


def flickr_images(shared: Path, split: str, limit: int, offset: int = 0) -> list[Path]:
    lines = (shared / "data" / "flickr8k" / f"{split}.jsonl").read_text().splitlines()
    return [
        shared / "data" / "flickr8k" / json.loads(x)["image"]
        for x in lines[offset : offset + limit]
    ]


def unrelated_images(shared: Path, limit: int, originals: list[Path]) -> list[Path]:
    """The first `limit` Flickr8k train images that are not among `originals` (which may be
    train images themselves: `--split train`), so the two sets never overlap."""
    taken = set(originals)
    every = flickr_images(shared, "train", 10**9)
    return [p for p in every if p not in taken][:limit]


def write_copies(
    originals: list[Path],
    folder: Path,
    *,
    real_edits: bool = True,
    classic: bool = True,
    only: set[str] | frozenset[str] = frozenset(),
) -> dict[str, list[Path]]:
    """Each transform's copies on disk, in original order: the classic transforms as PNG (JPEG
    for the JPEG ones), the real edits as JPEG q90 (q70 for the mix named so), as they are
    shared. `only`: just these transforms (all when empty)."""
    names = [*(TRANSFORMS if classic else ()), *(REAL_EDITS if real_edits else ())]
    names = [n for n in names if not only or n in only]
    out: dict[str, list[Path]] = {name: [] for name in names}
    for i, path in enumerate(originals):
        with Image.open(path) as im:
            im = im.convert("RGB")
            for name in names:
                if name in REAL_EDITS:
                    copy, quality = REAL_EDITS[name](im, i), 70 if name.endswith("jpeg") else 90
                else:
                    copy, quality = TRANSFORMS[name](im), JPEG_QUALITY.get(name)
                target = folder / name / f"{i:05d}.{'png' if quality is None else 'jpg'}"
                target.parent.mkdir(parents=True, exist_ok=True)
                if quality is None:
                    copy.save(target, compress_level=1)
                else:
                    copy.convert("RGB").save(target, "JPEG", quality=quality)
                out[name].append(target)
    return out


def burst_pairs(shared: Path, gap: int = 30) -> list[tuple[Path, Path]]:
    """Flickr8k photos (dev and train) whose Flickr ids are at most `gap` apart: 30 is one
    photographer seconds apart (49 pairs), 300 one upload session (131 pairs)."""
    ids = []
    for split in ("dev", "train"):
        for line in (shared / "data/flickr8k" / f"{split}.jsonl").read_text().splitlines():
            name = json.loads(line)["image"]
            ids.append((int(Path(name).name.split("_")[0]), shared / "data/flickr8k" / name))
    ids.sort()
    return [(pa, pb) for (a, pa), (b, pb) in itertools.pairwise(ids) if b - a <= gap]


def distinct_sets(
    shared: Path, taken: set[Path], bursts: int, gap: int = 30
) -> dict[str, list[Path]]:
    """Different photos that must not match each other in a copy tier: UKBench objects (the
    imagededup test set's base images, two of them licence plates) and the photos of up to
    `bursts` burst-like pairs (`burst_pairs`) not in `taken`."""
    base = shared / "data/nearduplicate/imagededup-tests/tests/data/base_images"
    burst: list[Path] = []
    for pa, pb in burst_pairs(shared, gap):
        if len(burst) < 2 * bursts:
            burst.extend(p for p in (pa, pb) if p not in taken and p not in burst)
    return {"ukbench": sorted(base.glob("*.jpg")), "burst": burst}


def share_margin(pairs: list[tuple[Path, Path]]) -> dict[str, object]:
    """The burst-like pair (either way) that comes closest to a geometric match: the highest
    share of the query's features explained among pairs that pass every other condition of
    `core.copy_rules.geometric_match` (inliers, residual, scale), with every keypoint set a
    query brings (the picture's, its extracted region's). The bar is GEOMETRIC_MIN_SHARE."""
    from assetloom.app.geometric import best_evidence
    from assetloom.core import copy_rules
    from assetloom.ingest.image_fingerprints import query_probes
    from assetloom.ingest.keypoints import Keypoints, geometric_evidence, keypoints_of_image

    def sets(path: Path) -> list[Keypoints]:
        with Image.open(path) as im:
            im = im.convert("RGB")
            _, region = query_probes(im)
            return [keypoints_of_image(x) for x in (im, region) if x is not None]

    lo, hi = copy_rules.GEOMETRIC_SCALE
    share, pair, inliers = 0.0, "", 0
    for pa, pb in pairs:
        ka, kb = sets(pa), sets(pb)
        for query, other, names in ((ka, kb[0], (pa, pb)), (kb, ka[0], (pb, pa))):
            gated = [
                e
                for e in (geometric_evidence(q, other) for q in query)
                if e is not None
                and e.inliers >= copy_rules.GEOMETRIC_MIN_INLIERS
                and e.residual <= copy_rules.GEOMETRIC_MAX_RESIDUAL
                and lo <= e.scale <= hi
            ]
            best = best_evidence(gated)
            if best is not None and best.query_share > share:
                share, inliers = best.query_share, best.inliers
                pair = f"{names[0].name} > {names[1].name}"
    worst = {"share": round(share, 3), "pair": pair, "inliers": inliers}
    return {**worst, "pairs": len(pairs), "bar": copy_rules.GEOMETRIC_MIN_SHARE}


class ViaLibrary:
    """The real thing: a library on disk, `add` then `verify`."""

    def __init__(self, root: Path, *, understanding: bool) -> None:
        os.environ["ASSETLOOM_UNDERSTANDING"] = "true" if understanding else "false"
        from assetloom.app.library import Library

        self.lib = Library.create(root / "lib")

    def register(self, paths: list[Path]) -> list[str]:
        report = self.lib.add(paths)
        by_file = {Path(o.file).name: o.asset_id for o in report.added + report.present}
        return [by_file[p.name] for p in paths]

    def matches(self, paths: list[Path]) -> list[list[tuple[str, str]]]:
        """Per file, its matches as (asset id, tier), best first."""
        return [[(m.asset_id, m.tier.value) for m in r.matches] for r in self.lib.verify(paths)]

    def best_matches(self, paths: list[Path]) -> list[str | None]:
        return [best_copy(ms) for ms in self.matches(paths)]


COPY_TIERS = ("exact", "near-identical")


def best_copy(matches: list[tuple[str, str]]) -> str | None:
    copies = [a for a, tier in matches if tier in COPY_TIERS]
    return copies[0] if copies else None


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

    def matches(self, paths: list[Path]) -> list[list[tuple[str, str]]]:
        return [[(a, "near-identical")] if a else [] for a in self.best_matches(paths)]

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


def score(truth: list[str], got: list[list[tuple[str, str]]]) -> dict[str, float]:
    """Copy-tier hits (the best exact/near-identical match is the original), wrong copy-tier
    matches, and "found in any tier" (the original is among the matches, similar included)."""
    best = [best_copy(ms) for ms in got]
    tp = sum(g == t for g, t in zip(best, truth, strict=True))
    fp = sum(g is not None and g != t for g, t in zip(best, truth, strict=True))
    anywhere = sum(t in {a for a, _ in ms} for ms, t in zip(got, truth, strict=True))
    n = len(truth)
    return {
        "n": n,
        "tp": tp,
        "fp": fp,
        "precision": _div(tp, tp + fp),
        "recall": tp / n,
        "any_tier": anywhere / n,
    }


def false_matches(engine: ViaLibrary | ViaRules, paths: list[Path], own: list[str]) -> int:
    """Copy-tier matches of registered distinct photos to anything but themselves."""
    got = engine.matches(paths)
    return sum(
        any(tier in COPY_TIERS and a != mine for a, tier in ms)
        for ms, mine in zip(got, own, strict=True)
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    default_shared = os.environ.get("ASSETLOOM_SHARED", str(REPO.parent / "shared"))
    ap.add_argument("--shared", type=Path, default=Path(default_shared))
    ap.add_argument("--originals", type=int, default=1000, help="N Flickr8k images of --split")
    ap.add_argument(
        "--split",
        choices=("dev", "train"),
        default="dev",
        help="where the originals come from: dev (the thresholds were chosen there) or train "
        "(held out; use --offset past --unrelated)",
    )
    ap.add_argument("--offset", type=int, default=0, help="skip the split's first N images")
    ap.add_argument(
        "--unrelated",
        type=int,
        default=1000,
        help="first N Flickr8k train images that are not originals",
    )
    ap.add_argument("--bursts", type=int, default=40, help="burst-like pairs registered")
    ap.add_argument(
        "--burst-gap",
        type=int,
        default=30,
        help="largest Flickr id gap of a burst-like pair (300: 131 pairs, one upload session)",
    )
    ap.add_argument(
        "--transforms",
        default="",
        help="comma-separated transform names to run (default: all those --edits selects)",
    )
    ap.add_argument("--via", choices=("library", "rules"), default="library")
    ap.add_argument(
        "--edits",
        choices=("all", "classic", "real"),
        default="all",
        help="classic: the twelve global transforms; real: one-sided crops, logos, turns "
        "with the canvas expanded, caption bars, mixes (issue #14)",
    )
    ap.add_argument(
        "--no-understanding",
        action="store_true",
        help="no embeddings: the backbone tier (and its geometric candidates) is off",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args(argv)
    if not (args.shared / "data" / "flickr8k").is_dir():
        print(f"no Flickr8k under {args.shared}/data (set --shared or ASSETLOOM_SHARED)")
        return 2
    originals = flickr_images(args.shared, args.split, args.originals, args.offset)
    unrelated = unrelated_images(args.shared, args.unrelated, originals)
    distinct = distinct_sets(args.shared, {*originals, *unrelated}, args.bursts, args.burst_gap)
    only = {t for t in args.transforms.split(",") if t}
    if unknown := only - {*TRANSFORMS, *REAL_EDITS}:
        print(f"unknown transforms: {', '.join(sorted(unknown))}")
        return 2
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="copybench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        copies = write_copies(
            originals,
            root / "copies",
            classic=args.edits != "real",
            real_edits=args.edits != "classic",
            only=only,
        )
        t_make = time.perf_counter() - t0
        if args.via == "library":
            engine: ViaLibrary | ViaRules = ViaLibrary(
                root, understanding=not args.no_understanding
            )
        else:
            engine = ViaRules()
        t0 = time.perf_counter()
        asset_ids = engine.register(originals)
        distinct_ids = {name: engine.register(paths) for name, paths in distinct.items()}
        t_register = time.perf_counter() - t0
        t0 = time.perf_counter()
        totals = [0, 0, 0]
        for name, paths in copies.items():
            rows[name] = score(asset_ids, engine.matches(paths))
            tp, fp, n = rows[name]["tp"], rows[name]["fp"], rows[name]["n"]
            totals = [totals[0] + int(tp), totals[1] + int(fp), totals[2] + int(n)]
        unrelated_false = sum(g is not None for g in engine.best_matches(unrelated))
        distinct_false = {args.split: false_matches(engine, originals, asset_ids)}
        for name, paths in distinct.items():
            distinct_false[name] = false_matches(engine, paths, distinct_ids[name])
        t_verify = time.perf_counter() - t0
    registered = set(distinct["burst"])
    margin = share_margin(
        [(a, b) for a, b in burst_pairs(args.shared, args.burst_gap) if {a, b} <= registered]
    )
    tp, fp, n = totals
    overall = {
        "n": n,
        "tp": tp,
        "fp": fp + unrelated_false,
        "recall": tp / n,
        "precision": _div(tp, tp + fp + unrelated_false),
    }
    queries = n + len(unrelated) + len(originals) + sum(len(p) for p in distinct.values())
    report = {
        "via": args.via,
        "understanding": args.via == "library" and not args.no_understanding,
        "originals": len(originals),
        "split": args.split,
        "offset": args.offset,
        "unrelated": len(unrelated),
        "per_transform": rows,
        "overall": overall,
        "unrelated_false_matches": unrelated_false,
        "distinct": {k: len(v) for k, v in {args.split: originals, **distinct}.items()},
        "distinct_false_matches": distinct_false,
        "burst_share_margin": margin,
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


def _from(offset: int) -> str:
    return f" (from #{offset})" if offset else ""


def _div(a: int, b: int) -> float:
    return a / b if b else 1.0


def _print(report: dict) -> None:
    print(
        f"copy detection via {report['via']} (understanding "
        f"{'on' if report['understanding'] else 'off'}): {report['originals']} Flickr8k "
        f"{report['split']} originals{_from(report['offset'])}, {report['unrelated']} unrelated "
        "train photos"
    )
    print(
        f"{'transform':22s} {'n':>5s} {'copy tier':>9s} {'any tier':>8s} {'precision':>9s} "
        f"{'wrong':>5s}"
    )
    for name, r in report["per_transform"].items():
        print(
            f"{name:22s} {r['n']:5d} {r['recall']:9.3f} {r['any_tier']:8.3f} "
            f"{r['precision']:9.3f} {r['fp']:5d}"
        )
    o = report["overall"]
    print(
        f"{'overall':22s} {o['n']:5d} {o['recall']:9.3f} {'':8s} {o['precision']:9.3f} {o['fp']:5d}"
    )
    print(
        f"false matches among {report['unrelated']} unrelated photos: "
        f"{report['unrelated_false_matches']}"
    )
    sizes = report["distinct"]
    print(
        "copy-tier matches between distinct registered photos: "
        + ", ".join(f"{k} {v} of {sizes[k]}" for k, v in report["distinct_false_matches"].items())
    )
    m = report["burst_share_margin"]
    print(
        f"closest burst pair of {m['pairs']} (geometrically): share {m['share']:.3f} against the "
        f"bar {m['bar']:.2f}, {m['inliers']} inliers ({m['pair']})"
    )
    s = report["seconds"]
    print(
        f"time: copies {s['make_copies']} s, register {s['register']} s, "
        f"verify {s['verify']} s ({s['verify_ms_per_file']} ms/file)"
    )


if __name__ == "__main__":
    sys.exit(main())
