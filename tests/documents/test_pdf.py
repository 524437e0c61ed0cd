"""PDFs: text per page, properties, rendered pages, scans marked for OCR, and bad input
(encrypted, truncated, a bomb of pages or of page size) skipped or bounded."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from assetloom.core.assets import MediaType, Segment
from assetloom.ingest.extractors import pdf
from tests.documents.conftest import extract, skip_reason
from tests.documents.makers import make_pdf, make_scanned_pdf

PAGES = [
    ["Spring catalogue", "Touring kayaks for calm lakes and long trips."],
    ["Whitewater", "Short boats turn quickly in rapids and eddies."],
    ["Accessories", "Paddles, spray decks and buoyancy aids for every trip."],
]


def test_text_per_page_properties_and_rendered_pages(tmp_path: Path):
    rec, inputs = extract(make_pdf(tmp_path / "catalogue.pdf", PAGES))
    assert rec.media_type is MediaType.DOCUMENT and rec.mime == "application/pdf"
    meta = rec.metadata
    assert (meta["format"], meta["pages"], meta["pdf_version"]) == ("PDF", 3, "1.4")
    assert meta["title"] == "Spring catalogue" and meta["author"] == "Ada Lovelace"
    assert meta["description"] == "Kayaks and canoes"
    assert meta["keywords"] == ["boats", "rivers", "summer"]
    assert meta["creation_time"] == "2024-03-15T09:30:00+01:00"
    assert meta["page_size_pt"] == [612.0, 792.0]
    assert "pages_without_text" not in meta and "pages_read" not in meta
    assert rec.passages == [
        Segment("page", page=n, text="\n".join(lines)) for n, lines in enumerate(PAGES, 1)
    ]
    assert "rapids and eddies" in (rec.text_content or "")
    assert {f.kind for f in rec.fingerprints} == {"text_nsha256", "simhash64", "minhash64"}
    # The whole's text vector reads the title and the opening.
    assert inputs.texts[0].startswith("Spring catalogue\nTouring kayaks")
    # Page 1 is the picture and the thumbnail; the first pages are frames of their own.
    assert [seg.page for seg, _ in inputs.frames] == [1, 2, 3]
    assert max(inputs.images[0].size) == pdf.RENDER_LONG_SIDE
    assert inputs.frames[0][1] is inputs.images[0]
    with Image.open(io.BytesIO(rec.thumbnail or b"")) as thumb:
        assert thumb.format == "WEBP" and max(thumb.size) == 256


def test_long_page_is_several_passages_of_that_page(tmp_path: Path):
    lines = [f"Line {i} of the safety briefing about currents and weirs." for i in range(80)]
    rec, _ = extract(make_pdf(tmp_path / "briefing.pdf", [["Cover"], lines]))
    second = [p for p in rec.passages if p.page == 2]
    assert len(second) >= 2
    assert all(len(p.text or "") <= 2000 for p in second)
    assert " ".join(p.text or "" for p in second).split() == " ".join(lines).split()


def test_scanned_pages_are_marked_for_ocr_and_fingerprinted_as_pictures(tmp_path: Path):
    rec, inputs = extract(make_scanned_pdf(tmp_path / "scan.pdf", pages=2))
    assert rec.metadata["pages_without_text"] == [1, 2]
    assert rec.passages == [] and rec.text_content is None and inputs.texts == []
    # No text to know it by: page 1's picture fingerprints instead (a re-saved scan matches).
    assert "pdq" in {f.kind for f in rec.fingerprints}
    assert "text_nsha256" not in {f.kind for f in rec.fingerprints}
    assert [seg.page for seg, _ in inputs.frames] == [1, 2]  # what OCR reads
    assert rec.thumbnail


def test_textless_pages_beyond_the_first_are_rendered_for_ocr(tmp_path: Path):
    pages = [["Typed cover page with some words on it."]] * 5 + [[]] * 3
    rec, inputs = extract(make_pdf(tmp_path / "mixed.pdf", pages))
    assert rec.metadata["pages_without_text"] == [6, 7, 8]
    assert [seg.page for seg, _ in inputs.frames] == [1, 2, 3, 4, 6, 7, 8]


def test_query_side_reads_text_and_renders_nothing(tmp_path: Path):
    rec, inputs = extract(make_pdf(tmp_path / "q.pdf", PAGES), query=True)
    assert rec.passages == [] and "Whitewater" in (rec.text_content or "")
    assert inputs.images == [] and inputs.frames == [] and rec.thumbnail is None
    assert {f.kind for f in rec.fingerprints} == {"text_nsha256", "simhash64", "minhash64"}


def test_illustrator_file_with_pdf_compatibility_is_read_as_pdf(tmp_path: Path):
    rec, _ = extract(make_pdf(tmp_path / "logo.ai", [["ACME logo artwork"]]))
    assert rec.mime == "application/illustrator" and rec.metadata["pages"] == 1


def test_encrypted_pdf_is_skipped_with_its_reason(tmp_path: Path):
    path = make_pdf(tmp_path / "locked.pdf", PAGES, encrypted=True)
    assert skip_reason(path).startswith("encrypted PDF (password protected)")


def test_truncated_and_garbage_pdfs_are_skipped(tmp_path: Path):
    data = make_pdf(tmp_path / "whole.pdf", PAGES).read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[:200])
    assert skip_reason(tmp_path / "cut.pdf").startswith("damaged or truncated PDF")
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    assert skip_reason(tmp_path / "junk.pdf").startswith("damaged or truncated PDF")


def test_page_count_bomb_reads_a_bounded_number_of_pages(tmp_path: Path):
    pages = pdf.MAX_TEXT_PAGES + 1500
    path = make_pdf(tmp_path / "many.pdf", [["Same page again"]] * pages, shared_content=True)
    rec, inputs = extract(path)
    assert rec.metadata["pages"] == pages
    assert rec.metadata["pages_read"] == pdf.MAX_TEXT_PAGES
    assert len(rec.passages) == pdf.MAX_TEXT_PAGES
    assert len(inputs.frames) == pdf.RENDERED_PAGES


def test_giant_page_renders_at_the_capped_size(tmp_path: Path):
    # 14,400 pt is the largest page PDF allows (200 inches): 2.8 gigapixels at 300 dpi.
    path = make_pdf(tmp_path / "poster.pdf", [["Billboard"]], size=(14400, 7200))
    rec, inputs = extract(path)
    assert inputs.images[0].size == (pdf.RENDER_LONG_SIDE, pdf.RENDER_LONG_SIDE // 2)
    assert rec.metadata["page_size_pt"] == [14400.0, 7200.0]


def test_pdf_dates():
    assert pdf.pdf_date("D:20240315093000Z") == "2024-03-15T09:30:00+00:00"
    assert pdf.pdf_date("D:2024") == "2024-01-01T00:00:00+00:00"
    assert pdf.pdf_date("D:20241301") is None  # month 13
    assert pdf.pdf_date("yesterday") is None
