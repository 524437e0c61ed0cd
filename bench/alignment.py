"""Does the studio's brief/image cosine separate matching from non-matching pairs, and what
does a cosine mean as a probability? (#12)

    .venv/bin/python bench/alignment.py [--data ../shared/data/flickr8k/dev.jsonl] [--n 1000]

For N Flickr8k dev images, each of the 5 captions (en and zh) is scored, exactly as
`Studio._image_quality` scores a brief, against its own image (match) and against one other
image drawn at random (seeded; non-match). Per language and pooled: rank AUC, mean and
percentiles of both score sets, and a 1-D logistic p(match | cos) = 1/(1+exp(-(a*cos+b)))
fitted by Newton's method on the first half of the images and evaluated on the second half
(AUC, Brier score, reliability in 5 equal-count bins). The pooled (a, b) are what
`assetloom.core.alignment_score` ships. Figures are development figures (dev split).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from assetloom.models.registry import DEFAULT_MODEL, get_image_encoder, get_text_encoder
from assetloom.settings import Settings

REPO = Path(__file__).resolve().parents[1]
BATCH = 64


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann-Whitney AUC from average ranks (ties share their rank)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = labels == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 50) -> tuple[float, float]:
    """Newton's method on the log-loss of p = sigmoid(a*x + b): two parameters, converges fast."""
    w = np.zeros(2)
    design = np.stack([x, np.ones_like(x)], axis=1)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(design @ w)))
        grad = design.T @ (p - y)
        hess = design.T @ (design * (p * (1 - p))[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def sigmoid(x: np.ndarray, a: float, b: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(a * x + b)))


def describe(name: str, s: np.ndarray) -> str:
    q = np.percentile(s, [5, 25, 50, 75, 95])
    return (
        f"  {name:9s} n={len(s):5d} mean={s.mean():.4f} "
        f"p5={q[0]:.4f} p25={q[1]:.4f} p50={q[2]:.4f} p75={q[3]:.4f} p95={q[4]:.4f}"
    )


def report(
    label: str, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]
) -> tuple[float, float]:
    (xtr, ytr), (xte, yte) = train, test
    x, y = np.concatenate([xtr, xte]), np.concatenate([ytr, yte])
    print(f"[{label}] AUC (all {len(x)} pairs) = {auc(x, y):.4f}")
    print(describe("match", x[y == 1]))
    print(describe("non-match", x[y == 0]))
    a, b = fit_logistic(xtr, ytr)
    p = sigmoid(xte, a, b)
    brier = float(np.mean((p - yte) ** 2))
    print(f"  fit on first half: a={a:.4f} b={b:.4f}  (p=0.5 at cos={-b / a:.4f})")
    print(
        f"  second half: AUC={auc(p, yte):.4f} Brier={brier:.4f} "
        f"(base rate {yte.mean():.2f}: constant guess {yte.mean() * (1 - yte.mean()):.4f})"
    )
    print("  reliability (5 equal-count bins of predicted p): mean predicted -> observed, n")
    for chunk in np.array_split(np.argsort(p), 5):
        print(f"    {p[chunk].mean():.3f} -> {yte[chunk].mean():.3f}  n={len(chunk)}")
    return a, b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/data/flickr8k/dev.jsonl")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows = [json.loads(x) for x in args.data.read_text().splitlines() if x.strip()][: args.n]
    n = len(rows)
    cache = Settings.model_fields["model_cache"].default
    text, image = get_text_encoder(DEFAULT_MODEL, cache), get_image_encoder(DEFAULT_MODEL, cache)
    print(f"{n} images from {args.data}, model {DEFAULT_MODEL!r}, cache {cache}")

    t0 = time.perf_counter()
    vecs = []
    for i in range(0, n, BATCH):
        ims = [
            Image.open(args.data.parent / r["image"]).convert("RGB") for r in rows[i : i + BATCH]
        ]
        vecs.append(image.encode(ims))
    img = np.concatenate(vecs)
    img /= np.linalg.norm(img, axis=1, keepdims=True)
    print(f"images encoded in {time.perf_counter() - t0:.1f}s")

    # Non-match partner: a random other image (shift by 1..n-1, so never the image itself).
    rng = np.random.default_rng(args.seed)
    parts: dict[str, tuple[np.ndarray, ...]] = {}
    for lang in ("en", "zh"):
        t0 = time.perf_counter()
        caps = [c for r in rows for c in r[f"captions_{lang}"][:5]]
        owner = np.repeat(np.arange(n), 5)
        q = np.concatenate(
            [text.encode_queries(caps[i : i + BATCH]) for i in range(0, len(caps), BATCH)]
        )
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        other = (owner + rng.integers(1, n, size=len(owner))) % n
        match = np.einsum("ij,ij->i", q, img[owner])
        non = np.einsum("ij,ij->i", q, img[other])
        print(f"{lang}: {len(caps)} captions encoded in {time.perf_counter() - t0:.1f}s")
        parts[lang] = (owner, match, non)

    half = n // 2

    def split(lang: str, first: bool) -> tuple[np.ndarray, np.ndarray]:
        owner, match, non = parts[lang]
        keep = owner < half if first else owner >= half
        x = np.concatenate([match[keep], non[keep]])
        y = np.concatenate([np.ones(keep.sum()), np.zeros(keep.sum())])
        return x, y

    def pooled(first: bool) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = zip(*(split(lang, first) for lang in parts), strict=True)
        return np.concatenate(xs), np.concatenate(ys)

    print(f"\ntrain: images 0..{half - 1}, test: images {half}..{n - 1}\n")
    fits = {lang: report(lang, split(lang, True), split(lang, False)) for lang in parts}
    fits["pooled"] = report("pooled", pooled(True), pooled(False))
    a, b = fits["pooled"]
    for lang in parts:
        x, y = split(lang, False)
        brier = float(np.mean((sigmoid(x, a, b) - y) ** 2))
        print(f"  pooled fit on {lang} second half: Brier={brier:.4f}")
    print("\nfitted (a, b):")
    for k, (a, b) in fits.items():
        print(f"  {k:6s} a={a:.4f} b={b:.4f}")
    print(f"cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
