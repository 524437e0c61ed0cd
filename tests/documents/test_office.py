"""Word and PowerPoint: sections under headings, slides as pages, document properties, and
bad packages (a zip bomb, a truncated or broken file) skipped with their reason."""

from __future__ import annotations

import zipfile
from pathlib import Path

from assetloom.core.assets import MediaType, Segment
from assetloom.ingest.extractors import office
from tests.documents.conftest import extract, skip_reason
from tests.documents.makers import make_docx, make_pptx, make_zip_bomb_docx


def test_docx_sections_by_heading_tables_and_properties(tmp_path: Path):
    rec, inputs = extract(make_docx(tmp_path / "guide.docx"))
    assert rec.media_type is MediaType.DOCUMENT and rec.mime == office.DOCX_MIME
    meta = rec.metadata
    assert meta["title"] == "Field guide to river kayaking"
    assert meta["author"] == "Grace Hopper"
    assert meta["description"] == "Paddling technique for beginners"
    assert meta["keywords"] == ["kayak", "river", "safety"]
    assert meta["headings"] == ["Choosing a boat", "Reading the river"]
    assert meta["tables"] == 1
    assert rec.passages == [
        Segment(
            "section",
            text="Choosing a boat\nA touring kayak tracks straight on open water and carries "
            "gear.\nWhitewater boats are short, so they turn quickly in rapids.",
        ),
        Segment(
            "section",
            text="Reading the river\nEddies form behind boulders where the current flows "
            "upstream.\nGrade | Meaning\nIII | Rapids with moderate waves",
        ),
    ]
    assert {f.kind for f in rec.fingerprints} == {"text_nsha256", "simhash64", "minhash64"}
    assert inputs.texts[0].startswith("Field guide to river kayaking\nChoosing a boat")


def test_pptx_text_per_slide_with_notes(tmp_path: Path):
    rec, _ = extract(make_pptx(tmp_path / "launch.pptx"))
    assert rec.media_type is MediaType.DOCUMENT and rec.mime == office.PPTX_MIME
    assert rec.metadata["slides"] == 2 and rec.metadata["title"] == "Launch plan"
    assert rec.metadata["keywords"] == ["launch", "bottle"]
    assert rec.passages == [
        Segment("page", page=1, text="Spring launch\nA new reusable water bottle for hikers"),
        Segment(
            "page",
            page=2,
            text="Pricing\nThe zanzibar limited edition sells at a premium\n"
            "Mention the retailer discount.",
        ),
    ]


def test_docx_zip_bomb_is_refused_from_the_zip_directory(tmp_path: Path):
    source = make_docx(tmp_path / "guide.docx")
    bomb = make_zip_bomb_docx(tmp_path / "bomb.docx", source, office.MAX_XML_BYTES + 2**20)
    assert bomb.stat().st_size < 2**20  # small on disk, 65 MiB of XML inside
    reason = skip_reason(bomb)
    assert reason.startswith("refused as a possible zip bomb")
    assert "65 MiB of it XML" in reason


def test_truncated_and_broken_packages_are_skipped(tmp_path: Path):
    data = make_docx(tmp_path / "guide.docx").read_bytes()
    (tmp_path / "cut.docx").write_bytes(data[: len(data) // 2])
    assert skip_reason(tmp_path / "cut.docx").startswith("damaged or truncated DOCX")
    # A valid zip that claims to be a Word file, with its main part's XML broken.
    with zipfile.ZipFile(tmp_path / "guide.docx") as src:
        parts = {i.filename: src.read(i) for i in src.infolist()}
    parts["word/document.xml"] = b"<w:document xmlns:w='x'><w:body><unclosed></w:body>"
    with zipfile.ZipFile(tmp_path / "broken.docx", "w") as dst:
        for name, body in parts.items():
            dst.writestr(name, body)
    assert skip_reason(tmp_path / "broken.docx").startswith("damaged DOCX")
