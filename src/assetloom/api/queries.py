"""Query uploads (verify, search by an example) are sized up before anything decodes them.

A 0.57 MB PNG can declare 196 MP, ~1.5 GB once decoded, and a 60 MiB text takes seconds of
CPU and gigabytes to fingerprint; a query needs neither (matching looks at ~512 px, and a
suspect text is a page, not a library). Pixels are counted as they will be decoded: JPEGs
decode at a reduced DCT scale (`Image.draft`, as the query decoders do), so a big camera JPEG
passes where a PNG of the same size does not. Reading a header costs microseconds.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from assetloom.api.errors import PayloadTooLargeError
from assetloom.api.uploads import UploadedFile
from assetloom.core.assets import MediaType
from assetloom.errors import AssetLoomError
from assetloom.ingest.decode import DECODE_TARGET
from assetloom.ingest.prepare import init_worker
from assetloom.ingest.sniff import sniff


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_pixels: int
    max_text_bytes: int
    bomb_pixels: int
    """The library's `max_image_pixels`, which the decoders set as Pillow's bomb limit."""


def check_query_files(files: Iterable[UploadedFile], limits: QueryLimits) -> None:
    """Raise PayloadTooLargeError (413) for the first file over a query limit.

    Files that are not readable images or texts pass: verify and search report those per
    file, as they always have.
    """
    init_worker()  # HEIF/AVIF headers, as the decoders will read them
    for f in files:
        _check(f, limits)


def _check(f: UploadedFile, limits: QueryLimits) -> None:
    try:
        with f.path.open("rb") as fh:
            head = fh.read(8192)
        kind = sniff(f.name, head)
    except (OSError, AssetLoomError):
        return
    if kind.media_type is MediaType.TEXT:
        if f.size > limits.max_text_bytes:
            raise PayloadTooLargeError(
                f"{f.name}: {f.size} bytes of text is over the {limits.max_text_bytes}-byte "
                "limit for query texts",
                hint="verify an excerpt (a few pages are enough to find copies), or ask the "
                "admin to raise --query-max-text-bytes",
            )
        return
    size = _decoded_size(f, limits)
    if size is not None and size[0] * size[1] > limits.max_pixels:
        width, height = size
        raise PayloadTooLargeError(
            f"{f.name}: {width}x{height} px ({_mp(width * height)} MP decoded) is over the "
            f"{_mp(limits.max_pixels)} MP limit for query images",
            hint="send a smaller copy (matching needs about 1,000 px on the long side), a "
            "JPEG (decoded at a reduced scale), or ask the admin to raise --query-max-pixels",
        )


def _decoded_size(f: UploadedFile, limits: QueryLimits) -> tuple[int, int] | None:
    """(width, height) the query decoders will decode, from the header alone; None when the
    file is not a readable image (the decoders say so themselves)."""
    # The same process-wide limit the decoders set (prepare.py), so Pillow's own bomb check
    # at open only fires past twice it and our size check speaks first.
    Image.MAX_IMAGE_PIXELS = limits.bomb_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(f.path) as im:
                im.draft("RGB", DECODE_TARGET)
                return im.size
    except Image.DecompressionBombError as exc:
        raise PayloadTooLargeError(
            f"{f.name}: declares more than {_mp(2 * limits.bomb_pixels)} MP; refused as a "
            "possible decompression bomb",
            hint="send a smaller copy (matching needs about 1,000 px on the long side)",
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        return None


def _mp(pixels: int) -> str:
    return f"{pixels / 1e6:.1f}".removesuffix(".0")
