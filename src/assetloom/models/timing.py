"""How long each encode call took, for whoever wants to know (the API's /metrics does).

The models layer stays free of any metrics framework: observers are plain callables
`(model, task, batch, seconds)`, registered per process. The registry hands out encoders whose
public encode calls go through `timed`, so every caller is measured without knowing it.

Tasks: "text_query", "text_passage", "image". Only calls that ran a model are reported: empty
batches and calls that raised are not. With no observer registered, `timed` is one tuple check.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger("assetloom.models")

T = TypeVar("T")
Observer = Callable[[str, str, int, float], None]
"""(model name, task, items in the call, seconds the call took)."""

TEXT_QUERY, TEXT_PASSAGE, IMAGE = "text_query", "text_passage", "image"

_lock = threading.Lock()
# Replaced, never mutated: readers take the current tuple without locking.
_observers: tuple[Observer, ...] = ()


def add_observer(observer: Observer) -> None:
    """Call `observer` after every encode call in this process, from the calling thread."""
    global _observers
    with _lock:
        _observers = (*_observers, observer)


def remove_observer(observer: Observer) -> None:
    """Stop calling `observer` (compared with ==, so a bound method may be fetched anew);
    one registration is removed per call, and an unknown observer is ignored."""
    global _observers
    with _lock:
        current = list(_observers)
        if observer in current:
            current.remove(observer)
            _observers = tuple(current)


def timed(model: str, task: str, batch: int, call: Callable[[], T]) -> T:
    """`call()`, with its duration reported to the observers once it has returned."""
    observers = _observers
    if not observers or batch == 0:
        return call()
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    for observer in observers:
        try:
            observer(model, task, batch, seconds)
        except Exception:
            # A broken metrics sink must never fail a search or an ingest.
            log.exception("inference observer %r failed", observer)
    return result
