"""A real Ray head for tests of the Ray executor, on loopback.

From the environment (ASSETLOOM_TEST_RAY_ADDRESS, e.g. from `scripts/services.sh env`) when set;
otherwise `scripts/services.sh start DIR ray` starts one in a temporary directory for the test
session and `stop DIR` ends it (~600 MB while it runs). See docs/backends.md, "Ray".
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.backends import servers
from tests.backends.servers import ServicesError

RAY_ADDRESS_VAR = "ASSETLOOM_TEST_RAY_ADDRESS"


@dataclass(frozen=True)
class RayCluster:
    """Where the head's GCS listens; `head_pid` (the `ray start` process) when known."""

    address: str
    head_pid: int | None = None
    directory: Path | None = None

    def pids(self) -> set[int]:
        """The head and every process of its session now: its servers and the workers of
        connected drivers (services.sh starts it under setsid; they all stay in it)."""
        if self.head_pid is None:
            return set()
        found = {self.head_pid}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[3] == str(self.head_pid) and fields[0] != "Z":
                found.add(int(stat.parent.name))
        return found


def from_env(environ: Mapping[str, str]) -> RayCluster | None:
    address = environ.get(RAY_ADDRESS_VAR)
    if not address:
        return None
    directory = Path(environ[servers.DIR_VAR]) if environ.get(servers.DIR_VAR) else None
    return RayCluster(address, _head_pid(directory) if directory else None, directory)


def missing_requirements() -> str | None:
    if importlib.util.find_spec("ray") is None:
        return "the ray package is missing (requirements/backends.txt; scripts/setup.sh)"
    if shutil.which("bash") is None:
        return "bash is missing"
    return None


def start(directory: Path) -> RayCluster:
    """A Ray head with its state in `directory`."""
    try:
        result = servers.run_script("start", str(directory), "ray", timeout=servers.START_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        servers.stop(directory)
        raise ServicesError(
            f"services.sh start ray took over {servers.START_TIMEOUT_S}s"
        ) from error
    if result.returncode != 0:
        servers.stop(directory)
        raise ServicesError(f"services.sh start ray failed:\n{result.stderr.strip()}")
    address = servers.parse_exports(result.stdout).get(RAY_ADDRESS_VAR)
    if not address:
        servers.stop(directory)
        raise ServicesError(f"services.sh start ray printed no {RAY_ADDRESS_VAR}:\n{result.stdout}")
    return RayCluster(address, _head_pid(directory), directory)


def _head_pid(directory: Path) -> int | None:
    pid = servers.read_state(directory).get("RAY_PID", "")
    return int(pid) if pid.isdigit() else None
