"""Decoding an image the way the models saw it at ingest, wherever a vector is made.

Search by example image, caption alignment and ingest must decode alike (JPEGs at a reduced
DCT scale, EXIF orientation applied, RGB), or the vectors of the same picture drift apart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageOps

DECODE_TARGET = (512, 512)
"""JPEG draft size: >= 512 px keeps PDQ/pHash (64/32 px) and the 256 px thumbnail exact."""


def upright_rgb(im: Image.Image) -> Image.Image:
    """An opened image decoded at the draft scale, EXIF orientation applied, RGB."""
    im.draft("RGB", DECODE_TARGET)
    return ImageOps.exif_transpose(im).convert("RGB")


def decode_for_models(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return upright_rgb(im)


class QueryDecodes:
    """At most `slots` query images decoding at once in this process.

    A query image (verify, search by example, copies) is decoded at full size unless its
    format can decode at a reduced scale (JPEG); a handful at once on a server could take
    gigabytes. Waiting callers are counted for /metrics. A condition rather than a
    semaphore so `/metrics` can see who waits and the server can set the size at start.
    """

    def __init__(self, slots: int = 2) -> None:
        self._cond = threading.Condition()
        self._slots = slots
        self.running = 0
        self.waiting = 0

    @property
    def slots(self) -> int:
        return self._slots

    def resize(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("query decode slots must be at least 1")
        with self._cond:
            self._slots = slots
            self._cond.notify_all()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            self.waiting += 1
            try:
                self._cond.wait_for(lambda: self.running < self._slots)
            finally:
                self.waiting -= 1
            self.running += 1
        try:
            yield
        finally:
            with self._cond:
                self.running -= 1
                self._cond.notify()


query_decodes = QueryDecodes()
"""The process's query decode limiter; `assetloom serve` sizes it (`--query-decode-slots`)."""
