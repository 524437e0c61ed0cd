"""Train the offline image→e5 alignment head on captioned images (Flickr8k en + Flickr8k-CN).

Kept out of the runtime package: it needs the training data and runs for minutes, the runtime only
loads the head it writes. Work is split so the slow parts run once:

  extract-text    e5 `query:` embeddings of every caption        -> CACHE/text_<split>.npz
  extract-images  frozen-trunk features of augmented views -> CACHE/img_<split>_{tail,mid}.npy
  train           contrastive training of the head on the caches   -> weights .npz + report
  evaluate        dev figures of a saved head (halves A and B, and all of dev)
  baseline        the ConSE zero-shot baseline on dev, for comparison

Defaults are the stage-1 recipe of the shipped head. To reproduce it (about 15 min of extraction
and 10 of training on two idle cores, 35 + 15 on the loaded machine it was made on), run
from the repository root:

  T="python tools/train_alignment.py --data ../shared/data/flickr8k --cache /tmp/align"
  $T extract-text && $T extract-images
  $T baseline
  $T train --save --out /tmp/align/stage1.npz
  $T train --init /tmp/align/stage1.npz --tail-lr 1e-4 --lr 3e-4 --epochs 4 --batch 256 \\
      --captions all --save --out src/assetloom/models/weights/alignment_head.npz
  $T evaluate src/assetloom/models/weights/alignment_head.npz
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from assetloom.models.alignment import AlignmentHead
from assetloom.models.finetune import (
    clamped_scale,
    learnable_logit_scale,
    lr_factor,
    multi_positive_loss,
    top_parameters,
    train_mode,
    training_views,
)

DEFAULT_DATA = Path(os.environ.get("ASSETLOOM_SHARED", "../shared")) / "data" / "flickr8k"
SPLITS = ("train", "dev")


def load_split(data: Path, split: str) -> list[dict]:
    with open(data / f"{split}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def cmd_extract_text(args: argparse.Namespace) -> None:
    """Captions are embedded as queries: at search time a caption-like text is the query."""
    from assetloom.models.text_e5 import E5TextEncoder

    encoder = E5TextEncoder()
    args.cache.mkdir(parents=True, exist_ok=True)
    for split in args.splits.split(","):
        rows = load_split(args.data, split)
        out = {}
        for lang in ("en", "zh"):
            texts = [c for r in rows for c in r[f"captions_{lang}"]]
            start = time.perf_counter()
            emb = np.concatenate(
                [encoder.encode_queries(texts[i : i + 256]) for i in range(0, len(texts), 256)]
            )
            rate = len(texts) / (time.perf_counter() - start)
            print(f"{split} {lang}: {len(texts)} captions, {rate:.0f} texts/s", flush=True)
            out[lang] = emb.reshape(len(rows), -1, emb.shape[1]).astype(np.float16)
        np.savez(args.cache / f"text_{split}.npz", **out)


def _views(path: Path, n_views: int, seed: int) -> list[np.ndarray]:
    return training_views(Image.open(path), n_views, np.random.default_rng(seed))


def cmd_extract_images(args: argparse.Namespace) -> None:
    """Run the frozen trunk once per view; training then never touches pixels again."""
    import torch

    from assetloom.models import backbone

    class Trunk(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = backbone.load_efficientnet_lite2()

        def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return backbone.stem_to_tail(self.net, image)

    onnx_path = args.cache / "trunk.onnx"
    backbone.export_onnx(Trunk(), onnx_path, ["tail_in", "mid"])
    session = backbone.onnx_session(onnx_path)
    pool = ThreadPoolExecutor(2)
    for split in args.splits.split(","):
        rows = load_split(args.data, split)
        n_views = args.views if split == "train" else args.dev_views
        shape = (len(rows), n_views)
        tail = np.lib.format.open_memmap(
            args.cache / f"img_{split}_tail.npy", "w+", np.float16, (*shape, 208, 7, 7)
        )
        mid = np.lib.format.open_memmap(
            args.cache / f"img_{split}_mid.npy", "w+", np.float16, (*shape, 240)
        )
        start = time.perf_counter()
        batch = max(1, 32 // n_views)
        jobs = [
            (i, args.data / row["image"], n_views, args.seed * 1_000_003 + i)
            for i, row in enumerate(rows)
        ]
        for lo in range(0, len(jobs), batch):
            chunk = jobs[lo : lo + batch]
            views = list(pool.map(lambda j: _views(*j[1:]), chunk))
            x = np.stack([v for vs in views for v in vs])
            t, m = session.run(None, {"image": x})
            tail[lo : lo + len(chunk)] = t.reshape(len(chunk), n_views, *t.shape[1:])
            mid[lo : lo + len(chunk)] = m.reshape(len(chunk), n_views, -1)
            if lo % (batch * 50) == 0:
                done = lo + len(chunk)
                rate = done * n_views / (time.perf_counter() - start)
                print(f"{split}: {done}/{len(rows)} images, {rate:.0f} views/s", flush=True)
        tail.flush()
        mid.flush()
        print(f"{split}: done in {time.perf_counter() - start:.0f}s", flush=True)


def dev_halves(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Dev is split in two fixed halves: settings are chosen on A, B stays unseen until the end."""
    return np.arange(n // 2), np.arange(n // 2, n)


def _load_split_cache(cache: Path, split: str) -> dict[str, np.ndarray]:
    text = np.load(cache / f"text_{split}.npz")
    return {
        "tail": np.load(cache / f"img_{split}_tail.npy", mmap_mode="r"),
        "mid": np.load(cache / f"img_{split}_mid.npy"),
        "en": text["en"].astype(np.float32),
        "zh": text["zh"].astype(np.float32),
    }


class Inputs:
    """What the trainable part of the head sees for (image, view) pairs.

    With the top frozen and no attention pooling, the pooled 7×7 map is fixed per view, so it is
    computed once (and kept on disk) and an epoch costs only the MLP: seconds, not minutes.
    """

    def __init__(self, head: AlignmentHead, cache: dict[str, np.ndarray], pooled_path: Path | None):
        self.head, self.cache, self.pooled = head, cache, None
        if pooled_path is not None:
            if not pooled_path.is_file():
                pooled = self._pool_all(cache["tail"], pooled_path.with_suffix(".onnx"))
                np.save(pooled_path, pooled)
            self.pooled = np.load(pooled_path, mmap_mode="r")

    def _pool_all(self, tail: np.ndarray, onnx_path: Path) -> np.ndarray:
        """Frozen top + pooling over every view, through ONNX Runtime (3× torch on CPU)."""
        from assetloom.models.backbone import export_onnx, onnx_session

        class TopPool(torch.nn.Module):
            def __init__(self, head: AlignmentHead) -> None:
                super().__init__()
                self.head = copy.deepcopy(head)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.head.global_pool(self.head.feature_map(x))

        export_onnx(
            TopPool(self.head), onnx_path, ["pooled"], example=torch.zeros(1, *tail.shape[2:])
        )
        session = onnx_session(onnx_path)
        n, v = tail.shape[:2]
        flat = tail.reshape(n * v, *tail.shape[2:])
        out = [
            session.run(None, {"image": np.asarray(flat[lo : lo + 256], dtype=np.float32)})[0]
            for lo in range(0, len(flat), 256)
        ]
        return np.concatenate(out).astype(np.float16).reshape(n, v, -1)

    def forward(self, idx: np.ndarray, views: np.ndarray) -> torch.Tensor:
        mid = torch.from_numpy(self.cache["mid"][idx, views].astype(np.float32))
        if self.pooled is not None:
            pooled = torch.from_numpy(self.pooled[idx, views].astype(np.float32))
            return self.head.project(pooled, mid)
        tail = torch.from_numpy(self.cache["tail"][idx, views].astype(np.float32))
        return self.head(tail, mid)

    def embed(self, views: tuple[int, ...] = (0,)) -> np.ndarray:
        """Head outputs per image, averaged over `views` (test-time augmentation when > 1)."""
        self.head.eval()
        n = len(self.cache["mid"])
        out = np.zeros((n, self.head.config.out_dim), np.float32)
        with torch.no_grad():
            for view in views:
                for lo in range(0, n, 250):
                    idx = np.arange(lo, min(lo + 250, n))
                    out[idx] += self.forward(idx, np.full(len(idx), view)).numpy()
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def evaluate(image_emb: np.ndarray, data: dict[str, np.ndarray], idx: np.ndarray) -> dict:
    """text→image and image→text metrics on the images `idx`, per language."""
    from assetloom.core.retrieval_metrics import retrieval_metrics

    result = {}
    for lang in ("en", "zh"):
        texts = data[lang][idx]  # (n, 5, d)
        n, per, d = texts.shape
        sim = texts.reshape(n * per, d) @ image_emb[idx].T
        result[lang] = retrieval_metrics(sim, np.repeat(np.arange(n), per))
    return result


def brief(metrics: dict) -> str:
    return "  ".join(
        f"{lang} t2i R@1 {m['text_to_image']['R@1']:.3f} R@10 {m['text_to_image']['R@10']:.3f}"
        f" i2t R@1 {m['image_to_text']['R@1']:.3f}"
        for lang, m in metrics.items()
    )


def selection_score(metrics: dict) -> float:
    """Mean text→image R@1 and R@10 over both languages: the figures the targets name."""
    return float(
        np.mean([m["text_to_image"][k] for m in metrics.values() for k in ("R@1", "R@10")])
    )


def one_caption_loss(
    img: torch.Tensor,
    train: dict[str, np.ndarray],
    idx: np.ndarray,
    langs: list[str],
    scale: torch.Tensor,
    rng: np.random.Generator,
) -> torch.Tensor:
    """CLIP's symmetric InfoNCE with one random caption per image, per language."""
    target = torch.arange(len(idx))
    loss = torch.zeros(())
    for lang in langs:
        pick = rng.integers(0, train[lang].shape[1], len(idx))
        logits = scale * img @ torch.from_numpy(train[lang][idx, pick]).T
        loss = loss + (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    return loss / len(langs)


def all_captions_loss(img: torch.Tensor, texts: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE over every caption of every image in the batch (texts: (n, k, d)).

    Captions cost nothing here (precomputed), so using all 10 per image beats sampling one.
    """
    n, k, d = texts.shape
    positive = torch.arange(n).repeat_interleave(k)[:, None] == torch.arange(n)[None, :]
    return multi_positive_loss(img, texts.reshape(n * k, d), positive, scale)


def cmd_train(args: argparse.Namespace) -> None:
    from assetloom.models.alignment import HeadConfig, load_head, save_head
    from assetloom.models.backbone import load_efficientnet_lite2

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    torch.set_num_threads(args.threads)
    train = _load_split_cache(args.cache, "train")
    dev = _load_split_cache(args.cache, "dev")
    n_images, n_views = train["tail"].shape[:2]
    n_views = min(n_views, args.views)
    dev_a, dev_b = dev_halves(len(dev["en"]))

    config = HeadConfig(
        hidden=args.hidden,
        attn_heads=args.attn_heads,
        use_max=bool(args.use_max),
        use_mid=bool(args.use_mid),
        dropout=args.dropout,
    )
    net = load_efficientnet_lite2()
    init_metadata: dict[str, object] = {}
    if args.init:
        head, init_metadata = load_head(args.init, net)
        print(f"starting from {args.init} ({head.config})", flush=True)
    else:
        head = AlignmentHead(config, net)
    config = head.config
    top = top_parameters(head)
    top_ids = {id(p) for p in top}
    for p in top:
        p.requires_grad_(args.tail_lr > 0)
    fast = args.tail_lr == 0 and config.attn_heads == 0
    tag = f"pooled{int(config.use_max)}"
    train_in = Inputs(head, train, args.cache / f"{tag}_train.npy" if fast else None)
    dev_in = Inputs(head, dev, args.cache / f"{tag}_dev.npy" if fast else None)
    if not fast:
        print("loading train feature maps into memory", flush=True)
        train["tail"] = np.ascontiguousarray(train["tail"][:, :n_views])

    logit_scale = learnable_logit_scale(args.temperature)
    groups = [
        {"params": [p for p in head.parameters() if id(p) not in top_ids], "lr": args.lr},
        {"params": [logit_scale], "lr": args.lr, "weight_decay": 0.0},
    ]
    if args.tail_lr > 0:
        groups.append({"params": top, "lr": args.tail_lr})
    optimiser = torch.optim.AdamW(groups, weight_decay=args.wd)
    base_lrs = [g["lr"] for g in optimiser.param_groups]
    steps_per_epoch = n_images // args.batch
    total = steps_per_epoch * args.epochs
    warmup = steps_per_epoch

    def set_lr(step: int) -> None:
        for group, base in zip(optimiser.param_groups, base_lrs, strict=True):
            group["lr"] = base * lr_factor(step, warmup, total)

    dev_views = tuple(range(min(dev["mid"].shape[1], 1 + args.tta)))
    langs = args.langs.split(",")
    text_bank = torch.from_numpy(np.concatenate([train[lang] for lang in langs], axis=1))
    best, best_state, best_epoch, history = -1.0, None, 0, []
    step = 0
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train_mode(head)
        order = rng.permutation(n_images)
        losses = []
        for b in range(steps_per_epoch):
            idx = np.sort(order[b * args.batch : (b + 1) * args.batch])
            img = train_in.forward(idx, rng.integers(0, n_views, len(idx)))
            scale = clamped_scale(logit_scale)
            if args.captions == "all":
                loss = all_captions_loss(img, text_bank[idx], scale)
            else:
                loss = one_caption_loss(img, train, idx, langs, scale, rng)
            set_lr(step)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            losses.append(loss.item())
        metrics = evaluate(dev_in.embed(dev_views), dev, dev_a)
        score = selection_score(metrics)
        history.append({"epoch": epoch, "dev_a": metrics, "score": score})
        print(
            f"epoch {epoch:2d} loss {np.mean(losses):.3f} T {1 / float(scale):.4f} "
            f"{time.perf_counter() - start:.0f}s dev-A: {brief(metrics)} score {score:.3f}",
            flush=True,
        )
        if score > best:
            best, best_epoch = score, epoch
            best_state = {k: v.clone() for k, v in head.state_dict().items()}
    assert best_state is not None
    head.load_state_dict(best_state)
    dev_emb = dev_in.embed(dev_views)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    settings.pop("func")
    report = {
        "args": settings,
        "best_epoch": best_epoch,
        "dev_a": evaluate(dev_emb, dev, dev_a),
        "dev_b": evaluate(dev_emb, dev, dev_b),
        "dev_all": evaluate(dev_emb, dev, np.arange(len(dev["en"]))),
    }
    for part in ("dev_a", "dev_b", "dev_all"):
        print(f"best epoch {best_epoch} {part}: {brief(report[part])}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report_path = args.out.with_suffix(".report.json")
    report_path.write_text(json.dumps({**report, "history": history}, indent=1))
    if args.save:
        metadata = {
            "trained_on": "Flickr8k train: 6,000 images, 5 en (Flickr8k) + 5 zh (Flickr8k-CN) "
            "captions each",
            "dev_all": report["dev_all"],
            "best_epoch": best_epoch,
            "args": settings,
            **({"started_from": init_metadata} if init_metadata else {}),
        }
        save_head(head, args.out, metadata)
        print(f"saved {args.out}", flush=True)


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Dev figures of a saved head, with and without the mirrored view averaged in."""
    from assetloom.models.alignment import load_head
    from assetloom.models.backbone import load_efficientnet_lite2

    head, _ = load_head(args.head, load_efficientnet_lite2())
    dev = _load_split_cache(args.cache, "dev")
    tag = f"pooled{int(head.config.use_max)}"
    fast = head.config.attn_heads == 0 and args.head_is_frozen
    dev_in = Inputs(head, dev, args.cache / f"{tag}_dev.npy" if fast else None)
    a, b = dev_halves(len(dev["en"]))
    for views in [(0,), (0, 1)][: dev["mid"].shape[1]]:
        emb = dev_in.embed(views)
        for name, idx in (("dev-A", a), ("dev-B", b), ("dev (all)", np.arange(len(emb)))):
            metrics = evaluate(emb, dev, idx)
            print(f"views {views} {name} ({len(idx)} images): {brief(metrics)}")
            if name == "dev (all)" and args.json:
                print(json.dumps(metrics, indent=1))


def cmd_baseline(args: argparse.Namespace) -> None:
    """ConSE (Norouzi et al. 2014): an image is the probability-weighted mean of the e5
    embeddings of its top ImageNet classes. No training; the floor the head must beat."""
    from assetloom.models.backbone import load_efficientnet_lite2, tail_to_features
    from assetloom.models.text_e5 import E5TextEncoder

    lines = (Path(__file__).parent / "imagenet_classes.txt").read_text().splitlines()
    names = [line for line in lines if line and not line.startswith("#")]
    class_emb = E5TextEncoder().encode_passages(names)
    net = load_efficientnet_lite2()
    dev = _load_split_cache(args.cache, "dev")
    with torch.no_grad():
        tail = torch.from_numpy(np.asarray(dev["tail"][:, 0], dtype=np.float32))
        probs = net._fc(tail_to_features(net, tail)).softmax(dim=-1).numpy()
    top = np.argsort(-probs, axis=1)[:, : args.top]
    weights = np.take_along_axis(probs, top, axis=1)
    image_emb = np.einsum("nk,nkd->nd", weights, class_emb[top])
    image_emb /= np.linalg.norm(image_emb, axis=1, keepdims=True)
    metrics = evaluate(image_emb, dev, np.arange(len(image_emb)))
    print(f"ConSE top-{args.top}, dev (all {len(image_emb)} images): {brief(metrics)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/assetloom-align"))
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extract-text")
    p.add_argument("--splits", default=",".join(SPLITS))
    p.set_defaults(func=cmd_extract_text)
    p = sub.add_parser("extract-images")
    p.add_argument("--views", type=int, default=8)
    p.add_argument("--dev-views", type=int, default=2, help="dev: the image and its mirror")
    p.add_argument("--splits", default=",".join(SPLITS))
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_extract_images)
    p = sub.add_parser("train")
    p.add_argument("--out", type=Path, default=Path("/tmp/assetloom-align/head.npz"))
    p.add_argument("--save", action="store_true", help="write the head (else only the report)")
    p.add_argument("--init", type=Path, help="start from this saved head (its config wins)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--views", type=int, default=99, help="use at most this many views")
    p.add_argument("--langs", default="en,zh", help="caption languages to train on")
    p.add_argument("--captions", choices=["all", "one"], default="one")
    p.add_argument("--tta", type=int, default=1, help="1: average the dev image and its mirror")
    p.add_argument("--temperature", type=float, default=0.05, help="initial; it is learned")
    p.add_argument("--use-max", type=int, default=1)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--tail-lr", type=float, default=0.0, help="0 freezes the last block")
    p.add_argument("--wd", type=float, default=0.05)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--attn-heads", type=int, default=0)
    p.add_argument("--use-mid", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate")
    p.add_argument("head", type=Path)
    p.add_argument("--head-is-frozen", type=int, default=0, help="1: reuse pooled caches")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("baseline")
    p.add_argument("--top", type=int, default=10)
    p.set_defaults(func=cmd_baseline)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
