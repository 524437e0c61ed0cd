"""Calibrate the built-in tag vocabulary on Flickr8k dev (1,000 images, 5 English captions each).

    .venv/bin/python tools/calibrate_tags.py [--cache-dir ~/.cache/assetloom/models] [--dry-run]

Weak labels: a tag is positive for an image when any of its captions mentions one of the tag's
`synonyms_en` (whole words, listed forms only). Captions name what is salient, so labels miss
things in the background: measured precision is a lower bound.

Steps, all on the same image vectors (embedded once, cached under /tmp):

1. background statistics of the image vectors (mean + low-rank covariance) -> background.npz, used
   to put tags blended with user examples on the scale of their names (see tagging.tagger);
2. the score slope: a logistic regression of the labels on the cosines, pooled over the tags with
   at least --min-positives positives (score = sigmoid(scale * (cosine - threshold)));
3. thresholds on the cosine, maximising F-beta. beta 0.5 counts precision double: a wrong tag is
   shown to users and pollutes keyword search and filters, while a missed one is still found by
   vector search. Rules, each measured on held-out halves (docs/tags.md):
   - no cut may flag more images than the captions label: otherwise a tag the encoder barely
     separates finds its F-beta optimum in flagging nearly every image;
   - a tag whose best cut stays under --min-precision is switched off (threshold OFF);
   - the default, for tags with fewer than --min-positives positives and for user tags, maximises
     F-beta over the pooled cosines of the tags with enough; a built-in tag with few positives
     also fires on at most 1% of the images (MIN_RATE), the rate its captions would allow.

Figures are two-fold cross-validated (fit on one half of the images, measure on the other), so
they say what the thresholds do on images they were not chosen on. The final fit uses all images
and is written into src/assetloom/tagging/vocabulary.json and background.npz.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from assetloom.models import TextEncoder, get_image_encoder, get_text_encoder
from assetloom.tagging.tagger import (
    BACKGROUND_FILE,
    VOCABULARY_FILE,
    Calibration,
    Tagger,
    load_builtin_definitions,
    read_vocabulary,
    save_background,
)

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "assetloom" / "tagging"
EXAMPLES_PER_USER_TAG = 5
MIN_RATE = 0.01
"""A tag with too few positives to measure may still fire on this share of the dev images."""
OFF = 1.0
"""A cosine no image reaches: the threshold of a tag switched off."""
RECORDED = (
    "images",
    "tags_with_enough_positives",
    "tags_switched_off",
    "min_positives",
    "beta",
    "min_precision",
)
"""Report fields kept in the vocabulary's calibration block."""


def write_vocabulary(doc: dict[str, Any], path: Path) -> None:
    """One tag per line: reviewable diffs when a threshold or a prompt changes."""
    lines = ["{", f'"calibration": {json.dumps(doc["calibration"], ensure_ascii=False)},']
    lines.append('"tags": [')
    tags = [json.dumps(t, ensure_ascii=False) for t in doc["tags"]]
    lines.append(",\n".join(tags))
    lines.append("]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def weak_labels(records: list[dict[str, Any]], tags: list[dict[str, Any]]) -> np.ndarray:
    """(n_images, n_tags) bool: some caption mentions one of the tag's synonyms."""
    patterns = [
        re.compile(r"\b(?:" + "|".join(re.escape(s.lower()) for s in t["synonyms_en"]) + r")\b")
        if t["synonyms_en"]
        else None
        for t in tags
    ]
    labels = np.zeros((len(records), len(tags)), dtype=bool)
    for i, rec in enumerate(records):
        text = " \n ".join(rec["captions_en"]).lower()
        for j, pattern in enumerate(patterns):
            labels[i, j] = pattern is not None and pattern.search(text) is not None
    return labels


def embed_images(
    records: list[dict[str, Any]], root: Path, cache_dir: Path
) -> tuple[np.ndarray, str]:
    """Visual vectors for the dev images, cached per encoder version (the head's digest)."""
    encoder = get_image_encoder("offline", cache_dir)
    cached = Path("/tmp/assetloom-tags") / f"dev-{encoder.name}-{len(records)}.npy"
    if cached.is_file():
        return np.load(cached), encoder.name
    vectors = []
    for lo in range(0, len(records), 64):
        images = [Image.open(root / r["image"]).convert("RGB") for r in records[lo : lo + 64]]
        vectors.append(encoder.encode(images))
        print(f"  embedded {lo + len(images)}/{len(records)} images", file=sys.stderr)
    out = np.concatenate(vectors)
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.save(cached, out)
    return out, encoder.name


def fit_logistic(values: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood sigmoid(a * value + b) by Newton's method (two parameters, convex)."""
    x = np.stack([values.ravel(), np.ones(values.size)], axis=1).astype(np.float64)
    t = y.ravel().astype(np.float64)
    w = np.zeros(2)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - t)
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), float(w[1])


def f_beta(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta: float) -> np.ndarray:
    b2 = beta * beta
    return (1 + b2) * tp / np.maximum((1 + b2) * tp + b2 * fn + fp, 1e-12)


def _cut(sorted_desc: np.ndarray, k: int) -> float:
    """A threshold that exactly the first k+1 values reach, halfway to the next one."""
    if k + 1 < len(sorted_desc):
        return float((sorted_desc[k] + sorted_desc[k + 1]) / 2)
    return float(sorted_desc[k])


def best_threshold(
    values: np.ndarray, labels: np.ndarray, beta: float, min_precision: float = 0.0
) -> float | None:
    """The cut maximising F-beta among those that flag no more images than are labelled and keep
    precision >= min_precision; None when none does (the tag has no usable skill)."""
    order = np.argsort(-values, kind="stable")
    s, y = values[order], labels[order]
    tp = np.cumsum(y)
    flagged = np.arange(1, len(y) + 1)
    ok = (flagged <= y.sum()) & (tp >= min_precision * flagged)
    if not ok.any():
        return None
    f = np.where(ok, f_beta(tp, flagged - tp, y.sum() - tp, beta), -1.0)
    return _cut(s, int(np.argmax(f)))


def at_most(values: np.ndarray, m: int) -> float:
    """The threshold at which at most m of the values fire."""
    return _cut(np.sort(values)[::-1], m - 1)


@dataclass(frozen=True)
class Rules:
    beta: float
    min_precision: float
    """Below this precision at its best cut a tag is switched off."""


@dataclass
class Fit:
    scale: float
    default_threshold: float
    thresholds: np.ndarray
    """Per tag, on the cosine; OFF for tags switched off."""


def calibrate(cosines: np.ndarray, y: np.ndarray, eligible: np.ndarray, rules: Rules) -> Fit:
    scale, _ = fit_logistic(cosines[:, eligible], y[:, eligible])
    default = best_threshold(cosines[:, eligible].ravel(), y[:, eligible].ravel(), rules.beta)
    assert default is not None
    positives = y.sum(axis=0)
    floor = max(1, int(np.ceil(MIN_RATE * len(y))))
    thresholds = np.empty(cosines.shape[1])
    for j in range(cosines.shape[1]):
        if eligible[j]:
            own = best_threshold(cosines[:, j], y[:, j], rules.beta, rules.min_precision)
            thresholds[j] = OFF if own is None else own
        else:
            limit = at_most(cosines[:, j], max(int(positives[j]), floor))
            thresholds[j] = max(default, limit)
    return Fit(scale, default, thresholds)


def counts(values: np.ndarray, y: np.ndarray, thresholds: np.ndarray | float) -> np.ndarray:
    """(3, n_tags) true positives, false positives, false negatives of values >= thresholds."""
    pred = values >= thresholds
    return np.stack([(pred & y).sum(0), (pred & ~y).sum(0), (~pred & y).sum(0)])


def summary(c: np.ndarray, beta: float) -> dict[str, float]:
    tp, fp, fn = c
    micro_p = tp.sum() / max(tp.sum() + fp.sum(), 1)
    micro_r = tp.sum() / max(tp.sum() + fn.sum(), 1)
    p = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
    r = tp / np.maximum(tp + fn, 1)
    return {
        "micro_precision": round(float(micro_p), 3),
        "micro_recall": round(float(micro_r), 3),
        f"micro_f{beta:g}": round(float(f_beta(tp.sum(), fp.sum(), fn.sum(), beta)), 3),
        "macro_precision": round(float(p.mean()), 3),
        "macro_recall": round(float(r.mean()), 3),
        f"macro_f{beta:g}": round(float(f_beta(tp, fp, fn, beta).mean()), 3),
    }


def cross_validate(
    tagger: Tagger,
    text_encoder: TextEncoder,
    cache_dir: Path,
    vectors: np.ndarray,
    y: np.ndarray,
    eligible: np.ndarray,
    rules: Rules,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Held-out figures for per-tag thresholds, the default alone, and example-blended user tags."""
    cos = tagger.cosines(vectors)
    order = np.random.default_rng(seed).permutation(len(vectors))
    halves = [order[: len(order) // 2], order[len(order) // 2 :]]
    cols = np.flatnonzero(eligible)
    per_tag = np.zeros((3, len(cols)), int)
    default_only = np.zeros((3, len(cols)), int)
    text_user, blended_user = np.zeros((3, 0), int), np.zeros((3, 0), int)
    for fit_rows, test_rows in (halves, halves[::-1]):
        fit = calibrate(cos[fit_rows], y[fit_rows], eligible, rules)
        test_cos, test_y = cos[test_rows], y[test_rows]
        per_tag += counts(test_cos[:, cols], test_y[:, cols], fit.thresholds[cols])
        default_only += counts(test_cos[:, cols], test_y[:, cols], fit.default_threshold)
        # User tags: names plus a few positive example images from the fitting half.
        calib = dataclasses.replace(
            tagger.calibration, scale=fit.scale, default_threshold=fit.default_threshold
        )
        users, user_cols = [], []
        for j in cols:
            positives = fit_rows[y[fit_rows, j]][:EXAMPLES_PER_USER_TAG]
            if len(positives) == EXAMPLES_PER_USER_TAG:
                d = tagger.definitions[j]
                users.append(
                    dataclasses.replace(
                        d, threshold=None, builtin=False, examples=list(vectors[positives])
                    )
                )
                user_cols.append(j)
        user_tagger = Tagger(users, text_encoder, calibration=calib, cache_dir=cache_dir)
        user_y = test_y[:, user_cols]
        blended = user_tagger.scores(vectors[test_rows])
        blended_user = np.hstack([blended_user, counts(blended, user_y, 0.5)])
        names_only = test_cos[:, user_cols]
        text_user = np.hstack([text_user, counts(names_only, user_y, fit.default_threshold)])
    return {
        "per_tag_thresholds": summary(per_tag, rules.beta),
        "default_threshold_only": summary(default_only, rules.beta),
        "user_tag_names_only": summary(text_user, rules.beta),
        f"user_tag_names_plus_{EXAMPLES_PER_USER_TAG}_examples": summary(blended_user, rules.beta),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "assetloom" / "models"
    )
    parser.add_argument("--beta", type=float, default=0.5)
    parser.add_argument("--min-positives", type=int, default=10)
    parser.add_argument("--min-precision", type=float, default=0.3)
    parser.add_argument("--dry-run", action="store_true", help="print figures, write nothing")
    args = parser.parse_args()

    shared = Path(os.environ.get("ASSETLOOM_SHARED", "/work/shared"))
    data = shared / "data" / "flickr8k"
    records = [json.loads(line) for line in (data / "dev.jsonl").read_text().splitlines() if line]
    doc = read_vocabulary(PACKAGE / VOCABULARY_FILE)
    definitions = load_builtin_definitions(PACKAGE / VOCABULARY_FILE)
    y = weak_labels(records, doc["tags"])
    positives = y.sum(axis=0)
    eligible = positives >= args.min_positives

    vectors, image_encoder = embed_images(records, data, args.cache_dir)
    text_encoder = get_text_encoder("offline", args.cache_dir)
    background = Calibration.from_vectors(vectors)
    tagger = Tagger(definitions, text_encoder, calibration=background, cache_dir=args.cache_dir)
    # A typical tag's background, for user tags that have examples but no names.
    mu, sigma = background.spread(tagger.vectors)
    background = dataclasses.replace(
        background,
        reference=(float(np.median(mu)), float(np.median(sigma))),
        text_encoder=text_encoder.name,
        image_encoder=image_encoder,
    )
    rules = Rules(args.beta, args.min_precision)
    figures = cross_validate(tagger, text_encoder, args.cache_dir, vectors, y, eligible, rules)
    fit = calibrate(tagger.cosines(vectors), y, eligible, rules)

    report = {
        "images": len(records),
        "tags": len(definitions),
        "tags_with_enough_positives": int(eligible.sum()),
        "min_positives": args.min_positives,
        "beta": args.beta,
        "min_precision": args.min_precision,
        "tags_switched_off": int((fit.thresholds >= OFF).sum()),
        "scale": round(fit.scale, 3),
        "default_threshold": round(fit.default_threshold, 4),
        "held_out": figures,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    print("\nper tag (positives, threshold):", file=sys.stderr)
    for j in np.argsort(-positives):
        if eligible[j]:
            print(
                f"  {definitions[j].key:20s} {positives[j]:4d}  {fit.thresholds[j]:.3f}",
                file=sys.stderr,
            )
    if args.dry_run:
        return

    for t, thr in zip(doc["tags"], fit.thresholds, strict=True):
        t["threshold"] = round(float(thr), 4)
    doc["calibration"] = {
        "text_encoder": text_encoder.name,
        "image_encoder": image_encoder,
        "scale": report["scale"],
        "default_threshold": report["default_threshold"],
        "reference": [round(v, 5) for v in background.reference],
        "data": "Flickr8k dev, weak labels from English captions",
        **{k: report[k] for k in RECORDED},
    }
    write_vocabulary(doc, PACKAGE / VOCABULARY_FILE)
    save_background(background, PACKAGE / BACKGROUND_FILE)
    print(f"wrote {PACKAGE / VOCABULARY_FILE} and {PACKAGE / BACKGROUND_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()
