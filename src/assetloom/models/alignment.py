"""The alignment head: EfficientNet-Lite2 feature maps → the e5 text space.

Shape, chosen on Flickr8k dev (see MODEL_CARD.md and tools/train_alignment.py):

- a trainable copy of the network's last MBConv block and head conv (initialised from ImageNet), so
  the top of the visual features can adapt to captions while the frozen trunk keeps its generality;
- global average and max pooling of the 7×7 map (a max keeps small objects an average blurs),
  optionally attention pooling (learned queries), which the shipped head does not use;
- pooled 14×14 activations from a middle block, a finer scale;
- a two-layer MLP into the 384-d e5 space, L2-normalised.

Weights ship as a compressed `.npz` (float16) with the config as JSON; torch builds the graph once,
after which ONNX Runtime runs it (see `offline`). Importing this module needs torch.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from assetloom.models.backbone import FEATURE_DIM, MID_CHANNELS, TAIL_START
from assetloom.models.errors import ModelError


@dataclass(frozen=True)
class HeadConfig:
    out_dim: int = 384
    hidden: int = 1024
    attn_heads: int = 0
    """Learned pooling queries over the 7×7 map; 0 = none (the shipped head: no measurable gain
    was affordable to look for on two CPU cores, and it multiplies the MLP's input)."""
    use_max: bool = True
    """Global max pooling beside the average: small objects survive a max, not a mean."""
    use_mid: bool = True
    dropout: float = 0.2
    text_encoder: str = "e5-small"
    """The text space the head was trained into; a library must pair it with that encoder."""


class AttentionPool(nn.Module):
    """Each head scores the positions and returns its own weighted average of the full map."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.score = nn.Linear(channels, heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.flatten(2).transpose(1, 2)  # (n, hw, c)
        weights = self.score(self.norm(tokens)).softmax(dim=1)  # (n, hw, heads)
        return torch.einsum("nph,npc->nhc", weights, tokens).flatten(1)


class AlignmentHead(nn.Module):
    """(tail input map, pooled mid-level activations) → unit vectors in the text space."""

    def __init__(self, config: HeadConfig, backbone: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.tail = copy.deepcopy(nn.ModuleList(backbone._blocks[TAIL_START:]))
        self.conv_head = copy.deepcopy(backbone._conv_head)
        self.bn_head = copy.deepcopy(backbone._bn1)
        self.act = nn.ReLU6()
        self.pool = AttentionPool(FEATURE_DIM, config.attn_heads) if config.attn_heads else None
        in_dim = FEATURE_DIM * (1 + int(config.use_max) + config.attn_heads)
        in_dim += 2 * MID_CHANNELS if config.use_mid else 0
        self.mid_norm = nn.LayerNorm(2 * MID_CHANNELS) if config.use_mid else None
        self.mlp = nn.Sequential(
            nn.LayerNorm(in_dim),
            nn.Dropout(config.dropout),
            nn.Linear(in_dim, config.hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.out_dim),
        )

    def feature_map(self, tail_in: torch.Tensor) -> torch.Tensor:
        """The tuned copy of the network's top: (n, 1280, 7, 7)."""
        x = tail_in
        for block in self.tail:
            x = block(x)
        return self.act(self.bn_head(self.conv_head(x)))

    def global_pool(self, x: torch.Tensor) -> torch.Tensor:
        """Parameter-free pooling, which training precomputes when the top stays frozen."""
        parts = [x.mean(dim=(2, 3))]
        if self.config.use_max:
            parts.append(x.amax(dim=(2, 3)))
        return torch.cat(parts, dim=1)

    def project(
        self, pooled: torch.Tensor, mid: torch.Tensor, attn: torch.Tensor | None = None
    ) -> torch.Tensor:
        parts = [pooled] if attn is None else [pooled, attn]
        if self.mid_norm is not None:
            parts.append(self.mid_norm(mid))
        return nn.functional.normalize(self.mlp(torch.cat(parts, dim=1)), dim=-1)

    def forward(self, tail_in: torch.Tensor, mid: torch.Tensor) -> torch.Tensor:
        x = self.feature_map(tail_in)
        attn = self.pool(x) if self.pool is not None else None
        return self.project(self.global_pool(x), mid, attn)


def save_head(head: AlignmentHead, path: Path, metadata: dict[str, object]) -> None:
    """float16 weights + config + free-form metadata (data, figures) in one compressed npz."""
    arrays = {k: v.detach().cpu().numpy().astype(np.float16) for k, v in head.state_dict().items()}
    arrays = {k: v for k, v in arrays.items() if not k.endswith("num_batches_tracked")}
    info = json.dumps({"config": asdict(head.config), "metadata": metadata}, ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, __info__=np.array(info), **arrays)


def load_head(path: Path, backbone: nn.Module) -> tuple[AlignmentHead, dict[str, object]]:
    try:
        with np.load(path) as data:
            info = json.loads(str(data["__info__"]))
            state = {
                k: torch.from_numpy(data[k].astype(np.float32))
                for k in data.files
                if k != "__info__"
            }
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(
            f"Cannot read the alignment head {path}: {exc}",
            hint="reinstall assetloom, or retrain with tools/train_alignment.py",
        ) from exc
    head = AlignmentHead(HeadConfig(**info["config"]), backbone)
    missing, unexpected = head.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ModelError(
            f"The alignment head {path} does not match this version of AssetLoom "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})",
            hint="retrain it with tools/train_alignment.py",
        )
    return head.eval(), info["metadata"]
