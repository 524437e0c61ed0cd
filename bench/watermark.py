"""Watermark survival and C2PA states on studio-like outputs after the edits copies go through.

    .venv/bin/python bench/watermark.py [--n 100] [--unrelated 100] [--shared ../shared] [--json]

Outputs: the first N Flickr8k dev photos, upscaled from 224 to 512 px (studio outputs are
512 px or more, and RivaGAN refuses images under 256 x 256), each watermarked with its own
random asset id (provenance/watermark.py), saved as JPEG q92 and signed with a fresh C2PA
chain, as the studio stores them. Each is then edited:
- as stored, one byte changed (in the image data), JPEG q70, resize 50 % (bicubic), crop
  10 % (5 % off each side), screenshot padding (on a light-grey canvas 25 % larger with a
  40 px title bar, saved as PNG);
and every edit is decoded and matched against all N ids, as `verify` does:
- bit accuracy: the share of the 32 payload bits read right (mean and worst);
- recovered: the match names the output's own asset; wrong: it names another one;
- C2PA: the validation state of the edited file against the chain's root (none: stripped).
False positives: `--unrelated` other dev photos, never marked, matched against the same N
ids; any named asset is a false positive (the threshold keeps the chance under 1e-3 per
image, see the watermark module). Figures from the dev split are development figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from assetloom.provenance import c2pa, credentials, watermark

REPO = Path(__file__).resolve().parents[1]

SIDE = 512


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _byte_edit(data: bytes) -> bytes:
    edited = bytearray(data)
    edited[-len(data) // 4] ^= 0xFF
    return bytes(edited)


def _crop(data: bytes) -> bytes:
    img = _open(data)
    w, h = img.size
    return _jpeg(img.crop((w // 20, h // 20, w - w // 20, h - h // 20)), 90)


def _half(data: bytes) -> bytes:
    img = _open(data)
    w, h = img.size
    return _jpeg(img.resize((w // 2, h // 2), Image.Resampling.BICUBIC), 90)


def _screenshot(data: bytes) -> bytes:
    img = _open(data)
    w, h = img.size
    screen = Image.new("RGB", (w * 5 // 4, h * 5 // 4 + 40), (236, 236, 236))
    screen.paste(Image.new("RGB", (screen.width, 40), (60, 60, 70)), (0, 0))
    screen.paste(img, (w // 8, 40 + h // 8))
    return _png(screen)


EDITS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "as stored": (lambda d: d, "image/jpeg"),
    "one byte changed": (_byte_edit, "image/jpeg"),
    "jpeg q70": (lambda d: _jpeg(_open(d), 70), "image/jpeg"),
    "resize 50 %": (_half, "image/jpeg"),
    "crop 10 %": (_crop, "image/jpeg"),
    "screenshot padding": (_screenshot, "image/png"),
}


def _photos(shared: Path, count: int, skip: int) -> list[Image.Image]:
    rows = (shared / "data" / "flickr8k" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [
        Image.open(shared / "data" / "flickr8k" / json.loads(r)["image"])
        .convert("RGB")
        .resize((SIDE, SIDE), Image.Resampling.LANCZOS)
        for r in rows[skip : skip + count]
    ]


def run(shared: Path, n: int, unrelated: int) -> dict[str, object]:
    rng = random.Random(12)
    creds = credentials.issue("assetloom.local/bench")
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(n)]
    outputs: list[bytes] = []
    embed_s: list[float] = []
    for photo, asset_id in zip(_photos(shared, n, 0), ids, strict=True):
        t = time.perf_counter()
        marked = watermark.embed(photo, asset_id)
        embed_s.append(time.perf_counter() - t)
        spec = c2pa.ManifestSpec(
            title="out.jpg",
            source_type=c2pa.TRAINED,
            backend="bench",
            model="flickr8k-dev",
            asset_id=asset_id,
        )
        outputs.append(c2pa.sign(_jpeg(marked, 92), "image/jpeg", spec, creds))

    rows: dict[str, dict[str, object]] = {}
    decode_s: list[float] = []
    for name, (edit, media_type) in EDITS.items():
        accuracy: list[float] = []
        recovered = wrong = 0
        states: Counter[str] = Counter()
        for data, asset_id in zip(outputs, ids, strict=True):
            copy = edit(data)
            report = c2pa.read(copy, media_type, creds.root_pem)
            states[report.state if report else "none"] += 1
            t = time.perf_counter()
            decoded = watermark.decode(_open(copy))
            decode_s.append(time.perf_counter() - t)
            truth = watermark.payload(asset_id)
            accuracy.append(max(float(np.mean(v == truth)) for v in decoded.views))
            found = watermark.match(decoded, ids).asset_id
            recovered += found == asset_id
            wrong += found is not None and found != asset_id
        rows[name] = {
            "bit_accuracy_mean": round(float(np.mean(accuracy)), 4),
            "bit_accuracy_min": round(float(np.min(accuracy)), 4),
            "recovered": recovered,
            "wrong_asset": wrong,
            "c2pa": dict(states),
        }

    false_positives = 0
    closest = 0.0
    for photo in _photos(shared, unrelated, n):
        found = watermark.identify(photo, ids)
        false_positives += found.asset_id is not None
        closest = max(closest, found.bits_ok or 0.0)
    return {
        "outputs": n,
        "size": f"{SIDE}x{SIDE}",
        "edits": rows,
        "unrelated": unrelated,
        "false_positives": false_positives,
        "unrelated_closest_bits_ok": closest,
        "accepted_wrong_bits": watermark.max_distance(n, 1),
        "embed_s_median": round(float(np.median(embed_s)), 3),
        "decode_s_median": round(float(np.median(decode_s)), 3),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="outputs to mark and edit")
    parser.add_argument("--unrelated", type=int, default=100, help="unmarked photos")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.shared / "data" / "flickr8k" / "dev.jsonl").is_file():
        sys.exit(f"Flickr8k dev split not found under {args.shared} (use --shared)")
    result = run(args.shared, args.n, args.unrelated)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    n = result["outputs"]
    print(f"{n} outputs ({result['size']}, Flickr8k dev), matched among {n} ids")
    print(f"{'edit':<20}{'bits mean':>10}{'bits min':>10}{'recovered':>11}{'wrong':>7}  C2PA")
    for name, row in result["edits"].items():  # type: ignore[union-attr]
        states = ", ".join(f"{k} {v}" for k, v in sorted(row["c2pa"].items()))
        print(
            f"{name:<20}{row['bit_accuracy_mean']:>10.1%}{row['bit_accuracy_min']:>10.1%}"
            f"{row['recovered']:>7}/{n:<3}{row['wrong_asset']:>7}  {states}"
        )
    print(
        f"unmarked photos naming an asset: {result['false_positives']} of "
        f"{result['unrelated']} (closest {result['unrelated_closest_bits_ok']:.1%} of bits; "
        f"a match may have {result['accepted_wrong_bits']} wrong bits)"
    )
    print(f"median embed {result['embed_s_median']} s, decode {result['decode_s_median']} s")


if __name__ == "__main__":
    main()
