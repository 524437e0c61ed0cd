"""Contrastive training of the alignment head: the core that `assetloom align train` runs on a
library's captioned images and that tools/train_alignment.py uses on Flickr8k.

The recipe is the shipped head's (see MODEL_CARD.md): symmetric InfoNCE with a learnable
temperature, every caption of an image a positive, AdamW with a warm-up and cosine decay, and
augmented views of each image. Fine-tuning a user's head keeps its top (last block and head conv)
frozen and trains only the projection: a library's few hundred captioned images are too few to
move the convolutional part without forgetting, and a frozen top means the pooled features of
every view are computed once, so an epoch costs milliseconds of MLP, not a pass of the network.
Importing this module needs torch.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock
from PIL import Image, ImageEnhance

from assetloom.models import backbone
from assetloom.models.alignment import AlignmentHead
from assetloom.models.errors import ModelError

FEATURES_FORMAT = "align-frozen-features-v1"
"""Bump when the exported feature graph changes for the same head."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FinetuneConfig:
    """Chosen on Flickr8k dev-A images posing as a user's library (docs/align.md): lr 1e-3 and
    above forgets, 1e-4–2e-4 and 10–40 epochs agree within noise, 2, 4 or 8 views too."""

    epochs: int = 20
    batch: int = 128
    lr: float = 2e-4
    weight_decay: float = 0.05
    temperature: float = 0.05
    """Initial value; it is learned (the shipped head ended near 0.05)."""
    views: int = 4
    """Views extracted per image: itself, its mirror and random crops (see `training_views`)."""
    seed: int = 0


# ----------------------------------------------------------------------------- views
def augment(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A random resized crop (40–100 % of the area), flip and mild colour change."""
    w, h = img.size
    for _ in range(10):
        area = w * h * rng.uniform(0.4, 1.0)
        ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        cw, ch = round(np.sqrt(area * ratio)), round(np.sqrt(area / ratio))
        if cw <= w and ch <= h:
            x, y = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
            img = img.crop((x, y, x + cw, y + ch))
            break
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for enhance in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        img = enhance(img).enhance(rng.uniform(0.75, 1.25))
    return img


def training_views(img: Image.Image, n_views: int, rng: np.random.Generator) -> list[np.ndarray]:
    """View 0 is the image itself, view 1 its mirror (the two the runtime encoder averages),
    the rest random augmentations; each as the encoder's uint8 input."""
    img = img.convert("RGB")
    views = [img, img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)][:n_views]
    views += [augment(img, rng) for _ in range(n_views - len(views))]
    return [backbone.to_input(v) for v in views]


# ----------------------------------------------------------------------------- loss and schedule
def multi_positive_loss(
    img: torch.Tensor, texts: torch.Tensor, positive: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """Symmetric InfoNCE where a caption may describe several images and an image have many
    captions (`positive`: (texts, images) bool, at least one True per row and column).

    text→image: each caption's loss is the mean negative log-likelihood of its images among the
    batch; image→text: each image's, of its captions among all captions (SupCon's L_out). With
    one image per caption this is CLIP's loss with every caption used; a keyword line shared by
    several images (common in real libraries) then pulls towards all of them instead of
    pushing its twins away.
    """
    logits = scale * texts @ img.T  # (texts, images)
    pos = positive.to(logits.dtype)
    t2i = -(logits.log_softmax(dim=1) * pos).sum(dim=1) / pos.sum(dim=1)
    i2t = -(logits.T.log_softmax(dim=1) * pos.T).sum(dim=1) / pos.sum(dim=0)
    return (t2i.mean() + i2t.mean()) / 2


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up, then cosine decay to zero at `total` steps."""
    if step < warmup:
        return step / warmup
    return 0.5 * (1 + float(np.cos(np.pi * step / total)))


def learnable_logit_scale(temperature: float) -> torch.nn.Parameter:
    return torch.nn.Parameter(torch.tensor(np.log(1 / temperature), dtype=torch.float32))


def clamped_scale(logit_scale: torch.nn.Parameter) -> torch.Tensor:
    """exp(logit scale), capped at 100 as in CLIP so the loss cannot collapse to a hard max."""
    return logit_scale.clamp(max=np.log(100)).exp()


def train_mode(head: AlignmentHead) -> None:
    """Dropout on; BatchNorm keeps its ImageNet statistics (too few images to re-estimate)."""
    head.train()
    for module in head.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()


def top_parameters(head: AlignmentHead) -> list[torch.nn.Parameter]:
    """The convolutional top: the copy of the last block, the head conv and its BatchNorm."""
    return [*head.tail.parameters(), *head.conv_head.parameters(), *head.bn_head.parameters()]


# ----------------------------------------------------------------------------- frozen features
class FrozenFeatures:
    """uint8 images → (pooled top map, mid-level activations): everything before the trainable
    projection, as one ONNX graph per head (named by digest, cached like the runtime encoder's)."""

    def __init__(self, head: AlignmentHead, head_path: Path, cache_dir: Path) -> None:
        if head.config.attn_heads:
            raise ModelError(
                "Fine-tuning supports heads without attention pooling only",
                hint="start from the shipped head",
            )
        self.head = head
        digest = hashlib.sha256(FEATURES_FORMAT.encode())
        digest.update(Path(head_path).read_bytes())
        self.path = Path(cache_dir) / f"align-features-{digest.hexdigest()[:16]}.onnx"
        self._session: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                if not self.path.is_file():
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    with FileLock(str(self.path) + ".lock"):
                        if not self.path.is_file():
                            self._export()
                self._session = backbone.onnx_session(self.path)
            return self._session

    def _export(self) -> None:
        net, head = backbone.load_efficientnet_lite2(), self.head

        class Graph(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net, self.head = net, head

            def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                tail_in, mid = backbone.stem_to_tail(self.net, image)
                return self.head.global_pool(self.head.feature_map(tail_in)), mid

        backbone.export_onnx(Graph(), self.path, ["pooled", "mid"])

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pooled, mid = self._load().run(None, {"image": images})
        return pooled, mid


def extract_views(
    features: FrozenFeatures,
    load: Callable[[int], Image.Image],
    n_images: int,
    n_views: int,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Frozen features of `n_views` views of each image `load(i)`: float16 arrays
    (n, views, pooled dim) and (n, views, mid dim), computed once before training."""
    pooled_parts, mid_parts = [], []
    batch = max(1, 32 // n_views)
    for lo in range(0, n_images, batch):
        idx = range(lo, min(lo + batch, n_images))
        views = [
            v
            for i in idx
            for v in training_views(load(i), n_views, np.random.default_rng([seed, i]))
        ]
        pooled, mid = features(np.stack(views))
        pooled_parts.append(pooled.astype(np.float16).reshape(len(idx), n_views, -1))
        mid_parts.append(mid.astype(np.float16).reshape(len(idx), n_views, -1))
        if progress:
            progress(idx.stop, n_images)
    return np.concatenate(pooled_parts), np.concatenate(mid_parts)


# ----------------------------------------------------------------------------- training
def finetune(
    head: AlignmentHead,
    pooled: np.ndarray,
    mid: np.ndarray,
    texts: np.ndarray,
    captions_of: Sequence[Sequence[int]],
    config: FinetuneConfig | None = None,
    progress: Progress | None = None,
) -> AlignmentHead:
    """Train `head`'s projection in place on frozen features and return it in eval mode.

    `pooled`/`mid`: per image and view, from `extract_views`. `texts`: (captions, dim) unit
    caption embeddings (e5 `query:` side, as search queries are). `captions_of[i]`: the rows of
    `texts` that describe image i; a row may appear under several images.
    """
    config = config or FinetuneConfig()
    n_images, n_views = pooled.shape[:2]
    if len(captions_of) != n_images or any(not rows for rows in captions_of):
        raise ValueError("every image needs at least one caption row")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    for p in top_parameters(head):
        p.requires_grad_(False)
    top_ids = {id(p) for p in top_parameters(head)}
    logit_scale = learnable_logit_scale(config.temperature)
    optimiser = torch.optim.AdamW(
        [
            {"params": [p for p in head.parameters() if id(p) not in top_ids]},
            {"params": [logit_scale], "weight_decay": 0.0},
        ],
        lr=config.lr,
        weight_decay=config.weight_decay,
    )
    text_bank = torch.from_numpy(np.asarray(texts, dtype=np.float32))
    n_batches = max(1, round(n_images / config.batch))
    total, step = n_batches * config.epochs, 0
    for epoch in range(config.epochs):
        train_mode(head)
        for idx in np.array_split(rng.permutation(n_images), n_batches):
            view = rng.integers(0, n_views, len(idx))
            own = [np.asarray(captions_of[i]) for i in idx]
            rows, row_of = np.unique(np.concatenate(own), return_inverse=True)
            positive = torch.zeros(len(rows), len(idx), dtype=torch.bool)
            owner = np.repeat(np.arange(len(idx)), [len(o) for o in own])
            positive[torch.from_numpy(row_of), torch.from_numpy(owner)] = True
            img = head.project(
                torch.from_numpy(pooled[idx, view].astype(np.float32)),
                torch.from_numpy(mid[idx, view].astype(np.float32)),
            )
            loss = multi_positive_loss(img, text_bank[rows], positive, clamped_scale(logit_scale))
            for group in optimiser.param_groups:
                group["lr"] = config.lr * lr_factor(step, n_batches, total)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
        if progress:
            progress(epoch + 1, config.epochs)
    return head.eval()
