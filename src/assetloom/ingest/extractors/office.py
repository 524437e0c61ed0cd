"""Word (DOCX) and PowerPoint (PPTX): text by section and by slide, document properties, and
the thumbnail Office stores in the package when it has one.

Both are zip packages that python-docx and python-pptx unpack into memory, part by part. The
zip directory is checked first: more than `MAX_ENTRIES` entries or more than
`MAX_UNPACKED_BYTES` declared when unpacked is refused as a possible zip bomb, before any
part is inflated (Python's zipfile never inflates an entry past its declared size, so the
directory's figures bound the memory used).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from assetloom.core.assets import MediaType, Segment
from assetloom.errors import BadInputError
from assetloom.ingest.extractors.base import register
from assetloom.ingest.extractors.document_text import (
    clean,
    fill_text,
    joined,
    keyword_list,
    put,
    split_passages,
)
from assetloom.ingest.extractors.image import make_thumbnail
from assetloom.ingest.paths import display_path
from assetloom.ingest.records import ModelInputs, Options, Prepared

if TYPE_CHECKING:
    from docx.document import Document as WordDocument
    from pptx.presentation import Presentation

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
MAX_ENTRIES = 10_000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_XML_BYTES = 64 * 1024 * 1024
"""XML parts unpacked, in all: lxml's trees take several times their text."""
MAX_TEXT_CHARS = 2_000_000
MAX_SLIDES = 1000
MAX_HEADINGS = 50
_THUMBNAILS = ("docProps/thumbnail.jpeg", "docProps/thumbnail.jpg", "docProps/thumbnail.png")
_MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024
T = TypeVar("T")


class WordExtractor:
    media_type: ClassVar[MediaType] = MediaType.DOCUMENT

    def accepts(self, mime: str) -> bool:
        return mime == DOCX_MIME

    def mime_of(self, where: str, mime: str) -> str:
        return mime

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        import docx

        where = display_path(path)
        thumbnail = check_package(path, where, "DOCX", "word/document.xml")
        doc = _parse(where, "DOCX", lambda: docx.Document(str(path)))
        record.metadata = {"format": "DOCX", **_core_properties(doc.core_properties)}
        passages = _parse(where, "DOCX", lambda: _word_sections(doc, record.metadata))
        texts = fill_text(record, passages, query=query)
        if not query and thumbnail:
            record.thumbnail = _thumbnail(thumbnail, opts)
        return ModelInputs(texts=texts)


class PowerPointExtractor:
    media_type: ClassVar[MediaType] = MediaType.DOCUMENT

    def accepts(self, mime: str) -> bool:
        return mime == PPTX_MIME

    def mime_of(self, where: str, mime: str) -> str:
        return mime

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        import pptx

        where = display_path(path)
        thumbnail = check_package(path, where, "PPTX", "ppt/presentation.xml")
        deck = _parse(where, "PPTX", lambda: pptx.Presentation(str(path)))
        record.metadata = {"format": "PPTX", **_core_properties(deck.core_properties)}
        passages = _parse(where, "PPTX", lambda: _slides(deck, record.metadata))
        texts = fill_text(record, passages, query=query)
        if not query and thumbnail:
            record.thumbnail = _thumbnail(thumbnail, opts)
        return ModelInputs(texts=texts)


def check_package(path: Path, where: str, kind: str, main_part: str) -> bytes | None:
    """Refuse a damaged package or a zip bomb from its directory alone; the package's
    stored thumbnail (small, checked) when it has one."""
    try:
        with zipfile.ZipFile(path) as zf:
            entries = zf.infolist()
            if len(entries) > MAX_ENTRIES:
                raise BadInputError(
                    f"{where}: refused as a possible zip bomb ({len(entries)} entries in the "
                    f"{kind} package, over {MAX_ENTRIES})"
                )
            unpacked = sum(e.file_size for e in entries)
            xml = sum(e.file_size for e in entries if e.filename.endswith((".xml", ".rels")))
            if unpacked > MAX_UNPACKED_BYTES or xml > MAX_XML_BYTES:
                raise BadInputError(
                    f"{where}: refused as a possible zip bomb ({unpacked // 2**20} MiB when "
                    f"unpacked, {xml // 2**20} MiB of it XML; the limits are "
                    f"{MAX_UNPACKED_BYTES // 2**20} and {MAX_XML_BYTES // 2**20} MiB)",
                    hint="a genuine document this large: split it, or export it as PDF",
                )
            names = {e.filename: e for e in entries}
            if main_part not in names:
                raise BadInputError(f"{where}: damaged {kind} (no {main_part} in the package)")
            thumb = next((names[n] for n in _THUMBNAILS if n in names), None)
            if thumb is None or thumb.file_size > _MAX_THUMBNAIL_BYTES:
                return None
            try:
                return zf.read(thumb)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError):
                return None  # a broken thumbnail costs the thumbnail, not the document
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        NotImplementedError,  # a compression method or zip version zipfile lacks
        EOFError,
        ValueError,
    ) as exc:
        raise BadInputError(
            f"{where}: damaged or truncated {kind} (not a readable zip package: {exc})",
            hint="open and re-save it in the program that made it",
        ) from exc
    except OSError as exc:
        raise BadInputError(f"{where}: damaged {kind} ({exc})") from exc


def _parse(where: str, kind: str, read: Callable[[], T]) -> T:
    """Run a python-docx/python-pptx read, turning its failures into a skip reason: a
    malformed package breaks them in many ways (missing relationships, bad XML, parts of the
    wrong type), none of them the caller's to handle."""
    try:
        return read()
    except (MemoryError, BadInputError):
        raise
    except Exception as exc:
        raise BadInputError(
            f"{where}: damaged {kind} ({type(exc).__name__}: {exc})",
            hint="open and re-save it in the program that made it",
        ) from exc


def _core_properties(props: Any) -> dict[str, Any]:
    """Title, author, subject, keywords... from docProps/core.xml (one shape in both)."""
    meta: dict[str, Any] = {}
    put(meta, "title", (props.title or "")[:500])
    put(meta, "author", (props.author or "")[:500])
    put(meta, "description", (props.subject or props.comments or "")[:2000])
    put(meta, "keywords", keyword_list(props.keywords)[:100])
    put(meta, "category", (props.category or "")[:200])
    put(meta, "last_modified_by", (props.last_modified_by or "")[:200])
    put(meta, "creation_time", props.created)
    put(meta, "modified_time", props.modified)
    return meta


def _word_sections(doc: WordDocument, meta: dict[str, Any]) -> list[Segment]:
    """One passage per heading and the paragraphs and tables under it, in document order."""
    from docx.table import Table

    sections: list[list[str]] = [[]]
    headings: list[str] = []
    paragraphs = tables = 0
    budget = MAX_TEXT_CHARS
    for block in doc.iter_inner_content():
        if budget <= 0:
            meta["truncated"] = True
            break
        if isinstance(block, Table):
            tables += 1
            text = _table_text(block)
        else:
            text = clean(block.text)
            paragraphs += 1
            style = (block.style.name if block.style is not None else "") or ""
            if text and style.startswith(("Heading", "Title")):
                headings.append(text)
                if style == "Title" and "title" not in meta:
                    meta["title"] = text[:500]
                if any(sections[-1]):
                    sections.append([])
        if text:
            sections[-1].append(text)
            budget -= len(text)
    meta["paragraphs"] = paragraphs
    if tables:
        meta["tables"] = tables
    if headings:
        meta["headings"] = headings[:MAX_HEADINGS]
        meta.setdefault("title", headings[0][:500])
    return [p for lines in sections for p in split_passages("section", joined(lines))]


def _table_text(table: Any) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = clean(cell.text)
            if text and (not cells or cells[-1] != text):  # a merged cell repeats
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _slides(deck: Presentation, meta: dict[str, Any]) -> list[Segment]:
    """One passage per slide (title, text boxes, tables, speaker notes), as page N."""
    passages: list[Segment] = []
    slides = deck.slides
    meta["slides"] = len(slides)
    budget = MAX_TEXT_CHARS
    for number, slide in enumerate(slides, start=1):
        if number > MAX_SLIDES or budget <= 0:
            meta["slides_read"] = number - 1
            break
        lines = [text for shape in slide.shapes for text in _shape_texts(shape)]
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            lines.append(clean(slide.notes_slide.notes_text_frame.text))
        text = joined(lines)
        if text:
            if number == 1 and "title" not in meta and slide.shapes.title is not None:
                put(meta, "title", clean(slide.shapes.title.text_frame.text)[:500])
            passages.extend(split_passages("page", text, number))
            budget -= len(text)
    return passages


def _shape_texts(shape: Any) -> list[str]:
    """Text of a shape; groups and tables inside it too."""
    from pptx.shapes.group import GroupShape

    if isinstance(shape, GroupShape):
        return [t for inner in shape.shapes for t in _shape_texts(inner)]
    if getattr(shape, "has_table", False):
        return [_table_text(shape.table)]
    if getattr(shape, "has_text_frame", False):
        return [clean(shape.text_frame.text)]
    return []


def _thumbnail(data: bytes, opts: Options) -> bytes | None:
    """The package's own thumbnail (Office saves one when asked to), re-encoded to ours."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > opts.max_image_pixels:
                return None
            im.load()
            return make_thumbnail(im, opts.thumbnail_size)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


register(WordExtractor())
register(PowerPointExtractor())
