"""Documents and designs made in the test: PDFs written by hand (a text layer in Helvetica, an
Info dictionary, an /Encrypt dictionary), DOCX/PPTX with python-docx/python-pptx, PSD with
psd-tools (a text layer built from its own structures), SVG and EPS as text."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

PDF_INFO = {
    "Title": "Spring catalogue",
    "Author": "Ada Lovelace",
    "Subject": "Kayaks and canoes",
    "Keywords": "boats, rivers; summer",
    "CreationDate": "D:20240315093000+01'00'",
}


def _pdf_string(text: str) -> bytes:
    return (
        b"("
        + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
        + b")"
    )


def make_pdf(
    path: Path,
    pages: list[list[str]],
    *,
    size: tuple[float, float] = (612, 792),
    info: dict[str, str] | None = None,
    encrypted: bool = False,
    shared_content: bool = False,
) -> Path:
    """A PDF with a text layer: each page's lines in 12 pt Helvetica. `encrypted`: a
    Standard security handler whose user password is not empty (PDFium asks for one).
    `shared_content`: every page draws the first page's stream (a small file of many pages)."""
    objs: list[bytes] = []

    def add(body: bytes) -> int:
        objs.append(body)
        return len(objs)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    pages_id = add(b"")
    kids: list[int] = []
    content = 0
    for lines in pages:
        if not (shared_content and content):
            ops = [b"BT", b"/F1 12 Tf", b"72 %d Td" % (size[1] - 72), b"16 TL"]
            ops += [_pdf_string(line) + b" Tj T*" for line in lines]
            stream = b"\n".join([*ops, b"ET"])
            content = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << /Font "
                b"<< /F1 %d 0 R >> >> /Contents %d 0 R >>"
                % (pages_id, str(size[0]).encode(), str(size[1]).encode(), font, content)
            )
        )
    objs[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    fields = info if info is not None else PDF_INFO
    info_id = add(
        b"<< "
        + b" ".join(b"/" + k.encode() + b" " + _pdf_string(v) for k, v in fields.items())
        + b" >>"
    )
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    trailer = b"/Size %d /Root %d 0 R /Info %d 0 R" % (len(objs) + 1 + encrypted, catalog, info_id)
    if encrypted:
        enc = add(
            b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <%s> /U <%s> >>"
            % (b"5a" * 32, b"c3" * 32)
        )
        trailer += b" /Encrypt %d 0 R /ID [<%s> <%s>]" % (enc, b"ab" * 16, b"ab" * 16)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref)
    path.write_bytes(bytes(out))
    return path


def poster(size: tuple[int, int] = (480, 320), colour: str = "crimson") -> Image.Image:
    """A picture with structure (shapes, not a flat colour), for scans and designs."""
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    w, h = size
    draw.ellipse((w * 0.1, h * 0.15, w * 0.55, h * 0.85), fill=colour)
    draw.rectangle((w * 0.6, h * 0.1, w * 0.9, h * 0.5), fill="navy")
    draw.polygon([(w * 0.6, h * 0.9), (w * 0.95, h * 0.9), (w * 0.78, h * 0.55)], fill="gold")
    return im


def scanned_page(seed: int, size: tuple[int, int] = (420, 594)) -> Image.Image:
    """A page as a scanner sees it: lines of dark "text" bars and a photo block, off-white."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", size, (246, 244, 238))
    draw = ImageDraw.Draw(im)
    w, h = size
    y = 40
    while y < h - 40:
        if rng.random() < 0.15:
            shade = tuple(int(v) for v in rng.integers(40, 200, 3))
            draw.rectangle((40, y, w * 0.6, y + 90), fill=shade)
            y += 110
            continue
        draw.rectangle((40, y, 40 + rng.integers(120, w - 80), y + 8), fill=(30, 30, 30))
        y += 20
    return im


def make_scanned_pdf(path: Path, pages: int = 2) -> Path:
    """Pictures saved as PDF pages by Pillow: no text layer, as a scanner writes them."""
    images = [scanned_page(seed) for seed in range(pages)]
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return path


def make_docx(path: Path) -> Path:
    import docx

    doc = docx.Document()
    doc.core_properties.title = "Field guide to river kayaking"
    doc.core_properties.author = "Grace Hopper"
    doc.core_properties.subject = "Paddling technique for beginners"
    doc.core_properties.keywords = "kayak, river; safety"
    doc.add_heading("Choosing a boat", level=1)
    doc.add_paragraph("A touring kayak tracks straight on open water and carries gear.")
    doc.add_paragraph("Whitewater boats are short, so they turn quickly in rapids.")
    doc.add_heading("Reading the river", level=1)
    doc.add_paragraph("Eddies form behind boulders where the current flows upstream.")
    table = doc.add_table(rows=2, cols=2)
    for r, row in enumerate([("Grade", "Meaning"), ("III", "Rapids with moderate waves")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    doc.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    import pptx

    deck = pptx.Presentation()
    deck.core_properties.title = "Launch plan"
    deck.core_properties.keywords = "launch, bottle"
    slides = [
        ("Spring launch", "A new reusable water bottle for hikers"),
        ("Pricing", "The zanzibar limited edition sells at a premium"),
    ]
    for title, body in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    deck.slides[1].notes_slide.notes_text_frame.text = "Mention the retailer discount."
    deck.save(str(path))
    return path


def make_psd(path: Path, *, text: str = "Summer sale 50% off") -> Path:
    """A layered PSD: a picture layer, and a text layer whose text psd-tools reads back."""
    from psd_tools import PSDImage
    from psd_tools.constants import Tag
    from psd_tools.psd.descriptor import DescriptorBlock, String

    art = poster()
    psd = PSDImage.new("RGB", art.size, (255, 255, 255))
    psd.create_pixel_layer(art, name="Hero artwork")
    label = psd.create_pixel_layer(Image.new("RGBA", (200, 40), (0, 0, 0, 0)), name="Headline")
    words = DescriptorBlock()
    words[b"Txt "] = String(text + "\x00")
    label._record.tagged_blocks.set_data(
        Tag.TYPE_TOOL_OBJECT_SETTING,
        text_version=50,
        text_data=words,
        transform=(1.0, 0.0, 0.0, 1.0, 10.0, 30.0),
    )
    psd.save(str(path))
    return path


SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="240mm" height="160mm" viewBox="0 0 480 320">
  <title>Harbour poster</title>
  <desc>Lighthouse and boats</desc>
  <rect width="480" height="320" fill="lightskyblue"/>
  <rect y="200" width="480" height="120" fill="teal"/>
  <circle cx="130" cy="160" r="100" fill="crimson"/>
  <polygon points="300,190 420,190 360,60" fill="white"/>
  <text x="20" y="40" font-family="sans-serif" font-size="24">Harbour <tspan>festival</tspan></text>
  {extra}
</svg>
"""


def make_svg(path: Path, extra: str = "") -> Path:
    path.write_text(SVG.replace("{extra}", extra), "utf-8")
    return path


def make_eps(path: Path) -> Path:
    path.write_text(
        "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 240 160\n%%Title: (ACME logo)\n"
        "%%Creator: hand\n%%EndComments\n"
        "1 1 1 setrgbcolor 0 0 240 160 rectfill\n"
        "0.86 0.08 0.24 setrgbcolor 30 30 100 100 rectfill\n"
        "0 0 0.5 setrgbcolor 150 80 60 60 rectfill\nshowpage\n%%EOF\n",
        "latin-1",
    )
    return path


def make_zip_bomb_docx(path: Path, source: Path, unpacked: int) -> Path:
    """A copy of `source` with one more XML part of `unpacked` spaces: deflate squeezes it
    about a thousand times, so the file stays small while its directory says how large."""
    chunk = b" " * (1 << 20)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        with dst.open("word/padding.xml", "w", force_zip64=True) as fh:
            for _ in range(unpacked // len(chunk)):
                fh.write(chunk)
    return path
