"""Text in pictures at ingest: the lines OCR reads in an image, a video's key frames or a
scanned document's rendered pages become passages (searchable by keyword, embedded by the
text encoder at order 50) and the asset's `metadata["ocr"]`.

One passage per picture, its lines joined in reading order: a line alone is often a word or
two ("SALE", "20% off") that means little to the text encoder, and a search hit names the
picture (frame time, page) either way. Consecutive frames showing the same text (a title held
for several shots) make one passage spanning them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PIL import Image

from assetloom.core.assets import Segment
from assetloom.ingest.enrich.base import register
from assetloom.ingest.records import ModelInputs, Options, Prepared

MAX_PICTURES = 32
"""Frames or pages read per asset, evenly spaced: the gate keeps text-free frames cheap, but
a long video's key frames could still take minutes."""
MAX_LINES = 100
"""Lines (with boxes) kept in `metadata["ocr"]`; the passages keep all the text."""
SOURCE = "ocr"


class ReadText:
    name = "ocr"
    order = 10

    def wanted(self, opts: Options) -> bool:
        return opts.embed and opts.ocr != "off"

    def enrich(self, items: list[tuple[Prepared, ModelInputs]], opts: Options) -> None:
        todo = [(rec, [p for p in pictures(inputs) if _unread(rec, p[0])]) for rec, inputs in items]
        todo = [(rec, pics) for rec, pics in todo if pics]
        if not todo:
            return
        from assetloom.models.registry import get_ocr_engine

        engine = get_ocr_engine(opts.ocr)
        for rec, pics in todo:
            passages: list[Segment] = []
            lines: list[dict[str, Any]] = []
            for where, image in pics:
                found = engine.recognise(image)
                if not found:
                    continue
                text = "\n".join(line.text for line in found)
                passage = Segment(
                    SOURCE,
                    where.start if where else None,
                    where.end if where else None,
                    where.page if where else None,
                    text,
                )
                last = passages[-1] if passages else None
                if last is not None and last.text == text and where and where.source == "frame":
                    passages[-1] = replace(last, end=passage.end)
                else:
                    passages.append(passage)
                lines += [_line(line, where) for line in found]
            if not passages:
                continue
            rec.passages += passages
            rec.metadata[SOURCE] = lines[:MAX_LINES]
            if len(lines) > MAX_LINES:
                rec.metadata["ocr_lines"] = len(lines)
            found_text = "\n".join(p.text or "" for p in passages)
            rec.text_content = (
                f"{rec.text_content}\n{found_text}" if rec.text_content else found_text
            )


def _unread(rec: Prepared, where: Segment | None) -> bool:
    """A document page with a text layer was read already: only scans need OCR."""
    if where is None or where.source != "page":
        return True
    return where.page in rec.metadata.get("pages_without_text", [])


def pictures(inputs: ModelInputs) -> list[tuple[Segment | None, Image.Image]]:
    """What to read or score of one asset: its frames or pages (a video's poster is one of
    them), at most `MAX_PICTURES` evenly spaced; else its picture."""
    frames = inputs.frames
    if frames:
        if len(frames) > MAX_PICTURES:
            step = len(frames) / MAX_PICTURES
            frames = [frames[int(i * step)] for i in range(MAX_PICTURES)]
        return [(seg, image) for seg, image in frames]
    return [(None, inputs.images[0])] if inputs.images else []


def _line(line: Any, where: Segment | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "text": line.text,
        "box": [[x, y] for x, y in line.box],
        "score": line.score,
    }
    if where is not None:
        doc.update({k: v for k, v in where.to_json().items() if k in ("start", "page")})
    return doc


register(ReadText())
