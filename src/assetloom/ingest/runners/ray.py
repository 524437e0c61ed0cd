"""Per-file work on a Ray cluster: the same `prepare` functions, run as Ray tasks.

Only the per-file work leaves this process: each task gets a chunk of paths and the plain
`Options`, and hands back plain records; the catalog, blobs and indexes stay with the caller,
which commits in order as with local workers. So the cluster's workers must see the files at
the same paths, run the same environment (assetloom importable), and the caller must run on a
node of the cluster (`ray start` ran there), as any Ray driver connecting by GCS address does.

`ray` is imported when this executor is built, never before: choosing `local` costs nothing.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from assetloom.errors import BadInputError
from assetloom.ingest.prepare import init_worker
from assetloom.ingest.records import Options
from assetloom.ingest.runners.base import ChunkFn, R
from assetloom.ingest.runners.local import IN_FLIGHT_PER_WORKER

CONNECT_TIMEOUT_S = 3.0
SETTING_HINT = "set executor = 'ray:HOST:PORT' (the head's GCS address, `ray start --port`)"

# Ray's own switch: off, every Ray socket of this process binds the loopback address instead
# of the machine's routable one. It is read when `ray` is imported, so it is set before that.
_LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

_connected: str | None = None
"""The cluster this process's Ray driver is connected to (one per process, as Ray allows)."""

_worker_ready = False


def run_chunk(fn: ChunkFn[R], chunk: list[str], opts: Options) -> list[R]:
    """The Ray task: the worker's one-time set-up (models on one thread), then `fn`."""
    global _worker_ready
    if not _worker_ready:
        init_worker(True)
        _worker_ready = True
    return fn(chunk, opts)


class RayExecutor:
    """Chunks as Ray tasks, a bounded window unyielded, results in submission order."""

    name = "ray"

    def __init__(self, address: str) -> None:
        self.address = connect(address)
        import ray

        self._ray = ray
        self._task = ray.remote(run_chunk)

    @property
    def parallelism(self) -> int:
        """The cluster's CPUs now: one task each."""
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def map_chunks(
        self, fn: ChunkFn[R], chunks: Iterable[list[str]], opts: Options
    ) -> Iterator[list[R]]:
        ray = self._ray
        window = self.parallelism * IN_FLIGHT_PER_WORKER
        # Waiting on the oldest task (not on any task) bounds what is submitted but not yet
        # handed back, so results finished out of order never pile up in the object store.
        pending: deque[Any] = deque()
        try:
            for chunk in chunks:
                pending.append(self._task.remote(fn, chunk, opts))
                if len(pending) >= window:
                    yield ray.get(pending.popleft())
            while pending:
                yield ray.get(pending.popleft())
        finally:
            for ref in pending:  # the caller stopped early (an error, Ctrl-C): stop the rest
                ray.cancel(ref)


def connect(setting: str) -> str:
    """Connect this process to the cluster at `setting` ('HOST:PORT', or 'auto' for
    RAY_ADDRESS); the address connected to. Every failure is a BadInputError with a hint."""
    global _connected
    address = _resolve(setting)
    host, port = parse_address(address)
    loopback = _is_loopback(host)
    if loopback:
        os.environ[_LOOPBACK_SWITCH] = "0"
    # A failed chunk ends the run with its error; Ray would also print, later, the errors of
    # the chunks cancelled after it.
    os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
    try:
        import ray
    except ImportError as exc:
        raise BadInputError(
            "executor 'ray' needs the ray package, which is not installed",
            hint="pip install -r requirements/backends.txt (ray[data]), or set executor = 'local'",
        ) from exc
    if _connected is not None and ray.is_initialized():
        if _connected != address:
            raise BadInputError(
                f"this process is already connected to the Ray cluster at {_connected}",
                hint=f"one cluster per process: restart it to use {address}",
            )
        return address
    if loopback and _routable_ray():
        raise BadInputError(
            f"ray was imported in this process before {_LOOPBACK_SWITCH}=0 was set, so it "
            "would listen on a routable address",
            hint=f"set {_LOOPBACK_SWITCH}=0 in the environment before starting the process",
        )
    _check_reachable(address, host, port)
    try:
        ray.init(
            address=address,
            _node_ip_address="127.0.0.1" if loopback else None,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
    except (ConnectionError, RuntimeError, TimeoutError, ValueError) as exc:
        raise BadInputError(
            f"cannot connect to the Ray cluster at {address}: {exc}",
            hint="run this on a node of that cluster (where `ray start` ran); " + SETTING_HINT,
        ) from exc
    _connected = address
    return address


def _resolve(setting: str) -> str:
    if setting not in ("", "auto"):
        return setting
    # Ray's own variable, as `ray.init(address="auto")` reads it; Ray's other guess (the
    # cluster started last on this machine) is not used: it may be anyone's.
    address = os.environ.get("RAY_ADDRESS", "").strip()
    if not address:
        raise BadInputError(
            "executor 'ray:auto' takes the cluster's address from RAY_ADDRESS, which is not set",
            hint="export RAY_ADDRESS=HOST:PORT, or " + SETTING_HINT,
        )
    return address


def parse_address(address: str) -> tuple[str, int]:
    """'HOST:PORT' or '[IPv6]:PORT' -> (host, port); anything else is a BadInputError."""
    host, sep, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or "/" in host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInputError(
            f"not a Ray cluster address (HOST:PORT): {address!r}", hint=SETTING_HINT
        )
    return host, int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _routable_ray() -> bool:
    """Whether the imported ray binds routable addresses (it read the switch on)."""
    from ray._private import ray_constants

    return bool(getattr(ray_constants, "ENABLE_RAY_CLUSTER", False))


def _check_reachable(address: str, host: str, port: int) -> None:
    """Fail fast: ray.init retries an address nobody listens on for a long time."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise BadInputError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}",
            hint="start one (docs/backends.md, 'Ray'; scripts/services.sh start ray), "
            "or set executor = 'local'",
        ) from exc
