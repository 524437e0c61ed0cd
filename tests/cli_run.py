"""Run `assetloom` as scripts do: a fresh interpreter, captured output, a chosen HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli(
    *args: str,
    library: Path | None = None,
    home: Path | None = None,
    env: dict[str, str] | None = None,
    python_flags: tuple[str, ...] = (),
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`assetloom ARGS` with ASSETLOOM_LIBRARY set to `library` (or unset); `home` keeps
    the user's cache (error logs) inside the test's folder."""
    full_env = dict(os.environ)
    full_env.pop("ASSETLOOM_LIBRARY", None)
    if library is not None:
        full_env["ASSETLOOM_LIBRARY"] = str(library)
    if home is not None:
        full_env["HOME"] = str(home)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "assetloom.cli.main", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
