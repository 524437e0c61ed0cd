"""Perceptual fingerprints for images: what a library keeps, and what a suspect file is probed with.

PDQ and pHash are global DCT hashes: they survive resizing, recompression, colour changes and
small overlays, but not crops or rotations (a 5 % crop or a 3° turn moves PDQ by ~45 of 256 bits).
So matching is an alignment search done in hash space:

- stored, per library image: PDQ of the whole picture and of centre crops at geometric scales
  (`CROP_SCALES`), plus ImageHash's 64-bit pHash;
- query, per suspect file: PDQ in all eight dihedral orientations of the picture, of the picture
  with uniform borders trimmed, and of the main picture region of a screenshot or meme; plus
  slightly cropped and slightly de-rotated versions. A cropped copy then meets a stored crop of a
  nearby scale; a rotated one meets the original once turned back.

All PDQ hashes are taken from a 64x64 box-filtered rendition (the size PDQ downsamples to anyway):
this makes the hash independent of the input's resolution (a 50 % downscale moves it by ~2 bits
instead of ~20) and costs 0.05 ms per hash. docs/copy-detection.md has the measurements.
"""

from __future__ import annotations

import imagehash
import numpy as np
import pdqhash
from PIL import Image
from scipy import ndimage

from assetloom.core.assets import Fingerprint
from assetloom.core.copy_rules import (
    CROP_SCALES,
    QUERY_CROPS,
    QUERY_ROTATIONS,
    ROTATION_CROP,
    crop_kind,
)

WORK_SIZE = 512
Box = tuple[int, int, int, int]
_GEOMETRY_SIZE = 128
_PDQ_SIZE = 64
_ROTATION_SIZE = 96
# pdqhash.compute_dihedral's output order (original, quarter turns, its FlipX = upside down,
# FlipY = left-right mirror, then the two diagonal flips), as kind suffixes.
_DIHEDRAL = ("", "_rot90", "_rot180", "_rot270", "_flipv", "_mirror", "_transpose", "_transverse")
# A border row/column is one where at least this share of pixels is within _BORDER_TOL of the
# border colour (sum of absolute RGB differences): tolerant of JPEG ringing along the edge.
_BORDER_SHARE = 0.97
_BORDER_TOL = 36
_MIN_TRIM = 0.02
_MIN_KEEP = 0.25
# Main-region detection (screenshots, memes): the page background is the modal colour covering at
# least _BG_SHARE of the frame; the picture is the largest blob of other pixels.
_BG_SHARE = 0.12
_BG_TOL = 24
_BG_TOL_EXACT = 6
_EXTEND_SHARE = 0.8
LOSSLESS_FORMATS = frozenset({"PNG", "BMP", "GIF", "TIFF", "PPM", "QOI"})
_REGION_MIN, _REGION_MAX = 0.08, 0.9
_PAGE_SHARE = 0.15


def stored_fingerprints(img: Image.Image) -> list[Fingerprint]:
    """Fingerprints kept for a library image: "pdq", "pdq_cNN" (centre crops) and "phash"."""
    work = working_copy(img)
    fps = [_pdq(work, "pdq")]
    fps.extend(_pdq(_centre_crop(work, s), crop_kind(s)) for s in CROP_SCALES)
    fps.append(_phash(work, "phash"))
    return fps


def query_fingerprints(img: Image.Image, *, lossless: bool = False) -> list[Fingerprint]:
    """Fingerprints to probe the library with (kinds "pdq*" and "phash*"; see module docstring)."""
    return query_probes(img, lossless=lossless)[0]


def query_probes(
    img: Image.Image, *, lossless: bool = False
) -> tuple[list[Fingerprint], Image.Image | None]:
    """`query_fingerprints` and the extracted picture region (screenshot, meme) they probed
    with, or None: geometric verification looks at the region's own keypoints too, so the
    region is found once (~6 ms) for both."""
    work = working_copy(img)
    whole = _rendition(work, _GEOMETRY_SIZE)
    bases = {"": work}
    if (trim := trim_box(work)) is not None:
        bases["_trim"] = work.crop(trim)
    if (region := region_box(whole, lossless=lossless)) is not None:
        bases["_region"] = _refine(work, whole, region, lossless=lossless)
        # Letterboxed inside the screenshot? A flat sky trims too, so keep both versions.
        if (inner := trim_box(bases["_region"])) is not None:
            bases["_region_trim"] = bases["_region"].crop(inner)
    fps: list[Fingerprint] = []
    for name, base in bases.items():
        fps.extend(_pdq_dihedral(base, "pdq" + name))
        for r in QUERY_CROPS:
            fps.extend(_pdq_and_mirror(_centre_crop(base, r), f"pdq{name}_q{round(r * 100)}"))
        fps.append(_phash(base, "phash" + name))
    small = _rendition(whole, _ROTATION_SIZE)
    for angle in QUERY_ROTATIONS:
        turned = small.rotate(angle, resample=Image.Resampling.BILINEAR)
        fps.extend(_pdq_and_mirror(_centre_crop(turned, ROTATION_CROP), f"pdq_r{angle:+g}"))
    return fps, bases.get("_region")


def working_copy(img: Image.Image, size: int = WORK_SIZE) -> Image.Image:
    """8-bit RGB, at most `size` px on the long side, transparency flattened onto white.

    White, because that is how viewers and most "save as JPEG" paths flatten a transparent image,
    so a PNG with alpha and its flattened JPEG hash alike.
    """
    img = _eight_bit(img)
    factor = -(-max(img.size) // size)
    if factor > 1:
        img = img.reduce(factor)
    if img.mode == "RGBA":
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(img, mask=img.getchannel("A"))
        return flat
    return img if img.mode == "RGB" else img.convert("RGB")


def _eight_bit(img: Image.Image) -> Image.Image:
    """Bring any Pillow mode to L, RGB or RGBA without clipping 16-bit or float images to white."""
    mode = img.mode
    if mode in ("RGB", "RGBA", "L"):
        return img
    if mode.startswith("I") or mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        hi = float(arr.max()) if arr.size else 0.0
        if mode == "F" and hi <= 1.0:
            arr = arr * 255.0
        elif hi > 255.0:
            arr = arr / 257.0
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    has_alpha = "A" in mode or "a" in mode or "transparency" in img.info
    return img.convert("RGBA" if has_alpha else "RGB")


def trim_box(
    img: Image.Image, min_trim: float = _MIN_TRIM, tolerance: int = _BORDER_TOL
) -> Box | None:
    """Where the picture is inside uniform bars (padding, letterboxing); None if there are none."""
    arr = np.asarray(img, dtype=np.int16)
    h, w = arr.shape[:2]
    cols = arr.transpose(1, 0, 2)
    top, bottom = _border_run(arr, tolerance), _border_run(arr[::-1], tolerance)
    left, right = _border_run(cols, tolerance), _border_run(cols[::-1], tolerance)
    keep_h, keep_w = h - top - bottom, w - left - right
    if keep_h < _MIN_KEEP * h or keep_w < _MIN_KEEP * w:
        return None
    if top + bottom + left + right == 0:
        return None
    if top + bottom < min_trim * h and left + right < min_trim * w:
        return None
    return left, top, w - right, h - bottom


def _border_run(arr: np.ndarray, tolerance: int) -> int:
    """How many leading rows of `arr` (rows, cols, 3) are uniform in the first row's colour."""
    arr = arr[: len(arr) - round(_MIN_KEEP * len(arr))]
    colour = np.median(arr[0], axis=0).astype(np.int16)
    close = np.abs(arr - colour).sum(axis=2) <= tolerance
    uniform = close.mean(axis=1) >= _BORDER_SHARE
    return len(uniform) if uniform.all() else int(np.argmin(uniform))


def region_box(img: Image.Image, *, lossless: bool = False) -> Box | None:
    """Where the largest picture-like block on a flat page (screenshot, meme) is, or None.

    `lossless`: the file keeps the page's exact colour (a PNG screenshot), so picture edges that
    come close to the page colour can still be told from it (see `_extend`).
    """
    arr = np.asarray(img, dtype=np.int16)
    quant = (arr[..., 0] // 16) * 256 + (arr[..., 1] // 16) * 16 + arr[..., 2] // 16
    codes, counts = np.unique(quant, return_counts=True)
    top = int(np.argmax(counts))
    if counts[top] < _BG_SHARE * quant.size:
        return None
    colour = _modal_colour(arr[quant == codes[top]])
    distance = np.abs(arr - colour).sum(axis=2)
    foreground = distance > _BG_TOL
    labels, count = ndimage.label(foreground, structure=np.ones((3, 3)))
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    ys, xs = ndimage.find_objects(labels)[int(np.argmax(sizes))]
    # Captions touching the picture join its blob: peel edge rows/columns that show the page
    # between letters; a picture's own rows are (nearly) all foreground.
    page = ~foreground[ys, xs]
    top, bottom = _page_run(page.mean(axis=1)), _page_run(page.mean(axis=1)[::-1])
    left, right = _page_run(page.mean(axis=0)), _page_run(page.mean(axis=0)[::-1])
    box = (xs.start + left, ys.start + top, xs.stop - right, ys.stop - bottom)
    if lossless and box[2] > box[0] and box[3] > box[1]:
        box = _extend(box, distance > _BG_TOL_EXACT)
    h, w = foreground.shape
    area = max(0, box[2] - box[0]) * max(0, box[3] - box[1]) / (h * w)
    if not _REGION_MIN <= area <= _REGION_MAX:
        return None
    return box


def _refine(work: Image.Image, small: Image.Image, box: Box, *, lossless: bool) -> Image.Image:
    """`box` found on the small rendition, with its edges placed at full resolution.

    A pixel of the rendition is several of `work`, and a picture misplaced by 2 % moves PDQ by
    ~20 bits: grow the box by one rendition pixel and trim the page colour back off.
    """
    left, top, right, bottom = box
    grown = (max(0, left - 1), max(0, top - 1), min(small.width, right + 1))
    crop = _crop_scaled(work, small, (*grown, min(small.height, bottom + 1)))
    # A lossless page is one exact colour: trimming it must not take a bright sky along.
    tolerance = _BG_TOL_EXACT if lossless else _BORDER_TOL
    inner = trim_box(crop, min_trim=0.0, tolerance=tolerance)
    return crop.crop(inner) if inner is not None else crop


def _crop_scaled(work: Image.Image, small: Image.Image, box: Box) -> Image.Image:
    """Crop `work` where `box` lies on its smaller rendition `small`."""
    sx, sy = work.width / small.width, work.height / small.height
    left, top, right, bottom = box
    return work.crop((round(left * sx), round(top * sy), round(right * sx), round(bottom * sy)))


def _modal_colour(pixels: np.ndarray) -> np.ndarray:
    """The most frequent exact colour: a flat page's own, not pulled by picture pixels that
    share its coarse colour bin (a bright sky)."""
    rgb = pixels.astype(np.int32)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    values, counts = np.unique(packed, return_counts=True)
    mode = int(values[np.argmax(counts)])
    return np.array([mode >> 16, (mode >> 8) & 255, mode & 255], dtype=np.int16)


def _extend(box: Box, off_page: np.ndarray) -> Box:
    """Grow `box` over adjacent rows/columns that are mostly off the exact page colour.

    Bright sky or snow at a picture's edge is within the loose tolerance of a light page and
    drops out of the picture's blob; against the exact page colour it is still picture.
    Caption rows (a few letters) and page rows stop the growth. Only for lossless files: JPEG
    ringing around text and edges is "off the exact colour" too, and the box would eat page
    and captions (Flickr8k screenshots as JPEG q70: 48 -> 143 misses of 300 with it).
    """
    left, top, right, bottom = box
    h, w = off_page.shape
    grew = True
    while grew:
        grew = False
        if top > 0 and off_page[top - 1, left:right].mean() >= _EXTEND_SHARE:
            top, grew = top - 1, True
        if bottom < h and off_page[bottom, left:right].mean() >= _EXTEND_SHARE:
            bottom, grew = bottom + 1, True
        if left > 0 and off_page[top:bottom, left - 1].mean() >= _EXTEND_SHARE:
            left, grew = left - 1, True
        if right < w and off_page[top:bottom, right].mean() >= _EXTEND_SHARE:
            right, grew = right + 1, True
    return left, top, right, bottom


def _page_run(page_share: np.ndarray) -> int:
    mostly_page = page_share > _PAGE_SHARE
    return len(mostly_page) if mostly_page.all() else int(np.argmin(mostly_page))


def _rendition(img: Image.Image, size: int) -> Image.Image:
    """Aspect-preserving copy at most `size` px on the long side (geometry is done at this size)."""
    scale = size / max(img.size)
    if scale >= 1:
        return img
    dims = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(dims, Image.Resampling.BOX)


def _centre_crop(img: Image.Image, scale: float) -> Image.Image:
    w, h = img.size
    cw, ch = max(1, round(w * scale)), max(1, round(h * scale))
    left, top = (w - cw) // 2, (h - ch) // 2
    return img.crop((left, top, left + cw, top + ch))


def _pdq_input(img: Image.Image) -> np.ndarray:
    small = img.resize(
        (_PDQ_SIZE, _PDQ_SIZE),
        Image.Resampling.BOX if min(img.size) >= _PDQ_SIZE else Image.Resampling.BILINEAR,
    )
    return np.asarray(small)


def _pdq(img: Image.Image, kind: str) -> Fingerprint:
    bits, quality = pdqhash.compute(_pdq_input(img))
    return Fingerprint(kind, np.packbits(bits.astype(np.uint8)).tobytes(), int(quality))


def _pdq_dihedral(img: Image.Image, prefix: str) -> list[Fingerprint]:
    hashes, quality = pdqhash.compute_dihedral(_pdq_input(img))
    return [
        Fingerprint(prefix + suffix, np.packbits(bits.astype(np.uint8)).tobytes(), int(quality))
        for suffix, bits in zip(_DIHEDRAL, hashes, strict=True)
    ]


def _pdq_and_mirror(img: Image.Image, prefix: str) -> list[Fingerprint]:
    """The picture and its mirror image (one DCT pass gives both)."""
    both = _pdq_dihedral(img, prefix)
    return [both[0], both[_DIHEDRAL.index("_mirror")]]


def _phash(img: Image.Image, kind: str) -> Fingerprint:
    """ImageHash's pHash: the same bits as `str(imagehash.phash(img))`, packed big-endian."""
    bits = imagehash.phash(img).hash.flatten()
    return Fingerprint(kind, np.packbits(bits).tobytes())
