"""A readers-writer lock for a library's in-memory indexes.

FAISS indexes are not safe to search while another thread changes them. The library takes
the lock for writing only around the moment it changes an index (after the catalog commit),
so slow work (decoding, fingerprints, embeddings) never blocks searches; threads that search
(the server) share it for reading. Waiting writers block new readers, so a steady stream of
searches cannot starve index updates. Not re-entrant: never take it twice in one thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadWriteLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @property
    def write_queue(self) -> int:
        """Writers holding or waiting for the lock (the metric `write_queue_depth`)."""
        return self._writers_waiting + int(self._writing)

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                self._cond.wait_for(lambda: not self._writing and not self._readers)
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()
