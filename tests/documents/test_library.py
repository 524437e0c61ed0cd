"""Documents and designs in a library: added, listed by `--type document`, re-saved copies
found by `verify`, and (with the real models) a search hit that names the page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import resvg_py

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.core.assets import MediaType, Tier
from assetloom.core.listing import ListQuery
from tests.cli_run import cli
from tests.documents.makers import (
    make_docx,
    make_pdf,
    make_pptx,
    make_psd,
    make_scanned_pdf,
    make_svg,
    poster,
)

PAGES = [
    ["Harbour guide", "Opening times of the harbour office and the ferry timetable."],
    [
        "Lighthouse keepers",
        "The lighthouse keeper climbed the spiral staircase every night to light the lamp",
        "that warned fishing boats away from the rocks during storms.",
    ],
    ["Seafood market", "Fresh oysters, mussels and crab are sold on the pier each morning."],
]


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    with Library.create(tmp_path / "lib") as lib:
        lib.settings = lib.settings.model_copy(update={"workers": 1})
        yield lib


def _designs_and_documents(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    return {
        "pdf": make_pdf(folder / "harbour.pdf", PAGES),
        "docx": make_docx(folder / "guide.docx"),
        "pptx": make_pptx(folder / "launch.pptx"),
        "psd": make_psd(folder / "sale.psd"),
        "svg": make_svg(folder / "poster.svg"),
        "scan": make_scanned_pdf(folder / "scan.pdf"),
    }


def test_added_with_thumbnails_and_listed_as_documents(lib: Library, tmp_path: Path):
    files = _designs_and_documents(tmp_path / "in")
    report = lib.add([tmp_path / "in"])
    assert report.skipped == [] and len(report.added) == len(files)
    page = lib.list(ListQuery(media_type=MediaType.DOCUMENT, limit=50))
    assert {a.original_name for a in page.assets} == {p.name for p in files.values()}
    by_name = {a.original_name: a for a in page.assets}
    for name in ("harbour.pdf", "sale.psd", "poster.svg", "scan.pdf"):
        assert lib.thumbnail_key(by_name[name]) is not None, name
    assert by_name["harbour.pdf"].metadata["pages"] == 3
    assert (
        lib.catalog.passages_of([by_name["harbour.pdf"].asset_id])[by_name["harbour.pdf"].asset_id][
            1
        ].page
        == 2
    )
    assert lib.list(ListQuery(media_type=MediaType.IMAGE, limit=50)).assets == []
    lib.close()
    listed = cli("list", "--type", "document", "--json", library=tmp_path / "lib")
    assert listed.returncode == 0, listed.stderr
    names = {a["original_name"] for a in json.loads(listed.stdout)["assets"]}
    assert names == {p.name for p in files.values()}


def test_keyword_search_finds_the_text_of_documents_and_designs(lib: Library, tmp_path: Path):
    _designs_and_documents(tmp_path / "in")
    lib.add([tmp_path / "in"])
    found = {h.asset.original_name for h in lib.search(SearchQuery(text="zanzibar", limit=5))}
    assert found == {"launch.pptx"}
    found = {h.asset.original_name for h in lib.search(SearchQuery(text="summer sale", limit=5))}
    assert "sale.psd" in found  # its text layer


def test_verify_finds_resaved_documents_and_exports_of_designs(lib: Library, tmp_path: Path):
    files = _designs_and_documents(tmp_path / "in")
    lib.add([tmp_path / "in"])
    ids = {a.original_name: a.asset_id for a in lib.list(ListQuery(limit=50)).assets}
    out = tmp_path / "copies"
    out.mkdir()
    # The same pages exported again: A4, no properties, another layout; other bytes.
    reexport = make_pdf(out / "harbour-a4.pdf", PAGES, size=(595, 842), info={})
    resaved = _resave_with_pdfium(files["pdf"], out / "harbour-resaved.pdf")
    docx = _resave_docx(files["docx"], out / "guide-v2.docx")
    png = out / "sale.png"
    poster().save(png)  # what "Export as PNG" of the PSD gives
    svg_png = out / "poster.png"
    svg_png.write_bytes(resvg_py.svg_to_bytes(svg_path=str(files["svg"]), width=640, dpi=96))
    scan = _resave_with_pdfium(files["scan"], out / "scan-resaved.pdf")
    results = {
        Path(r.file).name: r for r in lib.verify([reexport, resaved, docx, png, svg_png, scan])
    }
    expected = {
        "harbour-a4.pdf": "harbour.pdf",
        "harbour-resaved.pdf": "harbour.pdf",
        "guide-v2.docx": "guide.docx",
        "sale.png": "sale.psd",
        "poster.png": "poster.svg",
        "scan-resaved.pdf": "scan.pdf",
    }
    for copy, original in expected.items():
        result = results[copy]
        assert result.error is None, (copy, result.error)
        assert result.tier is Tier.NEAR_IDENTICAL, (copy, result.tier)
        assert result.matches[0].asset_id == ids[original], copy


def test_verifying_a_design_finds_its_export_in_the_library(lib: Library, tmp_path: Path):
    png = tmp_path / "sale.png"
    poster().save(png)
    (export,) = lib.add([png]).added
    (result,) = lib.verify([make_psd(tmp_path / "sale.psd")])
    assert result.tier is Tier.NEAR_IDENTICAL
    assert [m.asset_id for m in result.matches] == [export.asset_id]


def test_search_by_meaning_names_the_page(tmp_path: Path, understanding: None) -> None:
    with Library.create(tmp_path / "lib") as lib:
        lib.settings = lib.settings.model_copy(update={"workers": 1})
        path = make_pdf(tmp_path / "harbour.pdf", PAGES)
        (added,) = lib.add([path]).added
        # Pages with a text layer are read from it: OCR is for scans only.
        assert {p.source for p in lib.passages(added.asset_id)} == {"page"}
        hits = lib.search(SearchQuery(text="man who lit the lamp of a lighthouse", limit=3))
        assert hits[0].asset.asset_id == added.asset_id
        moment = hits[0].matched[0]
        assert moment["source"] == "page" and moment["page"] == 2
        assert "lighthouse keeper" in moment["text"]
        hits = lib.search(SearchQuery(text="oysters", limit=3, media_type=MediaType.DOCUMENT))
        assert hits and hits[0].asset.asset_id == added.asset_id
        # By keyword or by meaning, whichever names it first: the page that says it.
        assert hits[0].matched[0]["page"] == 3 and "oysters" in hits[0].matched[0]["text"]


def _resave_with_pdfium(src: Path, dst: Path) -> Path:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(src))
    pdf.save(str(dst), version=17)
    pdf.close()
    assert dst.read_bytes() != src.read_bytes()
    return dst


def _resave_docx(src: Path, dst: Path) -> Path:
    import docx

    doc = docx.Document(str(src))
    doc.core_properties.revision = 7
    doc.core_properties.title = "Field guide to river kayaking (second edition)"
    doc.save(str(dst))
    assert dst.read_bytes() != src.read_bytes()
    return dst
