"""Fit core.relevance's calibration on Flickr8k dev-A, check it on dev-B (issue #14).

collect  every caption of a half as a words query against the libraries `eval retrieval
         --library DIR` built for it (DIR/images: the images alone; DIR/captions-<lang>: the
         images plus every caption as a text document), through Searcher.lists, the very
         lists `search` ranks; saved as a pickle.
fit      a logistic regression (numpy, Newton steps, L2 1e-6) per kind of evidence and
         language on those lists, labels "is this a right answer": the query's own image;
         for documents, the other captions of that image (the query's own caption, as a
         document, is left out: it is the query). The keyword terms are fitted on the
         documents, the only ones with keyword evidence in this data. Prints the
         CALIBRATION block for src/assetloom/core/relevance.py and its dev-A reliability.
check    reliability (p vs observed in bins, per language) and R@1/5/10 of the ranking
         variants on another half's lists: today's rank fusion (keywords at 0.7 / 0), and
         calibrated relevance with the given coefficients.

E="tools/fit_relevance.py"; D=/tmp/rankR
python $E collect --root $D/evalA --data $D/devA.jsonl --out $D/listsA.pkl
python $E fit --lists $D/listsA.pkl
python $E check --lists $D/listsB.pkl
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import pickle
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

from assetloom.core.ranking import fuse, rank_by_relevance
from assetloom.core.relevance import CALIBRATION, Evidence, features

KINDS = ("picture", "text")


def _remember_queries(queries: Path, lang: str) -> None:
    """Query vectors encoded beforehand in one batch (tools/search_levers.py's texts.npz, of
    the same encoder) into search's query cache: e5 is most of each search's CPU time."""
    from assetloom.app import search
    from assetloom.models.registry import get_text_encoder

    vectors = np.load(queries / "texts.npz")[lang]
    items = [json.loads(x) for x in (queries / "dev.jsonl").read_text().splitlines() if x]
    texts = [c.strip() for it in items for c in it[f"captions_{lang}"]]
    name = get_text_encoder("offline").name
    search.QUERY_CACHE_SIZE = 10**6
    for text, vector in zip(texts, vectors, strict=True):
        search._query_cache[(name, text)] = vector


def collect(
    root: Path, data: Path, out: Path, limit: int | None, per_image: int, queries: Path | None
) -> None:
    from assetloom.app.evaluation import _add_captions, load_pairs
    from assetloom.app.library import Library
    from assetloom.app.search import Searcher, SearchQuery

    rows: list[dict[str, Any]] = []
    for lang in ("en", "zh"):
        pairs = load_pairs(data, lang)[:limit]
        if queries is not None:
            _remember_queries(queries, lang)
        folder = root / f"captions-{lang}"
        if not (folder / "assetloom.toml").exists():  # as `eval retrieval --library` makes it
            shutil.copytree(root / "images", folder)
        with Library.open(root / "images") as images_lib, Library.open(folder) as lib:
            report = lib.add([p for p, _ in pairs])
            ids = {Path(o.file).resolve(): o.asset_id for o in report.added + report.present}
            image_ids = [ids[p.resolve()] for p, _ in pairs]
            keys = [(i, j) for i, (_, cs) in enumerate(pairs) for j in range(len(cs))]
            doc_of = dict(zip(keys, _add_captions(lib, pairs, folder / "captions"), strict=True))
            searchers = {"images": Searcher(images_lib), "captions": Searcher(lib)}
            for i, (_, captions) in enumerate(pairs):
                for j, caption in enumerate(captions[:per_image]):
                    for mode, searcher in searchers.items():  # one encoding: the query cache
                        lists = searcher.lists(SearchQuery(text=caption), 100)
                        own = doc_of[(i, j)] if mode == "captions" else None
                        rows.append(
                            {
                                "lang": lang,
                                "mode": mode,
                                "lists": {
                                    s: [(a, d.get("similarity")) for a, d in items]
                                    for s, items in lists.items()
                                },
                                "image": image_ids[i],
                                "images": set(image_ids),
                                "self": own,
                                "siblings": {doc_of[(i, n)] for n in range(len(captions)) if n != j}
                                - {own}
                                if mode == "captions"
                                else set(),
                            }
                        )
                if i % 100 == 0:
                    print(lang, i, len(rows), file=sys.stderr, flush=True)
    out.write_bytes(pickle.dumps(rows))


def _lists(row: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    return {
        s: [(a, {"similarity": sim} if sim is not None else {}) for a, sim in items]
        for s, items in row["lists"].items()
        if s != "backbone"
    }


def _evidence(row: dict[str, Any]) -> list[tuple[str, Evidence, int]]:
    """(kind, evidence, label) of every candidate: as rank_by_relevance sees it."""
    lists = _lists(row)
    out = []
    best = {s: items[0][1]["similarity"] for s, items in lists.items() if items and s != "keyword"}
    for kind, source in (("picture", "visual"), ("text", "text")):
        for a, d in lists.get(source, []):
            if a == row["self"]:
                continue
            ev = Evidence()
            cos = d["similarity"]
            if kind == "picture":
                ev.picture, ev.picture_best = cos, best[source]
                label = int(a == row["image"])
            else:
                ev.text, ev.text_best = cos, best[source]
                label = int(a in row["siblings"])
            kw = [x for x, _ in lists.get("keyword", [])]
            if a in kw:
                ev.keyword_rank = kw.index(a) + 1
            out.append((kind, ev, label))
    return out


def _logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-6, steps: int = 100) -> np.ndarray:
    """Newton's method on the mean log-loss plus l2 * |w|^2 (intercept not penalised)."""
    w = np.zeros(x.shape[1])
    pen = np.full(x.shape[1], l2)
    pen[0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) / len(y) + 2 * pen * w
        hess = (x * (p * (1 - p))[:, None]).T @ x / len(y) + np.diag(2 * pen)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit(path: Path) -> dict[str, Any]:
    rows = pickle.loads(path.read_bytes())
    calib: dict[str, Any] = {"picture": {}, "text": {}}
    kw_x, kw_y, kw_base = [], [], []
    for kind in KINDS:
        for lang in ("en", "zh"):
            mode = "images" if kind == "picture" else "captions"
            xs, ys = [], []
            for row in rows:
                if row["lang"] != lang or row["mode"] != mode:
                    continue
                for k, ev, label in _evidence(row):
                    if k != kind:
                        continue
                    f = features(ev)
                    xs.append([1.0, f[f"{kind}_cosine"], f[f"{kind}_gap"]])
                    ys.append(label)
                    if kind == "text":
                        kw_x.append([f.get("keyword_hit", 0.0), f.get("keyword_top", 0.0)])
                        kw_y.append(label)
                        kw_base.append((lang, xs[-1]))
            w = _logistic(np.array(xs), np.array(ys, dtype=float))
            calib[kind][lang] = {"bias": w[0], "cosine": w[1], "gap": w[2]}
            print(f"{kind} {lang}: {len(ys)} candidates, {sum(ys)} right; w={w.round(3)}")
    # Keyword terms: fitted with the text model's logit held as an offset.
    base = np.array(
        [
            calib["text"][lang]["bias"]
            + calib["text"][lang]["cosine"] * x[1]
            + calib["text"][lang]["gap"] * x[2]
            for lang, x in kw_base
        ]
    )
    # One term, 1/sqrt(rank): the data holds few keyword hits (a caption's words are all in
    # few other captions), too few to fit a separate constant for "any hit" as well.
    kx, ky = np.array(kw_x)[:, 1:], np.array(kw_y, dtype=float)
    w = np.zeros(1)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(base + kx @ w)))
        grad = kx.T @ (p - ky) / len(ky) + 2e-6 * w
        hess = (kx * (p * (1 - p))[:, None]).T @ kx / len(ky) + np.eye(1) * 2e-6
        w -= np.linalg.solve(hess, grad)
    calib["keyword"] = {"hit": 0.0, "top": w[0]}
    print(f"keyword: {int((kx[:, 0] > 0).sum())} candidates with a hit; w={w.round(3)}")
    rounded = {
        kind: {lang: {k: round(float(v), 4) for k, v in c.items()} for lang, c in by.items()}
        if kind != "keyword"
        else {k: round(float(v), 4) for k, v in by.items()}
        for kind, by in calib.items()
    }
    return rounded


def reliability(rows: list[dict[str, Any]], calibration: dict[str, Any]) -> None:
    """Observed share of right answers per bin of predicted relevance, top-10 of each query
    as `search` ranks them (what users see and `--min-score` cuts)."""
    for lang in ("en", "zh"):
        for mode in ("images", "captions"):
            pred, obs = [], []
            for row in rows:
                if row["lang"] != lang or row["mode"] != mode:
                    continue
                ranked = rank_by_relevance(_lists(row), lang, calibration)
                ranked = [f for f in ranked if f.asset_id != row["self"]][:10]
                for f in ranked:
                    right = f.asset_id == row["image"] or f.asset_id in row["siblings"]
                    pred.append(f.score)
                    obs.append(float(right))
            if not pred:
                continue
            p, o = np.array(pred), np.array(obs)
            bins = [0, 0.05, 0.1, 0.2, 0.4, 0.6, 1.0001]
            cells = []
            for lo, hi in itertools.pairwise(bins):
                m = (p >= lo) & (p < hi)
                if m.sum():
                    cells.append(
                        f"[{lo:.2f},{min(hi, 1):.2f}) n={m.sum()} p={p[m].mean():.3f} "
                        f"obs={o[m].mean():.3f}"
                    )
            ece = sum(
                abs(p[(p >= lo) & (p < hi)].mean() - o[(p >= lo) & (p < hi)].mean())
                * ((p >= lo) & (p < hi)).sum()
                for lo, hi in itertools.pairwise(bins)
                if ((p >= lo) & (p < hi)).sum()
            ) / len(p)
            print(f"{lang} {mode}: top-10 ECE {ece:.4f}; " + "; ".join(cells))


def recalls(rows: list[dict[str, Any]], calibration: dict[str, Any]) -> None:
    """text→image R@1/5/10 of the variants (images only, as `search --type image` ranks)."""
    variants = {
        "rrf kw 0.7": lambda lists, lang: fuse(lists, {"visual": 1, "text": 1, "keyword": 0.7}),
        "rrf kw 0": lambda lists, lang: fuse(lists, {"visual": 1, "text": 1, "keyword": 0.0}),
        "calibrated": lambda lists, lang: rank_by_relevance(lists, lang, calibration),
    }
    for mode in ("images", "captions"):
        for lang in ("en", "zh"):
            sub = [r for r in rows if r["lang"] == lang and r["mode"] == mode]
            if not sub:
                continue
            for name, rank in variants.items():
                at = {1: 0, 5: 0, 10: 0}
                for row in sub:
                    ids = [
                        f.asset_id for f in rank(_lists(row), lang) if f.asset_id in row["images"]
                    ]
                    pos = ids.index(row["image"]) + 1 if row["image"] in ids else math.inf
                    for k in at:
                        at[k] += pos <= k
                n = len(sub)
                print(
                    f"{mode} {lang} {name}: "
                    + " ".join(f"R@{k} {v / n:.3f}" for k, v in at.items())
                )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--root", type=Path, required=True)
    c.add_argument("--data", type=Path, required=True)
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--limit", type=int, help="only the first N images")
    c.add_argument("--per-image", type=int, default=2, help="queries per image (captions)")
    c.add_argument("--queries", type=Path, help="folder with texts.npz and its dev.jsonl")
    f = sub.add_parser("fit")
    f.add_argument("--lists", type=Path, required=True)
    k = sub.add_parser("check")
    k.add_argument("--lists", type=Path, required=True)
    k.add_argument("--calibration", type=Path, help="JSON; default: the shipped one")
    args = ap.parse_args()
    if args.cmd == "collect":
        collect(args.root, args.data, args.out, args.limit, args.per_image, args.queries)
    elif args.cmd == "fit":
        calib = fit(args.lists)
        print(json.dumps(calib, indent=2))
        rows = pickle.loads(args.lists.read_bytes())
        reliability(rows, calib)
        recalls(rows, calib)
    else:
        calib = json.loads(args.calibration.read_text()) if args.calibration else CALIBRATION
        rows = pickle.loads(args.lists.read_bytes())
        reliability(rows, calib)
        recalls(rows, calib)


if __name__ == "__main__":
    main()
