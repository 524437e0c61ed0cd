"""Helpers shared by the document tests: the extractor on one file, and the skip reason a
file gets from the worker function `add` and `verify` run."""

from __future__ import annotations

from pathlib import Path

from assetloom.ingest.prepare import prepare_files
from assetloom.ingest.records import ModelInputs, Options, Prepared, Skipped
from assetloom.ingest.sniff import sniff

OPTS = Options(max_image_pixels=50_000_000, max_file_bytes=2 * 1024**3, thumbnail_size=256)


def extract(path: Path, *, query: bool = False) -> tuple[Prepared, ModelInputs]:
    with path.open("rb") as fh:
        kind = sniff(str(path), fh.read(8192))
    rec = Prepared(str(path), "0" * 64, path.stat().st_size, 0, kind.media_type, kind.mime)
    return rec, kind.extractor.extract(path, rec, OPTS, query=query)


def skip_reason(path: Path, opts: Options = OPTS) -> str:
    (result,) = prepare_files([str(path)], opts)
    assert isinstance(result, Skipped), f"{path.name} was not skipped"
    return result.reason
