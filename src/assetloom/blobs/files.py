"""Blobs as local files, for work that reads files (worker processes, Pillow)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assetloom.blobs.base import BlobMissingError, BlobStore
from assetloom.blobs.local import LocalBlobStore


@contextmanager
def local_files(store: BlobStore, keys: list[str]) -> Iterator[dict[str, Path]]:
    """key -> a local file holding that blob, for work that reads files (worker processes,
    Pillow): the files themselves from a local store, copies in a temporary folder (removed
    on exit) from a remote one. Missing blobs are left out."""
    if isinstance(store, LocalBlobStore):
        yield {k: store.path_for(k) for k in keys if store.exists(k)}
        return
    with tempfile.TemporaryDirectory(prefix="assetloom-blobs-") as tmp:
        out: dict[str, Path] = {}
        for key in keys:
            dest = Path(tmp) / key.replace("/", "_")
            try:
                with store.open(key) as src, dest.open("wb") as f:
                    shutil.copyfileobj(src, f, 1 << 20)
            except BlobMissingError:
                continue
            out[key] = dest
        yield out
