"""PDF (and Illustrator files saved with PDF compatibility, which are PDFs): the text layer
page by page, document properties, and the first pages rendered as pictures.

PDFium (pypdfium2) reads the file from disk on demand, so a large PDF is never loaded whole.
Work is bounded whatever the file claims: text is read from the first `MAX_TEXT_PAGES` pages
(at most `MAX_PAGE_CHARS` a page, `MAX_TEXT_CHARS` in all, for at most `READ_SECONDS`), and
at most `MAX_RENDERED` pages are rendered, each to `RENDER_LONG_SIDE` px on its long side
however large the page says it is. Pages with no text layer (scans) are listed in
`metadata["pages_without_text"]` and rendered (within the cap) into `ModelInputs.frames`,
where the OCR step reads them.

A PDF with no text of its own gets the picture fingerprints of its first page instead of
text fingerprints, so a re-saved scan is still found as a copy.
"""

from __future__ import annotations

import re
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from assetloom.core.assets import MediaType, Segment
from assetloom.errors import BadInputError
from assetloom.ingest.extractors.base import register
from assetloom.ingest.extractors.document_text import (
    clean,
    fill_text,
    keyword_list,
    put,
    split_passages,
)
from assetloom.ingest.extractors.image import make_thumbnail
from assetloom.ingest.paths import display_path
from assetloom.ingest.records import ModelInputs, Options, Prepared

if TYPE_CHECKING:
    import pypdfium2 as pdfium
    from PIL import Image

MAX_TEXT_PAGES = 500
MAX_PAGE_CHARS = 100_000
MAX_TEXT_CHARS = 2_000_000
READ_SECONDS = 60.0
"""Reading text stops here (pages read so far are kept): a page that takes PDFium long to
lay out must not hold a worker for minutes."""
RENDERED_PAGES = 4
"""The first pages rendered as pictures: each gets a visual vector of its own."""
MAX_RENDERED = 8
"""Pages rendered in all: the first ones, then pages without text (for OCR) up to this."""
RENDER_LONG_SIDE = 1280
"""Long side of a rendered page in px: about 110 dpi for A4, legible for OCR."""
MAX_RENDER_SCALE = 8.0
"""A tiny page (a 1-inch label) is enlarged at most this much."""

PDF_MIMES = frozenset({"application/pdf", "application/x-pdf"})
_PDF_DATE = re.compile(
    r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:([Zz+-])(\d{2})?'?(\d{2})?'?)?"
)


class PdfExtractor:
    media_type: ClassVar[MediaType] = MediaType.DOCUMENT

    def accepts(self, mime: str) -> bool:
        return mime in PDF_MIMES

    def mime_of(self, where: str, mime: str) -> str:
        return "application/illustrator" if where.lower().endswith(".ai") else "application/pdf"

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        import pypdfium2 as pdfium

        where = display_path(path)
        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            raise _open_error(where, exc) from exc
        try:
            return _extract(pdf, where, record, opts, query)
        finally:
            pdf.close()


def _open_error(where: str, exc: Exception) -> BadInputError:
    detail = str(exc)
    if "password" in detail.lower():
        return BadInputError(
            f"{where}: encrypted PDF (password protected)",
            hint="save a copy without a password to add it",
        )
    if "security" in detail.lower():
        return BadInputError(f"{where}: encrypted PDF (unsupported security handler)")
    reason = detail.removeprefix("Failed to load document ").strip("().")
    return BadInputError(
        f"{where}: damaged or truncated PDF ({reason})",
        hint="open and re-save it in a PDF reader, or export it again",
    )


def _extract(
    pdf: pdfium.PdfDocument, where: str, record: Prepared, opts: Options, query: bool
) -> ModelInputs:
    pages = len(pdf)
    if pages == 0:
        raise BadInputError(f"{where}: PDF without pages")
    record.metadata = _properties(pdf, pages, where)
    passages, without_text, read = _read_text(pdf, min(pages, MAX_TEXT_PAGES))
    if read < pages:
        record.metadata["pages_read"] = read
    if without_text:
        record.metadata["pages_without_text"] = without_text
    texts = fill_text(record, passages, query=query)
    has_text_identity = bool(record.fingerprints)
    inputs = ModelInputs(texts=texts)
    if query and has_text_identity:
        return inputs  # verify matches by text; pictures would only cost time
    first = _render(pdf, 1)
    if first is None:
        return inputs
    inputs.images = [first]
    if not has_text_identity:
        from assetloom.ingest.image_fingerprints import query_fingerprints, stored_fingerprints

        record.fingerprints = query_fingerprints(first) if query else stored_fingerprints(first)
    if query:
        return inputs
    record.thumbnail = make_thumbnail(first, opts.thumbnail_size)
    wanted = list(range(1, min(pages, RENDERED_PAGES) + 1))
    wanted += [n for n in without_text if n not in wanted]
    for n in wanted[:MAX_RENDERED]:
        image = first if n == 1 else _render(pdf, n)
        if image is not None:
            inputs.frames.append((Segment("page", page=n), image))
            # A preview per rendered page, for the asset page (derived/<sha>/page-N.webp).
            record.derived[f"page-{n}.webp"] = make_thumbnail(image, opts.thumbnail_size)
    return inputs


def _read_text(pdf: pdfium.PdfDocument, pages: int) -> tuple[list[Segment], list[int], int]:
    """(passages, 1-based pages without a text layer, pages read)."""
    import pypdfium2 as pdfium

    passages: list[Segment] = []
    without_text: list[int] = []
    budget = MAX_TEXT_CHARS
    deadline = time.monotonic() + READ_SECONDS
    for index in range(pages):
        if budget <= 0 or time.monotonic() > deadline:
            return passages, without_text, index
        try:
            page = pdf[index]
        except pdfium.PdfiumError:
            without_text.append(index + 1)  # unreadable: a picture of it may still render
            continue
        try:
            textpage = page.get_textpage()
            count = min(textpage.count_chars(), MAX_PAGE_CHARS, budget)
            text = clean(textpage.get_text_range(0, count)) if count > 0 else ""
            textpage.close()
        except pdfium.PdfiumError:
            text = ""
        finally:
            page.close()
        budget -= len(text)
        if text:
            passages.extend(split_passages("page", text, index + 1))
        else:
            without_text.append(index + 1)
    return passages, without_text, pages


def _render(pdf: pdfium.PdfDocument, number: int) -> Image.Image | None:
    """Page `number` (1-based) as an RGB picture `RENDER_LONG_SIDE` px on its long side;
    None when PDFium cannot draw it."""
    import pypdfium2 as pdfium

    try:
        page = pdf[number - 1]
    except pdfium.PdfiumError:
        return None
    try:
        width, height = page.get_size()
        if not (width > 0 and height > 0):
            return None
        scale = min(RENDER_LONG_SIDE / max(width, height), MAX_RENDER_SCALE)
        bitmap = page.render(scale=scale, may_draw_forms=False)
        return bitmap.to_pil().convert("RGB")
    except pdfium.PdfiumError:
        return None
    finally:
        page.close()


def _properties(pdf: pdfium.PdfDocument, pages: int, where: str) -> dict[str, Any]:
    import pypdfium2 as pdfium

    meta: dict[str, Any] = {"format": "PDF", "pages": pages}
    with suppress(pdfium.PdfiumError, ValueError):
        version = pdf.get_version()
        if version:
            meta["pdf_version"] = f"{version // 10}.{version % 10}"
    try:
        info = pdf.get_metadata_dict(skip_empty=True)
    except (pdfium.PdfiumError, UnicodeDecodeError):
        info = {}
    put(meta, "title", info.get("Title", "")[:500])
    put(meta, "author", info.get("Author", "")[:500])
    put(meta, "description", info.get("Subject", "")[:2000])
    put(meta, "keywords", keyword_list(info.get("Keywords"))[:100])
    put(meta, "creator", info.get("Creator", "")[:200])
    put(meta, "producer", info.get("Producer", "")[:200])
    put(meta, "creation_time", pdf_date(info.get("CreationDate", "")))
    put(meta, "modified_time", pdf_date(info.get("ModDate", "")))
    with suppress(pdfium.PdfiumError, IndexError):
        width, height = pdf.get_page_size(0)
        meta["page_size_pt"] = [round(width, 1), round(height, 1)]
    return meta


def pdf_date(value: str) -> str | None:
    """A PDF date ("D:20240315093000+01'00'") as ISO 8601; None when it is not one."""
    m = _PDF_DATE.match(value.strip())
    if not m:
        return None
    year, month, day, hour, minute, second, sign, tz_h, tz_m = m.groups()
    tz = UTC
    if sign in ("+", "-"):
        offset = timedelta(hours=int(tz_h or 0), minutes=int(tz_m or 0))
        tz = timezone(offset if sign == "+" else -offset)
    try:
        when = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return when.isoformat()


register(PdfExtractor())
