"""Per-tag precision and recall of zero-shot tags: the head alone vs with ImageNet agreement (#14).

    nice -n 10 .venv/bin/python bench/tag_eval.py [--cache /tmp/assetloom-tagset] [--json OUT]

Two sets:

- the labelled set outside Flickr8k (bench/data/tag_set.json, rebuilt by bench/tag_set.py): a tag
  assigned that is in the image's "tags" is right, one in neither "tags" nor "ok" is wrong, one in
  "ok" counts neither way; recall is over "tags";
- Flickr8k dev (1,000 images): weak labels from the captions as in tools/calibrate_tags.py, tags
  with at least 10 positives.

"before" is the alignment head alone (what ingest did until #14), "after" the shipped agreement
rule (tagging/agreement.py). Embeddings are cached under the cache folder and /tmp/assetloom-tags.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from assetloom.models import backbone, get_image_encoder, get_text_encoder
from assetloom.tagging import Tagger, load_builtin_definitions
from assetloom.tagging.imagenet import load_view

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tools"))
from calibrate_tags import weak_labels  # noqa: E402
from tag_set import LABELS, build  # noqa: E402

MODELS = Path.home() / ".cache" / "assetloom" / "models"


def embed(paths: list[str], cached: Path) -> tuple[np.ndarray, np.ndarray]:
    if not cached.is_file():
        encoder = get_image_encoder("offline", MODELS)
        visual, features = [], []
        for lo in range(0, len(paths), 32):
            v, f = encoder.encode_with_features(
                [backbone.open_image(p) for p in paths[lo : lo + 32]]
            )
            visual.append(v)
            features.append(f)
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached, visual=np.concatenate(visual), features=np.concatenate(features))
    with np.load(cached) as data:
        return data["visual"], data["features"]


def shown(scores: np.ndarray, max_tags: int) -> np.ndarray:
    """What Tagger.assign keeps: tags at 0.5 or more, the best `max_tags` per image."""
    rank = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1)
    return (scores >= 0.5) & (rank < max_tags)


def counts(
    assigned: np.ndarray, right: np.ndarray, neutral: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per tag: true positives, false positives (not right, not neutral), false negatives."""
    tp = (assigned & right).sum(0)
    fp = (assigned & ~right & ~neutral).sum(0)
    fn = (~assigned & right).sum(0)
    return tp, fp, fn


def summary(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, n: int) -> dict[str, float]:
    p = float(tp.sum() / max(tp.sum() + fp.sum(), 1))
    r = float(tp.sum() / max(tp.sum() + fn.sum(), 1))
    return {
        "micro_precision": round(p, 3),
        "micro_recall": round(r, 3),
        "micro_f0.5": round(1.25 * p * r / max(0.25 * p + r, 1e-9), 3),
        "wrong_tags_per_image": round(float(fp.sum() / n), 2),
        "right_tags_per_image": round(float(tp.sum() / n), 2),
    }


def per_tag(
    keys: list[str], before: tuple[np.ndarray, ...], after: tuple[np.ndarray, ...], min_n: int
) -> dict[str, str]:
    """'P before -> after, R before -> after (positives)' for tags with enough evidence."""
    out = {}
    for j, key in enumerate(keys):
        tp0, fp0, fn0 = (c[j] for c in before)
        tp1, fp1, _ = (c[j] for c in after)
        positives = tp0 + fn0
        if positives < min_n and tp0 + fp0 < min_n and tp1 + fp1 < min_n:
            continue

        def p(tp: int, fp: int) -> str:
            return f"{tp / (tp + fp):.2f}" if tp + fp else "  - "

        out[key] = (
            f"P {p(tp0, fp0)} -> {p(tp1, fp1)} ({tp0 + fp0} -> {tp1 + fp1} assigned), "
            f"R {tp0 / max(positives, 1):.2f} -> {tp1 / max(positives, 1):.2f} "
            f"({positives} positives)"
        )
    return out


def evaluate(
    tagger: Tagger,
    visual: np.ndarray,
    features: np.ndarray,
    right: np.ndarray,
    neutral: np.ndarray,
    min_n: int,
    groups: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    keys = tagger.keys
    before = shown(tagger.scores(visual), tagger.max_tags)
    after = shown(tagger.scores(visual, features), tagger.max_tags)
    c0, c1 = counts(before, right, neutral), counts(after, right, neutral)
    report: dict[str, Any] = {
        "images": len(visual),
        "before": summary(*c0, len(visual)),
        "after": summary(*c1, len(visual)),
    }
    if groups:
        report["by_category_after"] = {
            g: summary(*counts(after[rows], right[rows], neutral[rows]), int(rows.sum()))
            for g, rows in groups.items()
        }
    report["per_tag"] = per_tag(keys, c0, c1, min_n)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/assetloom-tagset"))
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()

    definitions = load_builtin_definitions()
    keys = [d.key for d in definitions]
    column = {k: j for j, k in enumerate(keys)}
    text_encoder = get_text_encoder("offline", MODELS)
    view = load_view(MODELS)
    tagger = Tagger(definitions, text_encoder, cache_dir=MODELS, imagenet=view)

    manifest = build(args.cache, args.cache / "set")
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["images"]
    encoder_name = get_image_encoder("offline", MODELS).name
    visual, features = embed(
        [manifest[x["id"]] for x in labels], args.cache / f"vectors-{encoder_name}.npz"
    )
    right = np.zeros((len(labels), len(keys)), bool)
    neutral = np.zeros_like(right)
    for i, x in enumerate(labels):
        right[i, [column[t] for t in x["tags"]]] = True
        neutral[i, [column[t] for t in x["ok"]]] = True
    categories = np.array([x["category"] for x in labels])
    groups = {c: categories == c for c in sorted(set(categories))}
    photos = ~np.isin(categories, ["drawing", "painting"]) & ~np.array(
        ["synthetic" in x for x in labels]
    )
    report = {"set": evaluate(tagger, visual, features, right, neutral, 3, groups)}
    # `outside` cannot be chosen on dev (every dev photo is in the head's domain): it was chosen
    # on the even-numbered half of the set; the odd half is the check.
    even = np.arange(len(labels)) % 2 == 0
    grid = {}
    for t in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0):
        rule = dataclasses.replace(view.rule, outside=t)
        probe = Tagger(
            definitions,
            text_encoder,
            cache_dir=MODELS,
            imagenet=dataclasses.replace(view, rule=rule),
        )
        after = shown(probe.scores(visual, features), probe.max_tags)
        grid[f"{t:g}"] = {
            half: summary(*counts(after[rows], right[rows], neutral[rows]), int(rows.sum()))
            for half, rows in (("even", even), ("odd", ~even))
        }
    report["outside_grid"] = grid
    report["set_photos_only"] = {
        k: v
        for k, v in evaluate(
            tagger, visual[photos], features[photos], right[photos], neutral[photos], 3
        ).items()
        if k != "per_tag"
    }

    data = Path(os.environ.get("ASSETLOOM_SHARED", "/work/shared")) / "data" / "flickr8k"
    records = [json.loads(line) for line in (data / "dev.jsonl").read_text().splitlines() if line]
    dev_visual, dev_features = embed(
        [str(data / r["image"]) for r in records],
        Path("/tmp/assetloom-tags") / f"dev-{encoder_name}-features-{len(records)}.npz",
    )
    vocabulary = json.loads(
        (REPO / "src/assetloom/tagging/vocabulary.json").read_text(encoding="utf-8")
    )
    y = weak_labels(records, vocabulary["tags"])
    eligible = y.sum(0) >= 10
    dev = evaluate(tagger, dev_visual, dev_features, y & eligible, ~eligible[None, :] & ~y, 10)
    report["dev"] = dev
    text = json.dumps(report, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
