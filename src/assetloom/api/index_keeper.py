"""Keeps a server's in-memory indexes current and saved, from one background thread.

Other processes (a CLI `add` or `rm`, a second server) write to the same catalog; the server
would otherwise search stale indexes until restarted. Saving on a timer instead of after
every upload keeps a large index from being rewritten to disk per request.
"""

from __future__ import annotations

import logging
import threading
import time

from assetloom.library import Library

log = logging.getLogger("assetloom.api.indexes")


class IndexKeeper:
    def __init__(self, lib: Library, *, refresh_s: float, save_s: float) -> None:
        self.lib = lib
        self.refresh_s = refresh_s
        self.save_s = save_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.lib.indexes.defer_saves = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="assetloom-indexes", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop and save what changed (called at shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._save()
        self.lib.indexes.defer_saves = False

    def _run(self) -> None:
        last_save = time.monotonic()
        while not self._stop.wait(self.refresh_s):
            try:
                changed = self.lib.catch_up()
            except Exception as exc:
                log.warning("index catch-up failed, will retry: %s", exc)
                continue
            if changed:
                log.info("indexes caught up with catalog writes from other processes: %s", changed)
            if time.monotonic() - last_save >= self.save_s:
                self._save()
                last_save = time.monotonic()

    def _save(self) -> None:
        try:
            self.lib.indexes.save()
        except OSError as exc:
            log.warning("could not save indexes (they are rebuilt from the catalog): %s", exc)
