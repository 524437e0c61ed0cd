"""Pool workers end with the process that started them.

A killed `add` (SIGKILL, OOM) used to leave its workers running: each holds both ends of the
pool's task pipe, so none ever reads end-of-file, and they keep the fork server alive by the
same token. PR_SET_PDEATHSIG does not help on its own: a worker's parent is the fork server,
not the process that died. So each worker watches the pool's owner itself: a pidfd it blocks
on (Linux), or a once-a-second liveness check elsewhere.
"""

from __future__ import annotations

import os
import select
import threading
import time

from assetloom.ingest.prepare import init_worker

_POLL_S = 1.0


def init_pool_worker(owner_pid: int) -> None:
    """The pool's initializer: tie this worker's life to `owner_pid`, then the usual set-up."""
    exit_with(owner_pid)
    init_worker(True)


def exit_with(pid: int) -> None:
    """End this process as soon as process `pid` has ended (from a daemon thread)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)  # gone before we started watching
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        target, args = _poll, (pid,)
    else:
        target, args = _wait_pidfd, (fd,)
    threading.Thread(target=target, args=args, name="assetloom-lifeline", daemon=True).start()


def _wait_pidfd(fd: int) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLIN)  # readable once the process has exited
    while not poller.poll():
        pass
    os._exit(1)


def _poll(pid: int) -> None:
    while True:
        time.sleep(_POLL_S)
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):  # gone, or its pid reused by another user
            os._exit(1)
