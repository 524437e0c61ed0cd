"""Whether a process on this host still runs: how crash sweeps tell a dead owner's leftovers
(pending blobs, staged uploads) from a live one's work in progress."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while `pid` runs (also when it belongs to another user: signalling it is refused,
    but it is there)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
