"""OCR on product shots: character accuracy, and the cost per image with and without text.

    python bench/ocr.py [--n 20] [--threads 1]

Makes its own set from Flickr8k dev photos (ASSETLOOM_SHARED, default ../shared): `n` of
them, scaled to 640 px, get one Chinese and one English product line drawn on (sizes 18-44
px, several fonts, colours and positions, on a band, outlined or plain); `n` others stay
without text. Reports character accuracy (1 - CER, whitespace ignored) for zh and en, the
share of English lines read with exactly the right spaces, and ms per image: with text, and
without text through the gate (what ingest pays) and through the full pipeline (what it
would pay without the gate). Dev-split figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ZH = [
    "夏季新品 限时八折",
    "买一送一",
    "全场包邮",
    "新品上市",
    "手工咖啡豆",
    "有机绿茶",
    "会员专享价",
]
EN = [
    "Summer Sale 20% off",
    "Free shipping",
    "New arrival",
    "Handmade coffee",
    "Organic green tea",
    "Limited edition",
    "Members only price",
    "Buy one get one free",
]
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
LATIN_FONTS = [
    CJK_FONT,
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Italic.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
]
SIDE = 640


def edits(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = row
    return prev[-1]


def render(photo: Image.Image, rng: random.Random) -> tuple[Image.Image, list[str]]:
    image = photo.resize((SIDE, SIDE))
    draw = ImageDraw.Draw(image)
    lines = [rng.choice(ZH), rng.choice(EN)]
    fonts = [CJK_FONT, rng.choice([f for f in LATIN_FONTS if Path(f).is_file()])]
    size = rng.randrange(18, 46)
    style = rng.choice(["band", "outline", "plain"])
    x, y = rng.randrange(10, 120), rng.choice([20, SIDE // 2 - size, SIDE - 3 * size - 30])
    ink = rng.choice([(0, 0, 0), (200, 20, 20), (20, 40, 160)])
    for i, (line, path) in enumerate(zip(lines, fonts, strict=True)):
        face = ImageFont.truetype(path, size)
        top = y + i * int(size * 1.5)
        if style == "band":
            width = face.getlength(line)
            draw.rectangle((x - 8, top - 4, x + width + 8, top + size * 1.3), fill="white")
            draw.text((x, top), line, font=face, fill=ink)
        elif style == "outline":
            draw.text((x, top), line, font=face, fill="white", stroke_width=2, stroke_fill="black")
        else:
            draw.text((x, top), line, font=face, fill=rng.choice(["white", "black"]))
    return image, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="images with text (as many without)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    from assetloom.models.ocr.rapid import RapidOcrEngine

    shared = Path(os.environ.get("ASSETLOOM_SHARED", Path(__file__).parents[2] / "shared"))
    flickr = shared / "data/flickr8k"
    dev = [json.loads(line)["image"] for line in (flickr / "dev.jsonl").open()]
    rng = random.Random(args.seed)
    picks = rng.sample(dev, 2 * args.n)
    engine = RapidOcrEngine(threads=args.threads)
    engine.recognise(Image.open(flickr / picks[0]).convert("RGB"))  # sessions warm

    edits_by = {"zh": 0, "en": 0}
    chars_by = {"zh": 0, "en": 0}
    spaced = gated_in = 0
    with_text: list[float] = []
    for name in picks[: args.n]:
        image, truth = render(Image.open(flickr / name).convert("RGB"), rng)
        started = time.perf_counter()
        lines = engine.recognise(image)
        with_text.append((time.perf_counter() - started) * 1000)
        gated_in += bool(lines) or engine.has_text(image)
        got = [line.text for line in lines]
        for lang, want in zip(("zh", "en"), truth, strict=True):
            best = min(
                got, key=lambda g: edits(g.replace(" ", ""), want.replace(" ", "")), default=""
            )
            edits_by[lang] += edits(best.replace(" ", ""), want.replace(" ", ""))
            chars_by[lang] += len(want.replace(" ", ""))
            spaced += lang == "en" and best == want
    gate_ms, full_ms, skipped = [], [], 0
    for name in picks[args.n :]:
        image = Image.open(flickr / name).convert("RGB").resize((SIDE, SIDE))
        started = time.perf_counter()
        lines = engine.recognise(image)
        gate_ms.append((time.perf_counter() - started) * 1000)
        skipped += not engine.has_text(image)
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        started = time.perf_counter()
        engine._read(bgr)
        full_ms.append((time.perf_counter() - started) * 1000)

    def ms(xs: list[float]) -> str:
        return f"mean {statistics.fmean(xs):6.1f} ms, p50 {statistics.median(xs):6.1f} ms"

    n = args.n
    print(f"OCR bench, Flickr8k dev photos at {SIDE} px, {n} with text, {n} without")
    for lang in ("zh", "en"):
        print(f"  char accuracy {lang}: {1 - edits_by[lang] / max(1, chars_by[lang]):.3f}")
    print(f"  English lines with exactly the right spaces: {spaced}/{n}")
    print(f"  with text:               {ms(with_text)}  (gate passed {gated_in}/{n})")
    print(f"  without text, gated:     {ms(gate_ms)}  (gate skipped {skipped}/{n})")
    print(f"  without text, no gate:   {ms(full_ms)}")


if __name__ == "__main__":
    main()
