"""Does the Gram-matrix style distance tell a picture made in a reference's style from an
unrelated one? (#12)

    .venv/bin/python bench/style_distance.py [--data ../shared/data/flickr8k/dev.jsonl] [--n 50]

For N Flickr8k dev photos, each photo's style reference is another dev photo drawn at random
(seeded). The photo recoloured to that reference (Reinhard transfer, as the compose backend
does) is the "styled" case; a third random photo is the "unrelated" case. Prints the mean and
median distance to the reference of both, and the rank AUC of "styled is closer". Development
figures (dev split); the scale is documented in assetloom.models.style.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from assetloom.create.generators.image_compose import reinhard
from assetloom.models.style import style_distance
from assetloom.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def auc(closer: np.ndarray, farther: np.ndarray) -> float:
    """P(a styled distance < an unrelated one), ties counting half."""
    less = (closer[:, None] < farther[None, :]).mean()
    ties = (closer[:, None] == farther[None, :]).mean()
    return float(less + ties / 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/flickr8k/dev.jsonl")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lines = args.data.read_text(encoding="utf-8").splitlines()[: args.n]
    paths = [args.data.parent / json.loads(line)["image"] for line in lines]
    rng = np.random.default_rng(args.seed)
    cache = Settings().model_cache
    styled, unrelated = [], []
    t0 = time.perf_counter()
    for i, path in enumerate(paths):
        ref_i, other_i = rng.choice([j for j in range(len(paths)) if j != i], 2, replace=False)
        photo = Image.open(path).convert("RGB")
        ref = Image.open(paths[ref_i]).convert("RGB")
        other = Image.open(paths[other_i]).convert("RGB")
        styled.append(style_distance(reinhard(photo, ref), ref, cache))
        unrelated.append(style_distance(other, ref, cache))
    took = time.perf_counter() - t0
    s, u = np.array(styled), np.array(unrelated)
    print(f"{len(paths)} pairs, {took:.1f} s ({took / (2 * len(paths)) * 1000:.0f} ms a distance)")
    print(f"styled    mean {s.mean():.4f}  median {np.median(s):.4f}")
    print(f"unrelated mean {u.mean():.4f}  median {np.median(u):.4f}")
    print(f"AUC (styled closer) {auc(s, u):.3f}")


if __name__ == "__main__":
    main()
