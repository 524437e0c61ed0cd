"""Keeps a server's in-memory indexes current and saved, from one background thread, and
sweeps what dead processes left behind.

Other processes (a CLI `add` or `rm`, a second server) write to the same catalog; the server
would otherwise search stale indexes until restarted. Saving on a timer instead of after
every upload keeps a large index from being rewritten to disk per request. A server or an
`add` killed mid-way leaves staged uploads and blobs without assets; waiting for the next
restart or `add` to remove them could mean never, so the same loop sweeps them too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from assetloom.app.library import Library
from assetloom.models import registry as models

log = logging.getLogger("assetloom.api.indexes")


class IndexKeeper:
    def __init__(
        self,
        lib: Library,
        *,
        refresh_s: float,
        save_s: float,
        sweep: Callable[[], None] | None = None,
        sweep_s: float = 300.0,
    ) -> None:
        self.lib = lib
        self.refresh_s = refresh_s
        self.save_s = save_s
        self.sweep = sweep
        self.sweep_s = sweep_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Sweep once (before the first request), then keep indexes and sweeps going."""
        self._sweep()
        models.configure(idle_s=self.lib.settings.model_idle_s)
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
        last_save = last_sweep = time.monotonic()
        while not self._stop.wait(self.refresh_s):
            models.sweep()  # unload models idle past model_idle_s
            if time.monotonic() - last_sweep >= self.sweep_s:
                self._sweep()
                last_sweep = time.monotonic()
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

    def _sweep(self) -> None:
        if self.sweep is None:
            return
        try:
            self.sweep()
        except Exception as exc:  # a locked catalog or a busy disk: the next round retries
            log.warning("sweeping leftovers failed, will retry: %s", exc)
