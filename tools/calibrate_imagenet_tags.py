"""Calibrate the head/ImageNet agreement rule for tags (#14) on Flickr8k.

    nice -n 10 .venv/bin/python tools/calibrate_imagenet_tags.py [--cache-dir DIR] [--dry-run]

Needs src/assetloom/tagging/imagenet_tags.json's "tags" and "no_alone" (tools/imagenet_tags.py).
Writes its "rule", "no_veto" and "person_context" blocks and tagging/flickr_centroids.npz:

1. feature_scale: the median norm of the trunk's pooled features (mirror-averaged) on 300 dev
   images, run exactly through torch; with it the stored unit features give back the
   classifier's probabilities (tagging/imagenet.py).
2. person_context, on the 6,000 train images: for each ImageNet class, how often a person is
   in the photo when the classifier says that class, sum(y·p_c) / (sum(p_c) + PRIOR), where y is
   the caption weak label of "person" (calibrate_tags.weak_labels). The prior pulls classes the
   captioned photos rarely show towards 0, not towards the 78 % base rate: a class never seen
   with people (a web page, a crossword) gives no evidence of one.
3. The head's domain: k-means (K_MEANS centres, seeded) of the train photos' unit features ->
   tagging/flickr_centroids.npz; a picture's familiarity is its mean cosine to the 3 nearest.
4. Thresholds on the 1,000 dev images, each the strictest that costs the head little on its own
   domain, because dev (people, dogs, outdoor sport) cannot show the off-domain errors the rule
   is for; bench/tag_eval.py checks them on the labelled set outside Flickr8k:
   - people: person support a people tag needs; the largest that keeps >= PEOPLE_RECALL of
     the head's true people-tag assignments on dev;
   - agree: support a veto tag needs beside the head; the largest that keeps >= AGREE_RECALL
     of the head's true assignments of veto tags, a mapped tag being exempt from the veto
     (no_veto) where under VETO_KEEP of its own (at least 3) would survive;
   - alone: support that assigns a mapped tag by itself; the lowest whose extra assignments
     on dev are at least ALONE_PRECISION precise by the weak labels;
   - domain: familiarity under which people, scene, action, colour and style tags need
     `outside`; the largest that keeps >= DOMAIN_RECALL of their true assignments on dev.
   `outside` (--outside, default 0.95) cannot be seen on dev at all: it was chosen on the
   even-numbered half of the labelled set (bench/tag_eval.py prints both halves).

Embeddings are cached under /tmp/assetloom-tags, keyed by split and size.
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
from assetloom.tagging.agreement import AgreementRule, Roles, combine
from assetloom.tagging.imagenet import (
    CENTROIDS_FILE,
    MAPPING_FILE,
    ImageNetView,
    load_classifier,
    read_mapping,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibrate_tags import weak_labels

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "assetloom" / "tagging"
K_MEANS = 256
PRIOR = 2.0
"""Pseudo-count of person-less photos each class starts with (step 2)."""
PEOPLE_RECALL = 0.95
AGREE_RECALL = 0.95
DOMAIN_RECALL = 0.95
VETO_KEEP = 0.8
ALONE_PRECISION = 0.3
"""The precision floor under which tools/calibrate_tags.py switches a tag off."""
MIN_POSITIVES = 10
NORM_SAMPLE = 300


def embed(split: str, records: list[dict[str, Any]], root: Path, cache_dir: Path) -> np.ndarray:
    """(visual, features) of a split through the shipped encoder, cached."""
    encoder = get_image_encoder("offline", cache_dir)
    cached = Path("/tmp/assetloom-tags") / f"{split}-{encoder.name}-features-{len(records)}.npz"
    if not cached.is_file():
        visual, features = [], []
        for lo in range(0, len(records), 64):
            images = [backbone.open_image(root / r["image"]) for r in records[lo : lo + 64]]
            v, f = encoder.encode_with_features(images)
            visual.append(v)
            features.append(f)
            print(f"  {split}: {lo + len(images)}/{len(records)}", file=sys.stderr)
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached, visual=np.concatenate(visual), features=np.concatenate(features))
    with np.load(cached) as data:
        return data["visual"], data["features"]


def feature_norm(records: list[dict[str, Any]], root: Path) -> float:
    """Median norm of the exact mirror-averaged pooled features (torch, unnormalised)."""
    cached = Path("/tmp/assetloom-tags") / f"feature-norm-{NORM_SAMPLE}.json"
    if cached.is_file():
        return float(json.loads(cached.read_text())["median"])
    import torch

    net = backbone.load_efficientnet_lite2()
    prep = backbone.Preprocessor(workers=1)
    norms = []
    with torch.no_grad():
        for lo in range(0, min(NORM_SAMPLE, len(records)), 16):
            batch = records[lo : min(lo + 16, NORM_SAMPLE)]
            x = torch.from_numpy(prep([backbone.open_image(root / r["image"]) for r in batch]))
            tail, _ = backbone.stem_to_tail(net, torch.cat([x, x.flip(2)]))
            f = backbone.tail_to_features(net, tail)
            norms.append(((f[: len(batch)] + f[len(batch) :]) / 2).norm(dim=1).numpy())
    median = float(np.median(np.concatenate(norms)))
    cached.write_text(json.dumps({"median": median}))
    return median


def kmeans(x: np.ndarray, k: int, iterations: int = 20, seed: int = 0) -> np.ndarray:
    """Spherical k-means: (k, dim) unit centres of unit vectors."""
    rng = np.random.default_rng(seed)
    centres = x[rng.choice(len(x), k, replace=False)].copy()
    for _ in range(iterations):
        nearest = np.argmax(x @ centres.T, axis=1)
        for j in range(k):
            members = x[nearest == j]
            if len(members):
                centres[j] = members.mean(axis=0)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return centres


def context(probabilities: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Per class: sum(y·p_c) / (sum(p_c) + PRIOR), y whether the captions name it."""
    y = present.astype(np.float64)
    return (y @ probabilities) / (probabilities.sum(axis=0) + PRIOR)


def kept_true(scores: np.ndarray, y: np.ndarray, cols: np.ndarray) -> int:
    return int(((scores[:, cols] >= 0.5) & y[:, cols]).sum())


def choose(
    head: np.ndarray,
    view: ImageNetView,
    features: np.ndarray,
    probabilities: np.ndarray,
    y: np.ndarray,
    keys: list[str],
    people: np.ndarray,
    outside: float,
) -> tuple[AgreementRule, list[str], dict[str, Any]]:
    """The rule's thresholds and the mapped tags exempt from the veto (see module doc)."""
    support = view.support(probabilities, keys)
    person, domain = view.person(probabilities), view.familiarity(features)
    builtin = np.ones(len(keys), bool)
    base = view.roles(keys, list(people), list(builtin))
    mapped = base.alone | base.veto
    none = np.zeros(len(keys), bool)
    eligible = y.sum(axis=0) >= MIN_POSITIVES
    head_true = (head >= 0.5) & y

    def run(roles: Roles, rule: AgreementRule) -> np.ndarray:
        return combine(head, support, person, domain, roles, rule)

    grid: dict[str, Any] = {"people": {}, "agree": {}, "alone": {}, "domain": {}}
    ppl = np.flatnonzero(eligible & base.people)
    base_ppl = kept_true(head, y, ppl)
    people_bar = 0.0
    for t in np.round(np.arange(0.0, 0.81, 0.02), 2):
        roles = Roles(none, none, base.people, none)
        kept = kept_true(run(roles, AgreementRule(0, 2, float(t))), y, ppl)
        grid["people"][f"{t:.2f}"] = round(kept / max(base_ppl, 1), 3)
        if kept >= PEOPLE_RECALL * base_ppl:
            people_bar = float(t)

    # A mapped tag is exempt from the veto where dev shows the classifier silent on it: under
    # VETO_KEEP of its (at least 3) true head assignments would survive.
    agree, exempt = 0.0, np.zeros(len(keys), bool)
    for t in (0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2):
        agreed = head_true & (np.nan_to_num(support) >= t)
        enough = head_true.sum(0) >= 3
        out = mapped & enough & (agreed.sum(0) < VETO_KEEP * head_true.sum(0))
        veto = np.flatnonzero(mapped & ~out & eligible)
        kept = int(agreed[:, veto].sum()) / max(int(head_true[:, veto].sum()), 1)
        grid["agree"][f"{t:g}"] = {"kept": round(kept, 3), "exempt": int(out.sum())}
        if kept >= AGREE_RECALL:
            agree, exempt = t, out
    roles = Roles(mapped & ~exempt, base.alone, base.people, ~(mapped & ~exempt))

    alone = 1.0
    obj = np.flatnonzero(mapped & eligible)
    for t in (0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2):
        scores = run(roles, AgreementRule(agree, t, people_bar))
        extra = (scores[:, obj] >= 0.5) & (head[:, obj] < 0.5)
        precision = (extra & y[:, obj]).sum() / max(extra.sum(), 1)
        grid["alone"][f"{t:g}"] = {"extra": int(extra.sum()), "precision": round(precision, 3)}
        if extra.sum() == 0 or precision >= ALONE_PRECISION:
            alone = t

    gated = np.flatnonzero(eligible & roles.gated)
    base_gated = kept_true(head, y, gated)
    domain_bar = 0.0
    only_gate = Roles(none, none, none, roles.gated)
    for t in np.round(np.arange(0.40, 0.75, 0.01), 2):
        kept = kept_true(run(only_gate, AgreementRule(0, 2, 0, float(t), outside)), y, gated)
        grid["domain"][f"{t:.2f}"] = round(kept / max(base_gated, 1), 3)
        if kept >= DOMAIN_RECALL * base_gated:
            domain_bar = float(t)
    rule = AgreementRule(agree, alone, people_bar, domain_bar, outside)
    return rule, sorted(k for k, e in zip(keys, exempt, strict=True) if e), grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "assetloom" / "models"
    )
    parser.add_argument("--outside", type=float, default=0.95)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    data = Path(os.environ.get("ASSETLOOM_SHARED", "/work/shared")) / "data" / "flickr8k"

    def read(split: str) -> list[dict[str, Any]]:
        lines = (data / f"{split}.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines if line]

    train, dev = read("train"), read("dev")
    vocabulary = json.loads((PACKAGE / "vocabulary.json").read_text(encoding="utf-8"))
    doc = read_mapping(PACKAGE / MAPPING_FILE)
    definitions = load_builtin_definitions()
    keys = [d.key for d in definitions]
    text_encoder = get_text_encoder("offline", args.cache_dir)
    tagger = Tagger(definitions, text_encoder, cache_dir=args.cache_dir)

    scale = feature_norm(dev, data)
    weight, bias = load_classifier(args.cache_dir)
    _, train_features = embed("train", train, data, args.cache_dir)
    centroids = kmeans(train_features.astype(np.float32), K_MEANS).astype(np.float16)
    centroids = centroids.astype(np.float32)  # as shipped
    no_alone = frozenset(doc["no_alone"])
    rule0 = AgreementRule(0, 2, 0)
    zeros = np.zeros(1000, np.float32)
    view = ImageNetView(
        weight, bias, doc["tags"], zeros, centroids, rule0, scale, no_alone=no_alone
    )
    train_y = weak_labels(train, vocabulary["tags"])
    train_person = train_y[:, keys.index("person")]
    person_ctx = context(view.probabilities(train_features), train_person).astype(np.float32)
    view = dataclasses.replace(view, person_context=person_ctx)

    dev_visual, dev_features = embed("dev", dev, data, args.cache_dir)
    y = weak_labels(dev, vocabulary["tags"])
    people = np.array([d.group == "people" for d in definitions])
    dev_p = view.probabilities(dev_features)
    head = tagger.scores(dev_visual)
    rule, no_veto, grid = choose(head, view, dev_features, dev_p, y, keys, people, args.outside)
    report = {
        "feature_scale": round(scale, 3),
        "train_images": len(train),
        "train_person_rate": round(float(train_person.mean()), 3),
        "rule": rule.__dict__,
        "no_veto": no_veto,
        "dev_grid": grid,
    }
    print(json.dumps(report, indent=1))
    if args.dry_run:
        return
    doc["rule"] = {"feature_scale": round(scale, 3), **rule.__dict__}
    doc["no_veto"] = no_veto
    doc["person_context"] = [round(float(v), 4) for v in person_ctx]
    np.savez_compressed(PACKAGE / CENTROIDS_FILE, centroids=centroids.astype(np.float16))
    lines = ["{"]
    keep = ("about", "rule", "no_veto", "no_alone", "person_context")
    lines += [f"{json.dumps(k)}: {json.dumps(doc[k])}," for k in keep]
    lines.append('"tags": {')
    lines.append(",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in doc["tags"].items()))
    lines.append("}}")
    (PACKAGE / MAPPING_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {PACKAGE / MAPPING_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()
