"""The two-sided adapter lever of issue #14: a light residual map on the query side.

The image side already has its trained head (EfficientNet-Lite2 → e5 space); this trains a
residual map on e5 `query:` vectors, q' = normalise(q + f(q)), against the frozen head's picture
vectors, with the whole training gallery as negatives in every step (6,000 pictures: each
query's hardest negatives are always in the softmax, which is hard-negative mining without
a sampler). Kept out of the runtime package like `train_alignment.py`; the runtime only loads
the weights it writes.

  features   picture vectors (runtime encoder) and caption query vectors   -> CACHE/*.npz
  train      fit variants, choose on dev-A, print dev-A / dev-B           [--save OUT]

  python tools/text_adapter.py --data ../shared/data/flickr8k --cache /tmp/adapter features
  python tools/text_adapter.py --data ../shared/data/flickr8k --cache /tmp/adapter train
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from train_alignment import DEFAULT_DATA, load_split  # the same data, read the same way

LANGS = ("en", "zh")


def cmd_features(args: argparse.Namespace) -> None:
    from rich.progress import track

    from assetloom.ingest.decode import decode_for_models
    from assetloom.models.registry import get_image_encoder, get_text_encoder

    args.cache.mkdir(parents=True, exist_ok=True)
    text = get_text_encoder("offline")
    image = get_image_encoder("offline", cache_dir=args.cache / "graphs")
    for split in ("dev", "train"):
        out = args.cache / f"{split}.npz"
        if out.exists():
            continue
        items = load_split(args.data, split)
        t = time.time()
        pictures = []
        for lo in track(range(0, len(items), 32), description=f"{split} pictures"):
            batch = [decode_for_models(args.data / it["image"]) for it in items[lo : lo + 32]]
            pictures.append(image.encode(batch))
        vectors: dict[str, np.ndarray] = {"pictures": np.concatenate(pictures)}
        for lang in LANGS:
            captions = [c for it in items for c in it[f"captions_{lang}"]]
            owner = np.array([i for i, it in enumerate(items) for _ in it[f"captions_{lang}"]])
            # One e5 engine per core: two calls at a time encode twice as fast.
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                chunks = [captions[lo : lo + 256] for lo in range(0, len(captions), 256)]
                parts = list(
                    track(
                        pool.map(text.encode_queries, chunks),
                        total=len(chunks),
                        description=f"{split} {lang}",
                    )
                )
            vectors[lang], vectors[f"{lang}_owner"] = np.concatenate(parts), owner
        np.savez(out, **vectors)
        print(f"{split}: {len(items)} pictures in {time.time() - t:.0f} s")


def recalls(q: np.ndarray, v: np.ndarray, owner: np.ndarray) -> dict[str, float]:
    sims = q @ v.T
    right = sims[np.arange(len(q)), owner]
    rank = (sims > right[:, None]).sum(axis=1)
    return {f"R@{k}": round(float((rank < k).mean()), 3) for k in (1, 5, 10)}


def dev_figures(dev: dict, adapt) -> dict[str, dict[str, float]]:
    """R@k within each half (500 pictures), as MODEL_CARD.md and search_levers.py report."""
    n = len(dev["pictures"])
    half = n // 2
    out = {}
    for name, lo, hi in (("A", 0, half), ("B", half, n)):
        for lang in LANGS:
            keep = (dev[f"{lang}_owner"] >= lo) & (dev[f"{lang}_owner"] < hi)
            q = adapt(dev[lang][keep], lang)
            owner = dev[f"{lang}_owner"][keep] - lo
            out[f"{name} {lang}"] = recalls(q, dev["pictures"][lo:hi], owner)
    for lang in LANGS:
        out[f"all {lang}"] = recalls(adapt(dev[lang], lang), dev["pictures"], dev[f"{lang}_owner"])
    return out


def dev_a_score(fig: dict) -> float:
    return float(np.mean([fig[f"A {lang}"][k] for lang in LANGS for k in ("R@1", "R@10")]))


def fit(
    train: dict,
    dev: dict,
    *,
    hidden: int,
    per_lang: bool,
    epochs: int,
    lr: float,
    wd: float,
    temperature: float,
    batch: int,
    seed: int,
):
    """Train one variant; returns (best dev-A score, state, epoch)."""
    import torch
    import torch.nn.functional as F

    from assetloom.models.query_adapter import QueryAdapter

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = QueryAdapter(hidden=hidden, langs=LANGS if per_lang else ("all",))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    pictures = torch.from_numpy(train["pictures"].astype(np.float32))
    queries = {lang: torch.from_numpy(train[lang].astype(np.float32)) for lang in LANGS}
    owners = {lang: torch.from_numpy(train[f"{lang}_owner"]) for lang in LANGS}

    def adapt(q: np.ndarray, lang: str) -> np.ndarray:
        with torch.no_grad():
            x = model(torch.from_numpy(q.astype(np.float32)), lang if per_lang else "all")
        return x.numpy()

    best = (dev_a_score(dev_figures(dev, adapt)), None, 0)
    for epoch in range(1, epochs + 1):
        model.train()
        for lang in rng.permutation(LANGS):
            order = torch.from_numpy(rng.permutation(len(queries[lang])))
            for lo in range(0, len(order), batch):
                idx = order[lo : lo + batch]
                q = model(queries[lang][idx], lang if per_lang else "all")
                logits = q @ pictures.T / temperature
                loss = F.cross_entropy(logits, owners[lang][idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        model.eval()
        score = dev_a_score(dev_figures(dev, adapt))
        print(f"  epoch {epoch}: dev-A {score:.4f}")
        if score > best[0]:
            best = (score, {k: v.clone() for k, v in model.state_dict().items()}, epoch)
    return best


def cmd_train(args: argparse.Namespace) -> None:
    import torch

    from assetloom.models.query_adapter import QueryAdapter, save_adapter

    torch.set_num_threads(args.threads)
    train = dict(np.load(args.cache / "train.npz"))
    dev = dict(np.load(args.cache / "dev.npz"))
    base = dev_figures(dev, lambda q, _lang: q)
    print(f"base: dev-A {dev_a_score(base):.4f} {json.dumps(base)}")
    fit_train = recalls(train["zh"][:2500], train["pictures"][:500], train["zh_owner"][:2500])
    print(f"train fit (first 500 pictures, zh): {fit_train}")
    variants = [
        dict(hidden=h, per_lang=p, lr=lr, wd=wd, temperature=t) for h, p, lr, wd, t in args.grid
    ]
    results = []
    for v in variants:
        print(f"variant {v}")
        score, state, epoch = fit(
            train, dev, epochs=args.epochs, batch=args.batch, seed=args.seed, **v
        )
        results.append((score, v, state, epoch))
        print(f"variant {v}: best dev-A {score:.4f} at epoch {epoch}")
    score, v, state, epoch = max(results, key=lambda r: r[0])
    if state is None:
        print("no variant beat the unadapted queries on dev-A")
        return
    model = QueryAdapter(hidden=v["hidden"], langs=LANGS if v["per_lang"] else ("all",))
    model.load_state_dict(state)
    model.eval()

    def adapt(q: np.ndarray, lang: str) -> np.ndarray:
        with torch.no_grad():
            x = torch.from_numpy(q.astype(np.float32))
            return model(x, lang if v["per_lang"] else "all").numpy()

    fig = dev_figures(dev, adapt)
    print(f"chosen {v} epoch {epoch}: dev-A {score:.4f}")
    for key in ("A en", "A zh", "B en", "B zh", "all en", "all zh"):
        print(f"  {key}: base {base[key]} -> {fig[key]}")
    if args.save:
        save_adapter(model, args.save, {**v, "epoch": epoch, "dev": fig, "base": base})
        print(f"wrote {args.save}")


def _grid(text: str) -> list[tuple]:
    out = []
    for part in text.split(";"):
        h, p, lr, wd, t = part.split(",")
        out.append((int(h), p == "1", float(lr), float(wd), float(t)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/assetloom-adapter"))
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("features")
    p = sub.add_parser("train")
    p.add_argument(
        "--grid",
        type=_grid,
        default=_grid("0,0,1e-3,0.01,0.04;0,1,1e-3,0.01,0.04;512,1,1e-3,0.05,0.04"),
        help="variants 'hidden,per_lang,lr,wd,temperature;...' (hidden 0: linear)",
    )
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--save", type=Path)
    args = ap.parse_args()
    {"features": cmd_features, "train": cmd_train}[args.cmd](args)


if __name__ == "__main__":
    main()
