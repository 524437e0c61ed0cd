"""Executors: where per-file work runs. `executor_for` reads the `executor` setting."""

from __future__ import annotations

from assetloom.errors import BadInputError
from assetloom.ingest.runners.base import Executor
from assetloom.ingest.runners.local import InProcessExecutor, ProcessExecutor


def executor_for(setting: str, workers: int) -> Executor:
    """'local' (the default): worker processes on this machine, `workers` of them.
    'ray:HOST:PORT' (or 'ray:auto', RAY_ADDRESS): tasks on that Ray cluster."""
    kind, _, address = setting.strip().partition(":")
    if kind in ("", "local"):
        return ProcessExecutor(workers) if workers > 1 else InProcessExecutor()
    if kind == "ray":
        from assetloom.ingest.runners.ray import RayExecutor  # imports ray: only when chosen

        return RayExecutor(address.strip())
    raise BadInputError(
        f"unknown executor {setting!r}",
        hint="set executor = 'local' or 'ray:HOST:PORT' in assetloom.toml",
    )


__all__ = ["Executor", "InProcessExecutor", "ProcessExecutor", "executor_for"]
