"""`image=diffusers:DIR`: Stable Diffusion from a pipeline folder on this machine.

DIR is a folder `save_pretrained` wrote (see `assetloom.models.diffusion` for the layout and
its optional ControlNet, LoRA and IP-Adapter parts); it is read offline, never fetched. Options
follow a `?`: `diffusers:/models/sd-turbo?steps=4&guidance=0`.

- no "source" reference: text to image;
- a "source" (the picture being re-purposed): ControlNet from its Canny edges when the folder
  has a ControlNet, so the product's outline stays while the scene changes; else image to
  image at `strength`;
- a "style" reference: the IP-Adapter's image prompt when the folder has one; otherwise it is
  left out and the recipe says why.

The pipeline is leased from the model pool (task "image-gen"): loaded on first use, on the GPU
when torch sees one, and unloaded when idle. The seed drives a CPU torch.Generator, so a recipe
starts from the same noise on any device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetloom.create.errors import GenerationError
from assetloom.create.generators.base import IMAGE, Generated, Parent, Recipe, resolve_seed
from assetloom.create.generators.image_common import (
    check_size,
    decode_references,
    finish,
    generation_size,
    number,
    split_options,
    unused_roles,
)
from assetloom.create.generators.registry import register
from assetloom.create.plan import NEGATIVE
from assetloom.models.diffusion import CONTROLNET, IMG2IMG, TXT2IMG, inspect_folder
from assetloom.models.errors import ModelError
from assetloom.models.registry import IMAGE_GEN, MODELS

if TYPE_CHECKING:
    from PIL import Image

OPTIONS = {
    "steps": "denoising steps, default 25 (1 to 4 for turbo models)",
    "guidance": "classifier-free guidance, default 7.5 (0 for turbo models)",
    "strength": "how far image to image departs from the source, 0 to 1, default 0.6",
    "control": "how strongly ControlNet holds the source's edges, default 1.0",
    "style": "IP-Adapter scale of the style reference, default 0.6",
    "side": "pixels per side to draw at before fitting, default the model's own",
}
CANNY = (100, 200)
"""OpenCV Canny thresholds of the edge map, those ControlNet's canny model was trained with."""


class DiffusersImageGenerator:
    backend = "diffusers"

    def __init__(self, argument: str) -> None:
        folder, options = split_options(argument, OPTIONS, f"image=diffusers:{argument}")
        if not folder:
            raise GenerationError("image=diffusers needs a DIR", hint="image=diffusers:/models/sd")
        self.folder = Path(folder).expanduser().resolve()
        try:
            self.layout = inspect_folder(self.folder)
        except ModelError as exc:
            raise GenerationError(exc.message, hint=exc.hint) from exc
        self.model = str(self.folder)
        self.steps = int(number(options, "steps", 25, 1, 500))
        self.guidance = number(options, "guidance", 7.5, 0, 50)
        self.strength = number(options, "strength", 0.6, 0.05, 1)
        self.control = number(options, "control", 1.0, 0, 2)
        self.style_scale = number(options, "style", 0.6, 0, 1)
        self.side = int(number(options, "side", self.layout.native, 64, 2048))

    def generate(
        self,
        prompt: str,
        *,
        width: int = 1024,
        height: int = 1024,
        seed: int | None = None,
        parents: Sequence[Parent] = (),
        references: Mapping[str, bytes] | None = None,
        overlay: str = "",
        negative: str | None = None,
    ) -> Generated:
        """`negative`: what the picture must not show (None: the plan's standard list)."""
        seed = resolve_seed(seed)
        check_size(width, height, "diffusers")
        if not prompt.strip():
            raise GenerationError("the image prompt is empty")
        negative = NEGATIVE if negative is None else negative
        refs = decode_references(references)
        size = generation_size(width, height, self.side)
        source, style = refs.get("source"), refs.get("style")
        why: dict[str, str] = {}
        if style is not None and self.layout.ip_adapter is None:
            style = None
            why["style"] = f"no IP-Adapter in {self.folder} (ip_adapter/)"
        parameters: dict[str, Any] = {
            "width": width,
            "height": height,
            "generated": list(size),
            "negative": negative,
            "steps": self.steps,
            "guidance": self.guidance,
        }
        if source is None:
            mode, start = TXT2IMG, None
        elif self.layout.controlnet is not None:
            mode, start = CONTROLNET, canny(source, size)
            parameters.update(control=self.control, canny=list(CANNY))
        else:
            mode, start = IMG2IMG, _fit(source, size)
            parameters["strength"] = self.strength
        parameters["mode"] = mode
        if self.layout.loras:
            parameters["loras"] = [p.name for p in self.layout.loras]
        if style is not None:
            parameters["style_scale"] = self.style_scale
        try:
            with MODELS.lease(IMAGE_GEN, "diffusers", str(self.folder)) as model:
                image, blanked = model.generate(
                    mode=mode,
                    prompt=prompt,
                    negative=negative,
                    size=size,
                    seed=seed,
                    steps=self.steps,
                    guidance=self.guidance,
                    image=start,
                    strength=self.strength,
                    control_scale=self.control,
                    style=style,
                    style_scale=self.style_scale,
                )
                parameters["device"] = model.device
        except ModelError as exc:
            raise GenerationError(exc.message, hint=exc.hint) from exc
        except (RuntimeError, ValueError) as exc:  # torch: out of memory, shapes it refuses
            raise GenerationError(
                f"Stable Diffusion failed in {self.folder}: {type(exc).__name__}: {exc}",
                hint="try fewer steps, a smaller side= option or another model",
            ) from exc
        if blanked:
            raise GenerationError(
                f"the safety checker of {self.folder} blanked the picture",
                hint="reword the prompt; the folder's safety_checker decides this",
            )
        used = {"style"} if style is not None else set()
        used |= {"source"} if source is not None else set()
        parameters["roles"] = sorted(used)
        unused = unused_roles(refs, used, why)
        if unused:
            parameters["unused_roles"] = unused
        data, laid_out = finish(image, width, height, overlay)
        parameters.update(laid_out)
        recipe = Recipe(IMAGE, self.backend, self.model, prompt, seed, parameters, tuple(parents))
        return Generated(data, "image/png", recipe)


def canny(source: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The ControlNet condition: white Canny edges on black, of the source fitted to `size`."""
    import cv2
    import numpy as np
    from PIL import Image

    grey = np.asarray(_fit(source, size).convert("L"))
    edges = cv2.Canny(grey, *CANNY)
    return Image.fromarray(np.stack([edges] * 3, axis=-1))


def _fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    from PIL import Image, ImageOps

    return ImageOps.fit(image.convert("RGB"), size, Image.Resampling.LANCZOS)


@register(IMAGE, "diffusers", argument="DIR")
def _diffusers(argument: str) -> DiffusersImageGenerator:
    return DiffusersImageGenerator(argument)
