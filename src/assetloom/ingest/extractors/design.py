"""Designs: Photoshop (PSD/PSB), SVG, and EPS/PostScript (old Illustrator files among them).

Each is a picture first: its composite or rendering is what the image encoders see, what the
thumbnail is made from, and what the picture fingerprints are taken of, exactly as for an
image, so a PNG or JPEG export of a design is found as its copy by `verify`. The text inside
(PSD text layers and layer names, SVG text elements) goes to keyword search and metadata.

- PSD: psd-tools, its allocation and parse budgets set; the stored composite (what Photoshop
  saves with "Maximize compatibility") or, without one, psd-tools' own compositing.
- SVG: parsed with lxml (no entities, no network, no DTD), references to anything outside the
  file dropped (a server must never draw its own files into a thumbnail), the expansion of
  `<use>` references bounded, then rendered by resvg to fit `RENDER_BOX`.
- EPS/PostScript: Ghostscript (`gs`, -dSAFER) when it is installed, under a time limit; the
  page size follows the BoundingBox and is capped. Without `gs` the file is skipped, saying so.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from PIL import Image, UnidentifiedImageError

from assetloom.core.assets import MediaType
from assetloom.errors import BadInputError, UnsupportedMediaError
from assetloom.ingest.extractors.base import register
from assetloom.ingest.extractors.document_text import joined, put
from assetloom.ingest.extractors.image import make_thumbnail
from assetloom.ingest.paths import display_path
from assetloom.ingest.records import ModelInputs, Options, Prepared

if TYPE_CHECKING:
    from lxml import etree

PSD_MIMES = frozenset({"image/vnd.adobe.photoshop", "image/x-photoshop", "application/x-photoshop"})
SVG_MIMES = frozenset({"image/svg+xml", "image/svg"})
EPS_MIMES = frozenset({"application/postscript", "image/x-eps", "application/eps", "image/eps"})
MAX_LAYER_NAMES = 200
RENDER_BOX = 1024
"""SVG and EPS are drawn to fit this square: vector art has no size of its own to keep."""
MAX_SVG_BYTES = 32 * 1024 * 1024
MAX_SVG_ELEMENTS = 200_000
MAX_SVG_EXPANDED = 1_000_000
"""Elements drawn once `<use>` references are expanded: nested uses multiply (ten levels of
ten uses is 10^10 drawings from a hundred elements), and resvg would draw them all."""
EPS_SECONDS = 30
"""PostScript is a programming language: a file may loop forever."""
EPS_MAX_DPI = 600.0
_EPS_HEADER_BYTES = 64 * 1024
_EPS_MAX_OUTPUT = 64 * 1024 * 1024
_SVG = "{http://www.w3.org/2000/svg}"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_UNITS = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0}
_LENGTH = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(px|pt|pc|mm|cm|in)?\s*$")
_DSC = re.compile(rb"^%%(BoundingBox|HiResBoundingBox|Title|Creator|CreationDate):\s*(.*?)\s*$")


def _picture(record: Prepared, image: Image.Image, opts: Options, query: bool) -> ModelInputs:
    """A design's picture handled as an image is: fingerprints, thumbnail, the visual input."""
    from assetloom.ingest.image_fingerprints import query_fingerprints, stored_fingerprints

    if query:
        record.fingerprints = query_fingerprints(image, lossless=True)
    else:
        record.fingerprints = stored_fingerprints(image)
        record.thumbnail = make_thumbnail(image, opts.thumbnail_size)
    return ModelInputs(images=[image])


def _bomb(where: str, width: int, height: int, opts: Options) -> BadInputError:
    return BadInputError(
        f"{where}: refused as a possible decompression bomb ({width}x{height} px is over the "
        f"{opts.max_image_pixels}-pixel limit)",
        hint="raise max_image_pixels in assetloom.toml if the design is genuine",
    )


class PhotoshopExtractor:
    media_type: ClassVar[MediaType] = MediaType.DOCUMENT

    def accepts(self, mime: str) -> bool:
        return mime in PSD_MIMES

    def mime_of(self, where: str, mime: str) -> str:
        return "image/vnd.adobe.photoshop"

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        from psd_tools import ParseLimitError, PSDImage
        from psd_tools.api.layers import TypeLayer

        where = display_path(path)
        with path.open("rb") as fh:
            header = fh.read(26)
        if len(header) < 26 or not header.startswith(b"8BPS"):
            raise BadInputError(f"{where}: damaged or truncated Photoshop file (no header)")
        height, width = struct.unpack(">II", header[14:22])
        if width * height > opts.max_image_pixels:  # before anything is parsed
            raise _bomb(where, width, height, opts)
        try:
            psd = PSDImage.open(path, max_alloc_bytes=max(opts.max_image_pixels, 1) * 8)
        except ParseLimitError as exc:
            raise BadInputError(f"{where}: refused as a possible PSD bomb ({exc})") from exc
        except (OSError, ValueError, EOFError, KeyError, AssertionError, TypeError) as exc:
            raise BadInputError(f"{where}: damaged or truncated Photoshop file ({exc})") from exc
        record.width, record.height = psd.width, psd.height
        names: list[str] = []
        texts: list[str] = []
        layers = 0
        try:
            for layer in psd.descendants():
                layers += 1
                if layer.name and len(names) < MAX_LAYER_NAMES:
                    names.append(layer.name)
                if isinstance(layer, TypeLayer) and layer.text.strip():
                    texts.append(layer.text.replace("\r", "\n").strip())
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            raise BadInputError(f"{where}: damaged Photoshop layers ({exc})") from exc
        meta: dict[str, Any] = {
            "format": "PSB" if psd.version == 2 else "PSD",
            "color_mode": psd.color_mode.name,
            "depth": psd.depth,
            "layers": layers,
        }
        put(meta, "layer_names", names)
        put(meta, "text_layers", texts[:MAX_LAYER_NAMES])
        record.metadata = meta
        record.text_content = joined([*texts, *names]) or None
        return _picture(record, _composite(psd, where), opts, query)


def _composite(psd: Any, where: str) -> Image.Image:
    """The stored composite; psd-tools' own compositing when there is none (a vector shape
    needs aggdraw, which is not installed: such files without a composite are refused)."""
    try:
        image = psd.composite()
    except ImportError as exc:
        raise UnsupportedMediaError(
            f"{where}: Photoshop file without a stored composite, and its layers need "
            f"compositing this install lacks ({exc})",
            hint='re-save it in Photoshop with "Maximize compatibility" on',
        ) from exc
    except (ValueError, OSError, EOFError, KeyError, IndexError, TypeError) as exc:
        raise BadInputError(f"{where}: damaged Photoshop image data ({exc})") from exc
    if image is None:
        raise BadInputError(f"{where}: Photoshop file with no image data")
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


class SvgExtractor:
    media_type: ClassVar[MediaType] = MediaType.DOCUMENT

    def accepts(self, mime: str) -> bool:
        return mime in SVG_MIMES

    def mime_of(self, where: str, mime: str) -> str:
        return "image/svg+xml"

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        where = display_path(path)
        if record.size > MAX_SVG_BYTES:
            raise BadInputError(f"{where}: SVG files over {MAX_SVG_BYTES // 2**20} MiB are refused")
        root = _parse_svg(path.read_bytes(), where)
        meta: dict[str, Any] = {"format": "SVG"}
        dropped = _drop_outside_references(root)
        if dropped:
            meta["external_references_dropped"] = dropped
        texts = [_words(el) for el in root.iter(f"{_SVG}text")]
        texts = [t for t in texts if t]
        for key in ("title", "desc"):
            el = root.find(f"{_SVG}{key}")
            if el is not None:
                put(meta, "title" if key == "title" else "description", _words(el))
        size = _svg_size(root)
        if size:
            record.width, record.height = round(size[0]), round(size[1])
        record.metadata = meta
        record.text_content = joined(texts) or None
        return _picture(record, _render_svg(root, where, has_text=bool(texts)), opts, query)


def _words(el: etree._Element) -> str:
    """An element's text, its tspans and line breaks run together as words."""
    return " ".join("".join(el.itertext()).split())


def _parse_svg(data: bytes, where: str) -> etree._Element:
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        if "amplification" in str(exc):  # libxml2 stopped a "billion laughs"
            raise BadInputError(f"{where}: refused as a possible XML entity bomb") from exc
        raise BadInputError(f"{where}: damaged or truncated SVG ({exc})") from exc
    if root is None or etree.QName(root).localname != "svg":
        raise BadInputError(f"{where}: not an SVG drawing (the root element is not <svg>)")
    count = sum(1 for _ in root.iter())
    if count > MAX_SVG_ELEMENTS or _expanded_size(root) > MAX_SVG_EXPANDED:
        raise BadInputError(
            f"{where}: refused as a possible SVG bomb ({count} elements, more than "
            f"{MAX_SVG_EXPANDED} once <use> references are expanded)",
            hint="simplify the drawing, or add a PNG export of it",
        )
    return root


def _expanded_size(root: etree._Element) -> int:
    """Elements drawn once every `<use>` is replaced by what it points to (self-referencing
    uses count as the cap: resvg refuses them, and so do we)."""
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    # Keyed by the element objects themselves: holding them keeps lxml's proxies (and so
    # their identity) alive, where id() of a dropped proxy could be reused.
    sizes: dict[Any, int] = {}
    active: set[Any] = set()

    def size(el: Any) -> int:
        if el in sizes:
            return sizes[el]
        if el in active:
            return MAX_SVG_EXPANDED + 1
        active.add(el)
        total = 1
        for child in el:
            total += size(child)
            if total > MAX_SVG_EXPANDED:
                break
        ref = el.get("href") or el.get(_XLINK_HREF) or ""
        if el.tag == f"{_SVG}use" and ref.startswith("#") and ref[1:] in by_id:
            total += size(by_id[ref[1:]])
        active.discard(el)
        sizes[el] = min(total, MAX_SVG_EXPANDED + 1)
        return sizes[el]

    # Recursion depth is the document's nesting, which libxml2 caps at 256 (no huge_tree).
    return size(root)


def _drop_outside_references(root: etree._Element) -> int:
    """Remove links to files or URLs (images, fonts, other SVGs); keep `#id` and data: URIs."""
    dropped = 0
    for el in root.iter():
        for attr in ("href", _XLINK_HREF):
            ref = (el.get(attr) or "").strip()
            if ref and not ref.startswith(("#", "data:")):
                del el.attrib[attr]
                dropped += 1
    return dropped


def _svg_size(root: etree._Element) -> tuple[float, float] | None:
    """The drawing's own size in CSS px: width/height, else the viewBox's."""
    width, height = _length(root.get("width")), _length(root.get("height"))
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if len(box) == 4:
        try:
            bw, bh = float(box[2]), float(box[3])
        except ValueError:
            bw = bh = 0.0
        if bw > 0 and bh > 0:
            if width and not height:
                height = width * bh / bw
            elif height and not width:
                width = height * bw / bh
            elif not width and not height:
                width, height = bw, bh
    return (width, height) if width and height else None


def _length(value: str | None) -> float | None:
    m = _LENGTH.match(value or "")
    if not m:
        return None
    number = float(m.group(1)) * _UNITS[m.group(2) or ""]
    return number if number > 0 else None


def _render_svg(root: etree._Element, where: str, *, has_text: bool) -> Image.Image:
    import resvg_py
    from lxml import etree

    markup = etree.tostring(root, encoding="unicode")
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=markup,
            width=RENDER_BOX,
            height=RENDER_BOX,
            dpi=96.0,  # CSS's px per inch: lengths in mm, pt or in (resvg-py's 0 breaks them)
            # Loading the system's fonts costs more than drawing most icons: only for text.
            skip_system_fonts=not has_text,
        )
    except (ValueError, RuntimeError) as exc:
        raise BadInputError(f"{where}: SVG that cannot be drawn ({exc})") from exc
    with Image.open(io.BytesIO(png)) as im:
        im.load()
        return im.convert("RGBA")


class PostScriptExtractor:
    media_type: ClassVar[MediaType] = MediaType.DOCUMENT

    def accepts(self, mime: str) -> bool:
        return mime in EPS_MIMES

    def mime_of(self, where: str, mime: str) -> str:
        return "application/postscript"

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        where = display_path(path)
        gs = shutil.which("gs")
        if gs is None:
            raise UnsupportedMediaError(
                f"{where}: EPS/PostScript needs Ghostscript to be drawn, and it is not installed",
                hint="install Ghostscript (apt-get install ghostscript), or add a PDF export",
            )
        dsc = _dsc_comments(path)
        meta: dict[str, Any] = {"format": "EPS" if dsc.get("eps") else "PostScript"}
        if "Adobe Illustrator" in str(dsc.get("Creator", "")):
            meta["format"] = "AI"
        put(meta, "title", str(dsc.get("Title", ""))[:500])
        put(meta, "creator", str(dsc.get("Creator", ""))[:200])
        box = dsc.get("box")
        page: tuple[float, float, float, float] | None = None
        if isinstance(box, tuple) and box[2] > box[0] and box[3] > box[1]:
            meta["bounding_box"] = list(box)
            page = box
            record.width, record.height = round(box[2] - box[0]), round(box[3] - box[1])
        record.metadata = meta
        image = _ghostscript(gs, path, where, page, opts)
        return _picture(record, image, opts, query)


def _dsc_comments(path: Path) -> dict[str, object]:
    """The header's DSC comments: BoundingBox (HiRes preferred), Title, Creator."""
    with path.open("rb") as fh:
        head = fh.read(_EPS_HEADER_BYTES)
    if head.startswith(b"\xc5\xd0\xd3\xc6") and len(head) >= 12:  # DOS EPS: PostScript inside
        start = int.from_bytes(head[4:8], "little")
        length = int.from_bytes(head[8:12], "little")
        with path.open("rb") as fh:
            fh.seek(start)
            head = fh.read(min(length, _EPS_HEADER_BYTES))
    out: dict[str, object] = {"eps": b"EPSF" in head.split(b"\n", 1)[0]}
    for line in head.splitlines():
        m = _DSC.match(line)
        if not m:
            continue
        key, value = m.group(1).decode(), m.group(2).decode("latin-1")
        if key.endswith("BoundingBox"):
            try:
                x0, y0, x1, y1 = (float(v) for v in value.split())
            except ValueError:
                continue
            if key == "HiResBoundingBox" or "box" not in out:
                out["box"] = (x0, y0, x1, y1)
        else:
            out.setdefault(key, value.strip("()"))
    return out


def _ghostscript(
    gs: str, path: Path, where: str, box: tuple[float, float, float, float] | None, opts: Options
) -> Image.Image:
    """The first page as RGB. The page is fixed (-dFIXEDMEDIA) to the BoundingBox, or to
    Ghostscript's default paper without one, so a file asking for a page of a mile square
    (`setpagedevice`) still gets a bounded bitmap."""
    dpi = 150.0
    page: list[str] = []
    if box is not None:
        x0, y0, x1, y1 = box
        dpi = min(72.0 * RENDER_BOX / max(x1 - x0, y1 - y0), EPS_MAX_DPI)
        page = [
            f"-dDEVICEWIDTHPOINTS={x1 - x0:.3f}",
            f"-dDEVICEHEIGHTPOINTS={y1 - y0:.3f}",
            "-c",
            f"<< /Install {{ {-x0:.3f} {-y0:.3f} translate }} >> setpagedevice",
        ]
    cmd = [
        gs,
        "-q",
        "-dSAFER",
        "-dBATCH",
        "-dNOPAUSE",
        "-dFIXEDMEDIA",
        "-dFirstPage=1",
        "-dLastPage=1",
        "-sDEVICE=png16m",
        f"-r{dpi:.2f}",
        "-dTextAlphaBits=4",
        "-dGraphicsAlphaBits=4",
        "-sOutputFile=-",
        *page,
        "-f",
        str(path),
    ]
    try:
        done = subprocess.run(
            cmd, capture_output=True, timeout=EPS_SECONDS, stdin=subprocess.DEVNULL, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BadInputError(
            f"{where}: PostScript that Ghostscript could not draw within {EPS_SECONDS} s"
        ) from exc
    if done.returncode != 0 or not done.stdout:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BadInputError(
            f"{where}: damaged EPS/PostScript (Ghostscript: {detail[0] if detail else 'no page'})"
        )
    if len(done.stdout) > _EPS_MAX_OUTPUT:
        raise BadInputError(f"{where}: PostScript page too large to draw")
    Image.MAX_IMAGE_PIXELS = opts.max_image_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(done.stdout)) as im:
                im.load()
                return im.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadInputError(f"{where}: refused as a possible decompression bomb ({exc})") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise BadInputError(f"{where}: damaged EPS/PostScript ({exc})") from exc


register(PhotoshopExtractor())
register(SvgExtractor())
register(PostScriptExtractor())
