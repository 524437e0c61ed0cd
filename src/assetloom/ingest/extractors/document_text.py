"""Text found in documents (PDF pages, slides, Word sections, text layers): passages that say
where they were found, and the record fields made from them.

Each passage is embedded on its own (the text encoder reads about `PASSAGE_CHARS`), so a long
page becomes several passages of the same page; a search hit then names the page. The whole
text is what keyword search indexes and what the text fingerprints are taken from, so a
re-saved copy of a document is found as near-identical however its bytes changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from assetloom.core.assets import Segment
from assetloom.core.text_match import normalise
from assetloom.ingest.extractors.text import PASSAGE_CHARS, text_fingerprints
from assetloom.ingest.records import Prepared

MIN_FINGERPRINT_CHARS = 40
"""Below this many letters a document has no text identity of its own (a scanned page, a
deck of title slides): two such files would share it without being copies."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_KEYWORD_SPLIT = re.compile(r"[,;\n]+")


def clean(text: str) -> str:
    """Line ends as "\\n", control characters (PDF text layers carry some) dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def split_passages(source: str, text: str, page: int | None = None) -> list[Segment]:
    """`text` as passages of at most `PASSAGE_CHARS`, cut between paragraphs where it can,
    else between lines, else between words."""
    text = text.strip()
    out: list[Segment] = []
    while text:
        if len(text) <= PASSAGE_CHARS:
            cut = len(text)
        else:
            window = text[:PASSAGE_CHARS]
            cut = next(
                (i for sep in ("\n\n", "\n", " ") if (i := window.rfind(sep)) > PASSAGE_CHARS // 2),
                PASSAGE_CHARS,
            )
        part, text = text[:cut].strip(), text[cut:].strip()
        if part:
            out.append(Segment(source, page=page, text=part))
    return out


def fill_text(
    record: Prepared, passages: list[Segment], *, query: bool, fingerprints: bool = True
) -> list[str]:
    """Put the document's text on the record; returns `ModelInputs.texts` (the title and
    opening, the document's own text vector). A query keeps no passages: verify embeds
    only the whole."""
    body = "\n\n".join(p.text or "" for p in passages)
    record.text_content = body or None
    if not query:
        record.passages = passages
    if fingerprints and len(normalise(body).replace(" ", "")) >= MIN_FINGERPRINT_CHARS:
        record.fingerprints.extend(text_fingerprints(body))
    if not body:
        return []
    title = str(record.metadata.get("title") or "")
    opening = body[:PASSAGE_CHARS]
    return [opening if not title or opening.startswith(title) else f"{title}\n{opening}"]


def keyword_list(value: str | None) -> list[str]:
    """A document's keywords field ("boats, rivers; summer") as a list."""
    return [k.strip() for k in _KEYWORD_SPLIT.split(value or "") if k.strip()]


def put(meta: dict[str, Any], key: str, value: object) -> None:
    """Set a metadata field only when it says something (no empty strings, no None)."""
    if isinstance(value, str):
        value = value.strip()
    if isinstance(value, datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if value not in (None, "", [], {}):
        meta[key] = value


def joined(lines: Iterable[str]) -> str:
    """Lines of text as one block, blank runs collapsed to one paragraph break."""
    return _BLANK_LINES.sub("\n\n", "\n".join(s for s in lines if s is not None)).strip()
