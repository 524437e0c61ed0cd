"""The Ray executor against a real Ray head: the same prepare functions, the same assets.

One head serves the session (`ray_cluster`; ~600 MB, seconds to start), so the tests that need
it are few; the error and import tests need none.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from assetloom.app.library import Library
from tests.backends.ray_head import RayCluster
from tests.cli_run import cli
from tests.media import make_photo

REPO = Path(__file__).resolve().parents[2]

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="ray is not installed (requirements/backends.txt)",
)


def _add(library: Path, folder: Path, executor: str) -> dict[str, Any]:
    done = cli(
        "add",
        str(folder),
        "--json",
        library=library,
        env={"ASSETLOOM_EXECUTOR": executor, "ASSETLOOM_WORKERS": "2"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _assets(library: Path) -> dict[str, tuple[Any, ...]]:
    """original name -> what `add` computed for it (hash, type, size, fingerprints)."""
    with Library.open(library) as lib:
        ids = [a.asset_id for a in lib.list().assets]
        assets = lib.get_many(ids, fingerprints=True).values()
        return {
            a.original_name: (
                a.sha256,
                a.media_type,
                a.size,
                a.width,
                a.height,
                sorted((f.kind, f.hex, f.quality) for f in a.fingerprints),
            )
            for a in assets
        }


def _verify(library: Path, files: list[Path], executor: str) -> list[Any]:
    done = cli(
        "verify",
        *map(str, files),
        "--json",
        library=library,
        env={"ASSETLOOM_EXECUTOR": executor, "ASSETLOOM_WORKERS": "2"},
    )
    assert done.returncode == 0, done.stderr
    return [
        (
            r["file"],
            r["tier"],
            [(m["original_name"], m["tier"], m["distance"]) for m in r["matches"]],
        )
        for r in json.loads(done.stdout)["results"]
    ]


def test_add_and_verify_through_ray_match_local(ray_address: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    photos = [make_photo(folder / f"p{i:02d}.jpg", 300 + i) for i in range(12)]
    (folder / "empty.jpg").write_bytes(b"")  # a Skipped record crosses the boundary too
    ray_lib, local_lib = tmp_path / "ray-lib", tmp_path / "local-lib"
    for library in (ray_lib, local_lib):
        Library.create(library).close()

    by_ray = _add(ray_lib, folder, f"ray:{ray_address}")
    by_local = _add(local_lib, folder, "local")
    assert len(by_ray["added"]) == 12
    assert by_ray["skipped"] == by_local["skipped"] != []
    assert _assets(ray_lib) == _assets(local_lib)

    edited = tmp_path / "q" / "edited.jpg"
    edited.parent.mkdir()
    with Image.open(photos[3]) as im:
        im.resize((im.width // 2, im.height // 2)).save(edited, quality=70)
    stranger = make_photo(tmp_path / "q" / "stranger.jpg", 999)
    queries = [photos[0], edited, stranger, photos[7]]
    found = _verify(ray_lib, queries, f"ray:{ray_address}")
    assert found == _verify(local_lib, queries, "local")
    assert [tier for _, tier, _ in found] == ["exact", "near-identical", "none", "exact"]


# Runs in a driver process of its own: the chunk function, defined in __main__, is shipped to
# the workers by value; what it returns says which process ran each path.
_DRIVER = """
import json, os, sys
from assetloom.ingest.records import Options
from assetloom.ingest.runners import executor_for
from tests.backends.ray_head import RayCluster
from tests.backends.servers import listeners

def where(chunk, opts):
    return [(path, os.getpid()) for path in chunk]

address, head = sys.argv[1], sys.argv[2]
executor = executor_for("ray:" + address, 2)
chunks = [[f"{i}-{j}" for j in range(3)] for i in range(5 * executor.parallelism * 4)]
out = [pair for result in executor.map_chunks(where, chunks, Options(1, 1, 1)) for pair in result]
cluster = RayCluster(address, int(head) if head else None)
pids = cluster.pids() | {os.getpid()} | {pid for _, pid in out}
print(json.dumps({
    "driver": os.getpid(),
    "chunks": chunks,
    "ran": out,
    "listeners": [[x.pid, x.protocol, x.local] for x in listeners() or [] if x.pid in pids],
}))
"""


def test_chunks_run_on_ray_workers_in_order_listening_on_loopback_only(
    ray_cluster: RayCluster,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, ray_cluster.address, str(ray_cluster.head_pid or "")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # more chunks than the window holds, handed back in the order they went in
    assert [path for path, _ in report["ran"]] == [p for chunk in report["chunks"] for p in chunk]
    assert report["driver"] not in {pid for _, pid in report["ran"]}
    if shutil.which("ss") is None:
        pytest.skip("`ss` is not available (Debian package iproute2)")
    own = report["listeners"]
    assert any(pid == report["driver"] for pid, _, _ in own), own  # the driver's was seen
    beyond = [x for x in own if not x[2].startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:"))]
    assert not beyond, f"Ray listening beyond 127.0.0.1: {beyond}"


@needs_ray
def test_an_unreachable_cluster_is_a_clear_error(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    Library.create(library).close()
    make_photo(tmp_path / "in" / "a.jpg", 1)
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for setting, message in (
        (f"ray:127.0.0.1:{port}", f"cannot reach the Ray cluster at 127.0.0.1:{port}"),
        ("ray:auto", "takes the cluster's address from RAY_ADDRESS, which is not set"),
    ):
        done = cli(
            "add",
            str(tmp_path / "in"),
            library=library,
            home=tmp_path,
            env={"ASSETLOOM_EXECUTOR": setting, "RAY_ADDRESS": ""},
        )
        assert done.returncode == 1, done.stderr
        assert message in done.stderr
        assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    as_json = cli(
        "add",
        str(tmp_path / "in"),
        "--json",
        library=library,
        env={"ASSETLOOM_EXECUTOR": f"ray:127.0.0.1:{port}"},
    )
    assert json.loads(as_json.stdout)["error"]["code"] == "bad_input"
    with Library.open(library) as lib:
        assert lib.count() == 0


def test_ray_is_imported_only_when_chosen() -> None:
    script = """
import sys
import assetloom.cli.main
import assetloom.ingest.runners.ray
from assetloom.errors import BadInputError
from assetloom.ingest.runners import executor_for

executor_for("local", 2)
print("ray" in sys.modules)
sys.modules["ray"] = None  # as if it were not installed
try:
    executor_for("ray:127.0.0.1:6379", 2)
except BadInputError as error:
    print(error)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    imported, error = done.stdout.splitlines()
    assert imported == "False"
    assert "needs the ray package, which is not installed" in error
