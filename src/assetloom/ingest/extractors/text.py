"""Text documents: detect the encoding, decode, and fingerprint for near-duplicate search."""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path
from typing import ClassVar

import numpy as np
from charset_normalizer import from_bytes

from assetloom.core.assets import Fingerprint, MediaType
from assetloom.core.text_match import normalise, shingles, simhash64
from assetloom.errors import BadInputError
from assetloom.ingest.extractors.base import register
from assetloom.ingest.paths import display_path
from assetloom.ingest.records import ModelInputs, Options, Prepared

_MAX_TEXT_BYTES = 64 * 1024 * 1024
# e5-small reads at most 512 tokens; the opening of a document carries its topic.
PASSAGE_CHARS = 2000

MINHASH_PERMUTATIONS = 64
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, where: str) -> tuple[str, str]:
    """(text, encoding). UTF-8 first (the common case), BOMs, then charset-normalizer."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding), encoding.replace("-sig", "")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise BadInputError(
            f"{where}: cannot tell which text encoding this file uses",
            hint="save it as UTF-8 and add it again",
        )
    encoding = "gb18030" if best.encoding in {"gb2312", "gbk"} else best.encoding
    return data.decode(encoding, errors="strict"), encoding


def text_fingerprints(text: str) -> list[Fingerprint]:
    from datasketch import MinHash  # imports SciPy: only pay for it when text arrives

    feats = shingles(text)
    mh = MinHash(num_perm=MINHASH_PERMUTATIONS)
    mh.update_batch([f.encode() for f in feats])
    return [
        Fingerprint("text_nsha256", hashlib.sha256(normalise(text).encode()).digest()),
        Fingerprint("simhash64", simhash64(feats)),
        Fingerprint("minhash64", np.asarray(mh.hashvalues, dtype="<u4").tobytes()),
    ]


def text_metadata(text: str, encoding: str) -> dict[str, object]:
    lines = text.splitlines()
    title = next((ln.lstrip("# ").strip() for ln in lines if ln.strip()), "")
    return {
        "encoding": encoding,
        "characters": len(text),
        "lines": len(lines),
        "title": title[:200],
        "excerpt": text[:500],
    }


class TextExtractor:
    media_type: ClassVar[MediaType] = MediaType.TEXT

    def accepts(self, mime: str) -> bool:
        return mime.startswith("text/")

    def mime_of(self, where: str, mime: str) -> str:
        return "text/markdown" if where.lower().endswith((".md", ".markdown")) else "text/plain"

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        where = display_path(path)
        if record.size > _MAX_TEXT_BYTES:
            raise BadInputError(f"{where}: text documents over 64 MiB are not supported")
        text, encoding = decode_text(path.read_bytes(), where)
        if "\x00" in text:
            raise BadInputError(f"{where}: binary content, not a text document")
        record.metadata = text_metadata(text, encoding)
        record.fingerprints = text_fingerprints(text)
        record.text_content = text
        return ModelInputs(texts=[passage(record)] if text else [])


def passage(rec: Prepared) -> str:
    """The document's opening, under its title unless it already starts with it."""
    title = str(rec.metadata.get("title", ""))
    body = (rec.text_content or "")[:PASSAGE_CHARS]
    return body if body.startswith(title) else f"{title}\n{body}"


register(TextExtractor())
