"""A tiny, randomly initialised CLIP built from an open_clip-style config and written in the
ONNX folder layout the CLIP backend reads. Lets the loading and encoding path run without
downloading weights: the numbers are meaningless, the shapes and plumbing are real."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from torch import nn

TINY_CONFIG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 32, "layers": 1, "heads": 2},
    "text_cfg": {"context_length": 12, "width": 32, "layers": 1, "heads": 2},
}
WORDS = ["a", "dog", "cat", "runs", "on", "the", "beach", "grass", "red", "ball", "一只", "狗"]


class Block(nn.Module):
    """Pre-norm self-attention + MLP, written out so the ONNX export stays plain."""

    def __init__(self, width: int, heads: int, causal: bool) -> None:
        super().__init__()
        self.heads, self.causal = heads, causal
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.out = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, w = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(n, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / (w // self.heads) ** 0.5
        if self.causal:
            scores = scores + torch.full((t, t), float("-inf")).triu(1)
        x = x + self.out((scores.softmax(-1) @ v).transpose(1, 2).reshape(n, t, w))
        return x + self.mlp(self.ln2(x))


class Visual(nn.Module):
    def __init__(self, cfg: dict, embed_dim: int) -> None:
        super().__init__()
        width, patch = cfg["width"], cfg["patch_size"]
        self.patch = nn.Conv2d(3, width, patch, patch)
        self.cls = nn.Parameter(torch.randn(1, 1, width))
        self.pos = nn.Parameter(torch.randn(1, 1 + (cfg["image_size"] // patch) ** 2, width))
        self.blocks = nn.Sequential(
            *[Block(width, cfg["heads"], False) for _ in range(cfg["layers"])]
        )
        self.ln, self.proj = nn.LayerNorm(width), nn.Linear(width, embed_dim, bias=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.patch(image).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        return self.proj(self.ln(self.blocks(x))[:, 0])


class Textual(nn.Module):
    def __init__(self, cfg: dict, embed_dim: int, vocab: int) -> None:
        super().__init__()
        width = cfg["width"]
        self.embed = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.randn(1, cfg["context_length"], width))
        self.blocks = nn.Sequential(
            *[Block(width, cfg["heads"], True) for _ in range(cfg["layers"])]
        )
        self.ln, self.proj = nn.LayerNorm(width), nn.Linear(width, embed_dim, bias=False)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        ids = text.long()
        x = self.ln(self.blocks(self.embed(ids) + self.pos))
        # As in CLIP, the end-of-text token has the highest id: its position carries the text.
        return self.proj(x[torch.arange(ids.shape[0]), ids.argmax(dim=-1)])


def _tokenizer() -> Tokenizer:
    vocab = {w: i for i, w in enumerate(["<pad>", "<unk>", *WORDS, "<start>", "<end>"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<start> $A <end>",
        special_tokens=[("<start>", vocab["<start>"]), ("<end>", vocab["<end>"])],
    )
    return tok


def _export(module: nn.Module, example: torch.Tensor, path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (example,),
            str(path),
            input_names=[name],
            output_names=["embedding"],
            dynamic_axes={name: {0: "n"}, "embedding": {0: "n"}},
            opset_version=17,
            dynamo=False,
        )


def write_tiny_clip(root: Path, config: dict = TINY_CONFIG, seed: int = 0) -> Path:
    """Build the model from `config` and write the folder; returns `root`."""
    torch.manual_seed(seed)
    tokenizer = _tokenizer()
    embed, vcfg, tcfg = config["embed_dim"], config["vision_cfg"], config["text_cfg"]
    size, length = vcfg["image_size"], tcfg["context_length"]
    _export(Visual(vcfg, embed), torch.zeros(1, 3, size, size), root / "visual/model.onnx", "image")
    textual = Textual(tcfg, embed, tokenizer.get_vocab_size())
    _export(textual, torch.zeros(1, length, dtype=torch.int32), root / "textual/model.onnx", "text")
    tokenizer.save(str(root / "textual/tokenizer.json"))
    (root / "textual/tokenizer_config.json").write_text(json.dumps({"pad_token": "<pad>"}))
    (root / "config.json").write_text(json.dumps(config))
    preprocess = {
        "size": [size, size],
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711],
        "interpolation": "bicubic",
        "resize_mode": "shortest",
    }
    (root / "visual/preprocess_cfg.json").write_text(json.dumps(preprocess))
    return root
