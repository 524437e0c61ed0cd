"""Stable Diffusion pipelines from a local diffusers folder (task "image-gen", backend "diffusers").

The folder is what `save_pretrained` writes (`model_index.json` and one subfolder per
component), read with `local_files_only=True`: nothing is ever fetched from a hub. Beside the
pipeline's own components it may hold, each optional and used when present:

  controlnet/                  a ControlNet (canny edges) with its config and weights
  lora/*.safetensors           LoRA weights, every file applied at full strength
  ip_adapter/*.safetensors     IP-Adapter weights (or one .bin), with the CLIP image encoder
  ip_adapter/image_encoder/    they need (config.json and weights)

`inspect_folder` checks that layout from the files alone (no torch import), so a wrong folder is
refused when the backend is chosen, not after a minute of loading. `DiffusionModel` loads it on
the GPU (float16) when torch sees one, else on the CPU (float32); the text-to-image pipeline is
built at load, the image-to-image and ControlNet ones from the same components on first use.
"""

from __future__ import annotations

import gc
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetloom.models.errors import ModelError, ModelNotInstalledError

if TYPE_CHECKING:
    from PIL import Image

TXT2IMG, IMG2IMG, CONTROLNET = "txt2img", "img2img", "controlnet-canny"
MODES = (TXT2IMG, IMG2IMG, CONTROLNET)
_WEIGHTS = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")
_LAYOUT_HINT = (
    "give the folder a diffusers pipeline was saved to (save_pretrained): model_index.json "
    "and one subfolder per component; convert a single-file checkpoint first with "
    "StableDiffusionPipeline.from_single_file(FILE).save_pretrained(DIR)"
)


@dataclass(frozen=True)
class Layout:
    """What a pipeline folder holds, read from its files."""

    folder: Path
    pipeline: str
    """The pipeline class model_index.json names (StableDiffusionPipeline...)."""
    native: int
    """The side the UNet was trained at, in pixels (sample size x the VAE's scale)."""
    controlnet: Path | None
    loras: tuple[Path, ...]
    ip_adapter: Path | None
    """The IP-Adapter weight file; its image encoder is `ip_adapter/image_encoder`."""


def inspect_folder(folder: Path) -> Layout:
    """The layout of a pipeline folder, or ModelNotInstalledError saying what is missing."""
    if not folder.is_dir():
        raise ModelNotInstalledError(f"no folder {folder}", hint=_LAYOUT_HINT)
    index = _json(folder / "model_index.json", "it is not a diffusers pipeline folder")
    pipeline = str(index.get("_class_name", ""))
    if "Diffusion" not in pipeline:
        raise ModelNotInstalledError(
            f"{folder} holds a {pipeline or 'nameless'} pipeline, not a Stable Diffusion one",
            hint=_LAYOUT_HINT,
        )
    for name, spec in sorted(index.items()):
        if name.startswith("_") or not isinstance(spec, list) or None in spec:
            continue  # metadata, or a component left out (safety_checker: [null, null])
        _check_component(folder / name, name)
    unet = _json(folder / "unet" / "config.json", "the pipeline has no unet")
    vae = _json(folder / "vae" / "config.json", "the pipeline has no vae")
    sample = unet.get("sample_size", 64)
    sample = max(sample) if isinstance(sample, list) else int(sample)
    native = sample * 2 ** (len(vae.get("block_out_channels", [0, 0, 0, 0])) - 1)

    controlnet = folder / "controlnet"
    if controlnet.exists():
        _check_component(controlnet, "controlnet")
    ip_dir = folder / "ip_adapter"
    ip_adapter = None
    if ip_dir.is_dir():
        files = sorted(p for pattern in ("*.safetensors", "*.bin") for p in ip_dir.glob(pattern))
        if len(files) != 1:
            raise ModelNotInstalledError(
                f"{ip_dir} holds {len(files)} weight files; an IP-Adapter is one",
                hint="keep one ip-adapter_*.safetensors (or .bin) there",
            )
        _check_component(ip_dir / "image_encoder", "ip_adapter/image_encoder")
        ip_adapter = files[0]
    return Layout(
        folder=folder,
        pipeline=pipeline,
        native=native,
        controlnet=controlnet if controlnet.exists() else None,
        loras=tuple(sorted((folder / "lora").glob("*.safetensors"))),
        ip_adapter=ip_adapter,
    )


def _json(path: Path, why: str) -> dict[str, Any]:
    if not path.is_file():
        raise ModelNotInstalledError(
            f"{path.parent} holds no {path.name}: {why}", hint=_LAYOUT_HINT
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelNotInstalledError(f"{path} is not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelNotInstalledError(f"{path} is not a JSON object")
    return data


def _check_component(path: Path, name: str) -> None:
    """A component folder; one with a model config.json must hold its weights too."""
    if not path.is_dir():
        raise ModelNotInstalledError(
            f"the pipeline in {path.parent} lacks its {name} folder", hint=_LAYOUT_HINT
        )
    if (path / "config.json").is_file() and not any(
        p for pattern in _WEIGHTS for p in path.glob(pattern)
    ):
        raise ModelNotInstalledError(
            f"{path} has a config.json but no weights (.safetensors or .bin)",
            hint="the download or copy was cut short: copy the weight files into it",
        )


class DiffusionModel:
    """One loaded pipeline folder, with the pipelines built from its components."""

    def __init__(self, folder: Path) -> None:
        self.layout = inspect_folder(folder)
        import torch
        from diffusers import AutoPipelineForText2Image

        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.dtype = torch.float16 if self.device == "cuda" else torch.float32
        try:
            pipe = AutoPipelineForText2Image.from_pretrained(
                str(folder), local_files_only=True, dtype=self.dtype
            )
            for lora in self.layout.loras:
                pipe.load_lora_weights(
                    str(lora.parent),
                    weight_name=lora.name,
                    adapter_name=_adapter_name(lora),
                    local_files_only=True,
                )
            if self.layout.loras:
                pipe.set_adapters([_adapter_name(p) for p in self.layout.loras])
            if self.layout.ip_adapter is not None:
                pipe.load_ip_adapter(
                    str(self.layout.ip_adapter.parent),
                    subfolder="",
                    weight_name=self.layout.ip_adapter.name,
                    image_encoder_folder="image_encoder",
                    local_files_only=True,
                )
            pipe.to(self.device)
        except Exception as exc:  # torch, safetensors, diffusers: each has its own errors
            raise ModelError(
                f"cannot load the pipeline in {folder}: {type(exc).__name__}: {exc}",
                hint="check that the folder holds a complete Stable Diffusion pipeline",
            ) from exc
        pipe.set_progress_bar_config(disable=True)
        self._pipes: dict[str, Any] = {TXT2IMG: pipe}
        self._lock = threading.Lock()
        """Pipelines share one scheduler, whose timesteps each call sets: one call at a time."""

    def _pipe(self, mode: str) -> Any:
        if mode in self._pipes:
            return self._pipes[mode]
        from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image, ControlNetModel

        base = self._pipes[TXT2IMG]
        try:
            if mode == IMG2IMG:
                pipe = AutoPipelineForImage2Image.from_pipe(base)
            elif mode == CONTROLNET and self.layout.controlnet is not None:
                controlnet = ControlNetModel.from_pretrained(
                    str(self.layout.controlnet), local_files_only=True, dtype=self.dtype
                ).to(self.device)
                pipe = AutoPipelineForText2Image.from_pipe(base, controlnet=controlnet)
            else:
                raise ModelError(f"the pipeline in {self.layout.folder} cannot run {mode}")
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(
                f"cannot build the {mode} pipeline from {self.layout.folder}: {exc}"
            ) from exc
        pipe.set_progress_bar_config(disable=True)
        self._pipes[mode] = pipe
        return pipe

    def generate(
        self,
        *,
        mode: str,
        prompt: str,
        negative: str,
        size: tuple[int, int],
        seed: int,
        steps: int,
        guidance: float,
        image: Image.Image | None = None,
        strength: float = 0.6,
        control_scale: float = 1.0,
        style: Image.Image | None = None,
        style_scale: float = 0.6,
    ) -> tuple[Image.Image, bool]:
        """One picture of `size` and whether the folder's safety checker blanked it. `image`
        is the start (img2img) or the edge map (ControlNet); `style` the IP-Adapter image.

        The noise comes from a CPU generator whatever the device, so the same seed starts
        from the same latents on a laptop and on a GPU."""
        import torch
        from PIL import Image

        width, height = size
        kwargs: dict[str, Any] = {
            "prompt": prompt,
            "negative_prompt": negative or None,
            "num_inference_steps": steps,
            "guidance_scale": guidance,
            "generator": torch.Generator("cpu").manual_seed(seed),
        }
        if mode == TXT2IMG:
            kwargs.update(width=width, height=height)
        elif mode == IMG2IMG and image is not None:
            kwargs.update(image=image, strength=strength)
        elif mode == CONTROLNET and image is not None:
            kwargs.update(
                image=image, width=width, height=height, controlnet_conditioning_scale=control_scale
            )
        else:
            raise ModelError(f"{mode} needs {'an image' if mode in MODES else 'a known mode'}")
        with self._lock:
            pipe = self._pipe(mode)
            if self.layout.ip_adapter is not None:
                # Loaded IP-Adapter layers always expect an image: without a style, a grey one
                # at scale 0 leaves the text-only result.
                pipe.set_ip_adapter_scale(style_scale if style is not None else 0.0)
                grey = Image.new("RGB", (224, 224), (128,) * 3)
                kwargs["ip_adapter_image"] = style if style is not None else grey
            with torch.inference_mode():
                out = pipe(**kwargs)
        blanked = bool(out.nsfw_content_detected and any(out.nsfw_content_detected))
        return out.images[0], blanked

    def close(self) -> None:
        """Drop the pipelines and give their GPU memory back (the pool calls it when idle)."""
        self._pipes.clear()
        gc.collect()
        if self.device == "cuda":
            import torch

            torch.cuda.empty_cache()


def _adapter_name(path: Path) -> str:
    return "".join(c if c.isalnum() else "_" for c in path.stem)
