"""Images/s through the full `add` path with embeddings and zero-shot tags (understanding on).

    .venv/bin/python bench/embed.py [--shared ../shared]

Target on this 2-core machine: >= 25 images/s on the 1,000 Flickr8k dev images. The first run
on a machine builds the ONNX graph and embeds the tag prompts into the model cache; that is
done once, before timing. For the encoder alone see bench/embed_encoder.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ingest import REPO, measure  # bench/ingest.py: same timing, fresh process


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", default=os.environ.get("ASSETLOOM_SHARED", REPO.parent / "shared"))
    args = ap.parse_args()
    os.environ["ASSETLOOM_UNDERSTANDING"] = "true"
    dev = Path(args.shared) / "data/flickr8k"
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        items = [json.loads(x)["image"] for x in (dev / "dev.jsonl").read_text().splitlines()]
        for image in items[:4]:
            os.symlink(dev / image, warm / Path(image).name)
        measure(warm)  # graph export and tag prompts, once per machine
        dev_dir = Path(tmp) / "dev"
        dev_dir.mkdir()
        for image in items:
            os.symlink(dev / image, dev_dir / Path(image).name)
        print(f"cores: {os.cpu_count()}")
        print("add with embeddings + tags, flickr8k dev:", json.dumps(measure(dev_dir)))


if __name__ == "__main__":
    main()
