"""An invisible watermark naming the asset: RivaGAN's 32 bits, the first 8 hex digits of its id.

The network is RivaGAN as `invisible-watermark` 0.2.0 ships it (two ONNX graphs inside the
wheel; we run them with onnxruntime ourselves, so neither torch nor OpenCV is imported). Bits
go MSB first, as that package packs bytes, so its own `WatermarkDecoder("bytes", 32)` reads
the same four bytes from an image of the working size.

**One working scale.** The encoder and decoder run on the image resized so that its longer
side is `WORK_SIDE` (512) px; the mark is the encoder's change at that size, scaled back to
the full image and added to it. RivaGAN decodes poorly at another scale than it embedded at
(a 50 % downscale kept 19 of 32 bits at the native scale), but a copy resized by any factor
comes back to the same 512 px, so resizing no longer matters; crops and padding change the
scale only by their own fraction. The cost is fixed as well: one 512 px pass however large the
image. Images of fewer than 256 x 256 pixels are refused, as RivaGAN does.

**Telling a mark from noise.** 32 bits carry no checksum, and the decoder reads confident bits
from any photo, so a decode alone names nothing. It is matched against the ids of the
assets the library watermarked (`record` / `recorded`): a random decode lies within Hamming
distance t of a given id with probability F(t) = sum_{k<=t} C(32,k) / 2^32, whatever the
image, since our ids are random (uuid4). With N candidates and V views decoded (the whole
image, and without its uniform border when it has one), the chance of a false match at
distance t is at most N * V * F(t); the largest t that keeps it under `FALSE_MATCH_BUDGET`
(1e-3) is accepted: 6 wrong bits with one candidate, 4 with 100 (3 when two views were read),
2 with 1,000, 1 with 10,000, an exact match only at 10^6, and nothing at 10^7 candidates: 32
bits cannot name one of so many. A tie between two ids names neither.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from PIL import Image, ImageChops

from assetloom.errors import AssetLoomError, BadInputError
from assetloom.models.pool import Build, Handle
from assetloom.models.registry import MODELS

WATERMARK, RIVAGAN = "watermark", "rivagan"
BITS = 32
WORK_SIDE = 512
MIN_PIXELS = 256 * 256
FALSE_MATCH_BUDGET = 1e-3
RECORD_FILE = "watermarked.txt"
_TRIM_TOLERANCE = 12
"""Grey levels a border pixel may differ from the corner's and still count as padding."""
_HEX_ID = re.compile(r"^[0-9a-f]{8,}$")


class WatermarkError(AssetLoomError):
    """The image cannot carry a watermark, or the watermark model is not installed."""

    code = "watermark"


# ---------------------------------------------------------------------- the model
class RivaGan:
    """The two ONNX graphs, loaded on first use. Frames are BGR in [-1, 1], as RivaGAN's
    training (through OpenCV) saw them."""

    name = "rivagan"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sessions: dict[str, Any] = {}

    def _session(self, which: str) -> Any:
        if which not in self._sessions:
            import onnxruntime as ort

            path = self.folder / f"rivagan_{which}.onnx"
            if not path.is_file():
                raise WatermarkError(
                    f"the RivaGAN {which} is missing from {self.folder}",
                    hint="reinstall invisible-watermark (requirements/models.txt)",
                )
            self._sessions[which] = ort.InferenceSession(
                str(path), providers=["CPUExecutionProvider"]
            )
        return self._sessions[which]

    def encode(self, frame: np.ndarray, bits: np.ndarray) -> np.ndarray:
        """The watermarked frame (H, W, 3), same value range."""
        out = self._session("encoder").run(
            None, {"frame": _batch(frame), "data": bits.astype(np.float32)[None]}
        )[0]
        return np.clip(out[0, :, 0].transpose(1, 2, 0), -1.0, 1.0)

    def decode(self, frame: np.ndarray) -> np.ndarray:
        """32 logits: positive means a 1 bit."""
        return cast(np.ndarray, self._session("decoder").run(None, {"frame": _batch(frame)})[0][0])


def _batch(frame: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frame.transpose(2, 0, 1)[None, :, None], dtype=np.float32)


@MODELS.backend(WATERMARK, RIVAGAN, heavy=False, per_spec=False, per_cache=False)
def _rivagan(_build: Build) -> RivaGan:
    spec = importlib.util.find_spec("imwatermark")  # finds the folder, runs nothing in it
    if spec is None or not spec.submodule_search_locations:
        raise WatermarkError(
            "the invisible-watermark package (RivaGAN's weights) is not installed",
            hint="pip install --no-deps -r requirements/models.txt",
        )
    return RivaGan(Path(next(iter(spec.submodule_search_locations))))


class _Pooled(Handle):
    def encode(self, frame: np.ndarray, bits: np.ndarray) -> np.ndarray:
        with self.leased() as model:
            return cast(np.ndarray, model.encode(frame, bits))

    def decode(self, frame: np.ndarray) -> np.ndarray:
        with self.leased() as model:
            return cast(np.ndarray, model.decode(frame))


def _model() -> _Pooled:
    return MODELS.handle(WATERMARK, RIVAGAN, "", None, _Pooled)


# ---------------------------------------------------------------------- embedding
def payload(asset_id: str) -> np.ndarray:
    """The 32 bits an asset's watermark carries: its id's first 8 hex digits, MSB first."""
    short = asset_id.strip().lower()
    if not _HEX_ID.match(short):
        raise BadInputError(f"{asset_id!r} is not an asset id (8 or more hex digits)")
    return np.unpackbits(np.frombuffer(bytes.fromhex(short[:8]), dtype=np.uint8))


def embed(image: Image.Image, asset_id: str) -> Image.Image:
    """`image` carrying `asset_id`'s watermark (RGB, or RGBA with the alpha untouched)."""
    width, height = image.size
    if width * height < MIN_PIXELS:
        raise WatermarkError(
            f"a {width}x{height} image is too small to carry a watermark",
            hint="RivaGAN needs at least 256 x 256 pixels",
        )
    bits = payload(asset_id)
    rgb = image.convert("RGB")
    small = _work_scale(rgb)
    frame = _frame(small)
    residual = _model().encode(frame, bits) - frame
    if small.size != rgb.size:
        residual = np.stack(
            [
                np.asarray(
                    Image.fromarray(residual[:, :, c]).resize(rgb.size, Image.Resampling.BICUBIC)
                )
                for c in range(3)
            ],
            axis=2,
        )
    marked = _frame(rgb) + residual
    pixels = ((np.clip(marked, -1.0, 1.0) + 1.0) * 127.5).round().astype(np.uint8)[:, :, ::-1]
    out = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        out.putalpha(image.convert("RGBA").getchannel("A"))
    return out


def embed_frames(frames: Iterable[Image.Image], asset_id: str) -> list[Image.Image]:
    """Each video frame marked (`decode_frames` reads them back by a vote over frames)."""
    return [embed(f, asset_id) for f in frames]


# ---------------------------------------------------------------------- decoding
@dataclass(frozen=True)
class Decoded:
    """The bits read from each view of one image (the whole, then without its padding)."""

    views: tuple[np.ndarray, ...]

    @property
    def bits(self) -> np.ndarray:
        return self.views[0]

    def hex(self, view: int = 0) -> str:
        return bytes(np.packbits(self.views[view])).hex()


def can_carry(width: int | None, height: int | None) -> bool:
    """Whether an image this size can carry (and so be read for) a watermark."""
    return bool(width and height and width * height >= MIN_PIXELS)


def decode(image: Image.Image) -> Decoded:
    """The 32 bits in `image`, and in its content without a uniform border (a screenshot's
    padding, a letterbox) when it has one. Costs one 512 px decoder pass per view."""
    width, height = image.size
    if width * height < MIN_PIXELS:
        raise WatermarkError(f"a {width}x{height} image is too small to carry a watermark")
    rgb = image.convert("RGB")
    views = [rgb]
    content = _content_box(rgb)
    if content is not None:
        views.append(rgb.crop(content))
    model = _model()
    return Decoded(
        tuple((model.decode(_frame(_work_scale(v))) > 0).astype(np.uint8) for v in views)
    )


def decode_frames(frames: Sequence[Image.Image]) -> Decoded:
    """One reading of several frames of a video: the sign of their summed logits."""
    model = _model()
    logits = sum(
        (model.decode(_frame(_work_scale(f.convert("RGB")))) for f in frames),
        np.zeros(BITS, dtype=np.float32),
    )
    return Decoded(((logits > 0).astype(np.uint8),))


def _work_scale(image: Image.Image) -> Image.Image:
    w, h = image.size
    scale = WORK_SIDE / max(w, h)
    if scale == 1:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def _frame(image: Image.Image) -> np.ndarray:
    """RGB image -> BGR float32 in [-1, 1]."""
    return np.asarray(image, dtype=np.float32)[:, :, ::-1] / 127.5 - 1.0


def _content_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The box inside a uniform border of the top-left corner's colour, when the border
    takes at least 5 % of the image and what it frames could still carry a mark."""
    corner = image.getpixel((0, 0))
    background = Image.new("RGB", image.size, cast(tuple[int, int, int], corner))
    diff = ImageChops.difference(image, background).convert("L")
    box = diff.point(lambda v: 255 if v > _TRIM_TOLERANCE else 0).getbbox()
    if box is None:
        return None
    w, h = box[2] - box[0], box[3] - box[1]
    area = image.size[0] * image.size[1]
    if w * h > 0.95 * area or w * h < MIN_PIXELS:
        return None
    return box


# ---------------------------------------------------------------------- matching
@dataclass(frozen=True)
class WatermarkMatch:
    """A decode held against the candidates. `bits_ok`: the share of bits agreeing with the
    closest candidate (None without candidates); `asset_id` only when that agreement is
    beyond chance (see the module's docstring) and no other candidate is as close;
    `chance`: the probability that an unmarked image comes as close to some candidate."""

    bits: str
    bits_ok: float | None
    asset_id: str | None = None
    chance: float | None = None


def chance_within(distance: int) -> float:
    """P(a random 32-bit string lies within `distance` bits of a given one)."""
    return sum(math.comb(BITS, k) for k in range(distance + 1)) / 2**BITS


def max_distance(candidates: int, views: int = 1) -> int:
    """The most wrong bits a match may have with this many candidates (-1: no match can be
    told from chance)."""
    trials = max(1, candidates) * max(1, views)
    accepted = -1
    for t in range(BITS + 1):
        if trials * chance_within(t) > FALSE_MATCH_BUDGET:
            break
        accepted = t
    return accepted


def match(decoded: Decoded, candidates: Sequence[str]) -> WatermarkMatch:
    """The candidate asset id `decoded` names, if any."""
    ids = sorted({c.lower() for c in candidates if _HEX_ID.match(c.lower())})
    if not ids:
        return WatermarkMatch(bits=decoded.hex(), bits_ok=None)
    codes = np.array([int(i[:8], 16) for i in ids], dtype=np.uint64)
    table = np.array(
        [
            [int(x).bit_count() for x in np.bitwise_xor(codes, np.uint64(int(decoded.hex(v), 16)))]
            for v in range(len(decoded.views))
        ]
    )  # views x candidates: wrong bits
    distance = int(table.min())
    closest = table == distance
    view = int(np.flatnonzero(closest.any(axis=1))[0])
    nearest = np.flatnonzero(closest.any(axis=0))
    chance = min(1.0, len(ids) * len(decoded.views) * chance_within(distance))
    named = distance <= max_distance(len(ids), len(decoded.views)) and len(nearest) == 1
    return WatermarkMatch(
        bits=decoded.hex(view),
        bits_ok=(BITS - distance) / BITS,
        asset_id=ids[int(nearest[0])] if named else None,
        chance=float(f"{chance:.3g}"),
    )


def identify(image: Image.Image, candidates: Sequence[str]) -> WatermarkMatch:
    return match(decode(image), candidates)


# ---------------------------------------------------------------------- the record
def record(folder: Path, asset_id: str) -> None:
    """Note in the library folder that `asset_id` was watermarked: `verify` matches decodes
    against these ids, and reads watermarks at all only once there is one (setting "auto")."""
    payload(asset_id)  # refuses what is not an id
    path = folder / RECORD_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, f"{asset_id.strip().lower()}\n".encode("ascii"))  # one append: atomic
    finally:
        os.close(fd)


def recorded(folder: Path) -> list[str]:
    """The ids `record` noted, in order, each once."""
    try:
        lines = (folder / RECORD_FILE).read_text(encoding="ascii", errors="replace").split()
    except FileNotFoundError:
        return []
    return list(dict.fromkeys(line for line in lines if _HEX_ID.match(line)))
