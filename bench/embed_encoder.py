"""Encoder-alone throughput on the Flickr8k dev images: images/s and texts/s.

    ASSETLOOM_SHARED=../shared python bench/embed_encoder.py [--limit 1000] [--model offline]

Prints the figures; the full `add` path is measured by bench/embed.py. The first call builds the
ONNX graph into --cache (once per machine), so it is timed separately as "first use".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from assetloom.models import get_image_encoder, get_text_encoder
from assetloom.models.backbone import open_image


def main() -> None:
    default_data = Path(os.environ.get("ASSETLOOM_SHARED", "../shared")) / "data" / "flickr8k"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--model", default="offline", help="offline | clip:<dir or hub id>")
    parser.add_argument("--cache", type=Path, default=None, help="export cache (default: temp)")
    args = parser.parse_args()
    if not (args.data / "dev.jsonl").is_file():
        raise SystemExit(f"no Flickr8k dev split under {args.data}; set ASSETLOOM_SHARED")
    lines = (args.data / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()][: args.limit]
    cache = args.cache or Path(tempfile.mkdtemp(prefix="assetloom-bench-"))

    text = get_text_encoder(args.model, cache)
    image = get_image_encoder(args.model, cache)
    start = time.perf_counter()
    image.encode_with_features([Image.new("RGB", (64, 64))])
    print(f"first use (build or open graph): {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    images = [open_image(args.data / r["image"]) for r in rows]
    for img in images:
        img.load()
    decode_s = time.perf_counter() - start
    start = time.perf_counter()
    image.encode_with_features(images)
    encode_s = time.perf_counter() - start
    n = len(images)
    print(
        f"images: {n}  decode {n / decode_s:.0f}/s  encode {n / encode_s:.1f}/s  "
        f"decode+encode {n / (decode_s + encode_s):.1f}/s  (cores: {os.cpu_count()})"
    )

    for lang in ("en", "zh"):
        captions = [r[f"captions_{lang}"][0] for r in rows]
        start = time.perf_counter()
        text.encode_queries(captions)
        rate = len(captions) / (time.perf_counter() - start)
        latencies = []
        for caption in captions[:50]:
            t0 = time.perf_counter()
            text.encode_queries([caption])
            latencies.append((time.perf_counter() - t0) * 1000)
        print(
            f"texts ({lang}): batch {rate:.0f}/s  single query p50 "
            f"{statistics.median(latencies):.1f} ms"
        )


if __name__ == "__main__":
    main()
