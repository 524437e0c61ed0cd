"""On PostgreSQL + S3: an `add` killed with SIGKILL leaves a consistent library, which the next
`add` finishes and cleans; two `add`s at once both succeed and register each file once.

The SQLite versions are in tests/test_crash_and_concurrency.py. Here the blobs a dead add wrote
before their rows committed are objects in a bucket and its ownership is a leased job
(store/jobs.py): on the same host, the job of a dead process is dead at once, so the re-run
sweeps its objects without waiting for the lease to run out.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from assetloom.app.library import Library
from assetloom.store.jobs import RUNNING, Job
from tests.backends.remote_library import Remote, cli_args, cli_json, remote_library, sha256_of
from tests.backends.servers import S3Server
from tests.media import make_photo

PHOTOS = 200  # the add commits batches of 64: a kill lands between commits, mid-way
KILL_PATIENCE_S = 240.0  # bounds a broken run only; a healthy one stops within seconds


@pytest.fixture
def remote(
    postgres_url: str, s3_bucket: S3Server, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Remote]:
    with remote_library(postgres_url, s3_bucket, monkeypatch) as r:
        yield r


def _job_of(remote: Remote, job_id: int) -> Job:
    (row,) = remote.rows(
        "SELECT id, kind, key, state, owner_host, owner_pid, lease_until FROM jobs WHERE id = :id",
        id=job_id,
    )
    return Job(*row)


def _gone_pid() -> int:
    """The pid of a process of this host that has exited."""
    done = subprocess.Popen(["true"])
    done.wait(timeout=30)
    return done.pid


def _audit(lib_dir: Path) -> dict[str, object]:
    result = cli_json(lib_dir, "ledger", "audit")
    assert result["ok"] is True, result
    return result


def _stop_with_orphans(
    proc: subprocess.Popen[Any], remote: Remote, *, after_a_commit: bool = True
) -> tuple[int, dict[str, int | None]]:
    """Freeze the add's process group (SIGSTOP) at a moment when (`after_a_commit`) some batch
    has committed, another batch's pending rows are committed and at least one of its objects
    is already in the bucket, unclaimed; thaw and look again otherwise. (assets committed,
    pending rows)."""
    deadline = time.monotonic() + KILL_PATIENCE_S
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGSTOP)
        committed = set(remote.asset_shas())
        pending = remote.pending()
        unclaimed = [s for s in pending if s not in committed]
        if (committed or not after_a_commit) and any(
            remote.head(remote.blob_key(s)) for s in unclaimed
        ):
            return len(committed), pending
        os.killpg(proc.pid, signal.SIGCONT)
    pytest.fail("the add finished (or the wait ran out) before a batch was half stored")


def test_kill_9_mid_add_then_rerun_sweeps_and_finishes(remote: Remote, tmp_path: Path) -> None:
    src = tmp_path / "photos"
    files = [make_photo(src / f"{i:03d}.jpg", seed=5000 + i, size=(96, 72)) for i in range(PHOTOS)]
    sha_of = {f.name: sha256_of(f) for f in files}
    name_of = {sha: name for name, sha in sha_of.items()}
    assert len(name_of) == PHOTOS
    lib_dir = tmp_path / "lib"
    Library.create(lib_dir, catalog=remote.catalog, blobs=remote.blobs).close()

    proc = subprocess.Popen(
        cli_args(lib_dir, "add", str(src), "--json"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes its workers too
    )
    try:
        committed, pending = _stop_with_orphans(proc, remote)
    finally:
        with contextlib.suppress(ProcessLookupError):  # gone already when the wait failed
            os.killpg(proc.pid, signal.SIGKILL)  # like a power cut: the whole tree dies
        proc.wait(timeout=60)
    assert 0 < committed < PHOTOS, "the kill must land part-way through"

    # What the kill left: every asset row has its original (and thumbnail) in the bucket; the
    # only objects no row claims are ones the dead job had marked pending.
    assets = remote.asset_shas()
    assert len(assets) == len(set(assets)) == committed
    for sha in assets:
        head = remote.head(remote.blob_key(sha))
        assert head is not None, f"asset {sha} has no object"
        assert head["ContentLength"] == (src / name_of[sha]).stat().st_size
        assert remote.head(f"{remote.prefix}/derived/{sha}/thumb.webp") is not None
    orphans = remote.blob_objects() - set(assets)
    assert orphans and orphans <= set(pending), "an unclaimed object that no row marks pending"
    assert (remote.derived_objects() - set(assets)) <= set(pending)
    (job_id,) = set(pending.values())
    assert job_id is not None
    job = _job_of(remote, job_id)
    assert (job.state, job.owner_pid, job.owner_host) == (RUNNING, proc.pid, socket.gethostname())
    # Dead at once here, its lease notwithstanding (its process is gone); another host, which
    # cannot see this host's processes, would wait for the lease to run out.
    before_lease_ends = job.lease_until - timedelta(seconds=1)
    assert job.dead(before_lease_ends, socket.gethostname())
    assert not job.dead(before_lease_ends, "another-host")
    audit = _audit(lib_dir)
    assert audit["tree_size"] == committed

    # The files whose objects are orphans wait outside the folder, so that the re-run cannot
    # store them again: their objects must go by the sweep alone.
    held = tmp_path / "held"
    held.mkdir()
    for name, sha in sha_of.items():
        if sha in orphans:
            shutil.move(src / name, held / name)

    rerun = cli_json(lib_dir, "add", str(src))
    assert len(rerun["present"]) == committed and not rerun["skipped"]
    assert len(rerun["added"]) == PHOTOS - len(orphans) - committed
    assert remote.pending() == {}, "the dead job's pending rows are gone"
    assets = remote.asset_shas()
    assert remote.blob_objects() == set(assets) == remote.derived_objects()
    assert not (orphans & remote.blob_objects()), "the orphan objects were swept"
    assert all(remote.head(remote.blob_key(sha)) is None for sha in orphans)
    assert len(assets) == len(set(assets))

    last = cli_json(lib_dir, "add", str(held))
    assert len(last["added"]) == len(orphans) and not last["present"]
    assets = remote.asset_shas()
    assert sorted(assets) == sorted(sha_of.values()), "every file registered exactly once"
    assert remote.blob_objects() == set(assets) == remote.derived_objects()
    assert _audit(lib_dir)["tree_size"] == PHOTOS
    again = cli_json(lib_dir, "add", str(src), str(held))
    assert len(again["present"]) == PHOTOS and not again["added"]


def test_two_adds_at_once_register_each_file_once(remote: Remote, tmp_path: Path) -> None:
    lib_dir = tmp_path / "lib"
    Library.create(lib_dir, catalog=remote.catalog, blobs=remote.blobs).close()
    a, b = tmp_path / "a", tmp_path / "b"
    for i in range(40):
        make_photo(a / f"{i}.jpg", seed=6000 + i, size=(96, 72))
        make_photo(b / f"{i}.jpg", seed=7000 + i, size=(96, 72))
    # Both folders hold the same 20 pictures too: the same files race to be registered.
    for i in range(20):
        make_photo(a / f"shared{i}.jpg", seed=8000 + i, size=(96, 72))
        make_photo(b / f"shared{i}.jpg", seed=8000 + i, size=(96, 72))
    procs = [
        subprocess.Popen(
            cli_args(lib_dir, "add", str(d), "--json"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for d in (a, b)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]

    reports = [json.loads(o[0]) for o in outs]
    added = [x["asset_id"] for r in reports for x in r["added"]]
    assert len(added) == len(set(added)) == 100, "each picture added by exactly one of them"
    assert sum(len(r["present"]) for r in reports) == 20 and not any(r["skipped"] for r in reports)
    shared_ids = [
        {x["file"].rsplit("/", 1)[-1]: x["asset_id"] for x in r["added"] + r["present"]}
        for r in reports
    ]
    for i in range(20):  # both runs name the one asset for the same picture
        assert shared_ids[0][f"shared{i}.jpg"] == shared_ids[1][f"shared{i}.jpg"]

    assets = remote.asset_shas()
    assert len(assets) == len(set(assets)) == 100
    assert remote.blob_objects() == set(assets) == remote.derived_objects()
    assert remote.pending() == {}
    assert _audit(lib_dir)["tree_size"] == 100
    jobs = remote.rows("SELECT state FROM jobs WHERE kind = 'ingest'")
    assert sorted(jobs) == [("done",), ("done",)]


def test_a_starting_server_sweeps_what_a_killed_add_left(remote: Remote, tmp_path: Path) -> None:
    """The API server sweeps once before its first request (and then every `sweep_s`)."""
    from fastapi.testclient import TestClient

    from assetloom.api.config import ServerSettings
    from assetloom.server.app import create_app

    src = tmp_path / "photos"
    for i in range(100):
        make_photo(src / f"{i:03d}.jpg", seed=9000 + i, size=(96, 72))
    lib_dir = tmp_path / "lib"
    Library.create(lib_dir, catalog=remote.catalog, blobs=remote.blobs).close()
    proc = subprocess.Popen(
        cli_args(lib_dir, "add", str(src), "--json"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        committed, pending = _stop_with_orphans(proc, remote)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    orphans = remote.blob_objects() - set(remote.asset_shas())
    assert orphans and orphans <= set(pending)

    with TestClient(create_app(lib_dir, ServerSettings())) as client:
        assert client.get("/healthz").status_code == 200
        assert remote.pending() == {}
        assets = remote.asset_shas()
        assert len(assets) == committed
        assert remote.blob_objects() == set(assets) == remote.derived_objects()


def test_another_hosts_leftovers_wait_for_its_lease(remote: Remote, tmp_path: Path) -> None:
    """An object pending under another host's job survives while that job's lease runs and is
    swept by the first add after it ran out: a pid says nothing about another machine."""
    lib_dir = tmp_path / "lib"
    Library.create(lib_dir, catalog=remote.catalog, blobs=remote.blobs).close()
    theirs = make_photo(tmp_path / "theirs.jpg", seed=9500)
    sha = sha256_of(theirs)
    thumb = f"{remote.prefix}/derived/{sha}/thumb.webp"
    for key, body in ((remote.blob_key(sha), theirs.read_bytes()), (thumb, b"RIFF....WEBP")):
        remote.client.put_object(Bucket=remote.s3.bucket, Key=key, Body=body)
    remote.execute(
        "INSERT INTO jobs (kind, key, state, owner_host, owner_pid, created_at, heartbeat_at,"
        " lease_until) VALUES ('ingest', 'ingest-elsewhere', 'running', 'another-host', :pid,"
        " now(), now(), now() + interval '1 hour')",
        pid=os.getpid(),  # a pid alive here, which must not matter for another host's job
    )
    (job_id,) = remote.rows("SELECT id FROM jobs WHERE key = 'ingest-elsewhere'")[0]
    remote.execute(
        "INSERT INTO pending_blobs (sha256, owner_pid, created_at, job_id)"
        " VALUES (:sha, 1, now(), :job)",
        sha=sha,
        job=job_id,
    )

    first = cli_json(lib_dir, "add", str(make_photo(tmp_path / "a.jpg", seed=9501)))
    assert len(first["added"]) == 1
    assert remote.pending() == {sha: job_id}, "a live lease keeps its pending rows"
    assert remote.head(remote.blob_key(sha)) is not None and remote.head(thumb) is not None

    remote.execute(
        "UPDATE jobs SET lease_until = now() - interval '1 hour' WHERE id = :id", id=job_id
    )
    second = cli_json(lib_dir, "add", str(make_photo(tmp_path / "b.jpg", seed=9502)))
    assert len(second["added"]) == 1
    assert remote.pending() == {}
    assert remote.head(remote.blob_key(sha)) is None and remote.head(thumb) is None
    assets = remote.asset_shas()
    assert remote.blob_objects() == set(assets) == remote.derived_objects()


def test_a_blob_swept_under_an_add_that_lives_on_is_stored_again(
    remote: Remote, tmp_path: Path
) -> None:
    """Two adds pending the same file share one pending row (the later one takes it over). If
    the later one dies, the next sweep removes the object the earlier, live add uploaded; that
    add must not then register the file without its object.

    The add that took the row over and died is written as the rows it leaves (its job, its
    pending row): a real one would have to be killed inside a window of milliseconds."""
    src = tmp_path / "photos"
    for i in range(60):  # one batch
        make_photo(src / f"{i:02d}.jpg", seed=9600 + i, size=(96, 72))
    lib_dir = tmp_path / "lib"
    Library.create(lib_dir, catalog=remote.catalog, blobs=remote.blobs).close()
    proc = subprocess.Popen(
        cli_args(lib_dir, "add", str(src), "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, pending = _stop_with_orphans(proc, remote, after_a_commit=False)
        stored = sorted(s for s in pending if remote.head(remote.blob_key(s)))
        taken = stored[0]
        remote.execute(
            "INSERT INTO jobs (kind, key, state, owner_host, owner_pid, created_at,"
            " heartbeat_at, lease_until) VALUES ('ingest', 'ingest-taken-over', 'running',"
            " :host, :pid, now(), now(), now() + interval '1 hour')",
            host=socket.gethostname(),
            pid=_gone_pid(),  # its process here is gone: dead at once
        )
        (other,) = remote.rows("SELECT id FROM jobs WHERE key = 'ingest-taken-over'")[0]
        remote.execute(
            "UPDATE pending_blobs SET job_id = :job WHERE sha256 = :sha", job=other, sha=taken
        )
        swept = cli_json(lib_dir, "add", str(make_photo(tmp_path / "x.jpg", seed=9700)))
        assert len(swept["added"]) == 1
        assert remote.head(remote.blob_key(taken)) is None, "the sweep took the object"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert len(json.loads(out)["added"]) == 60
    assets = remote.asset_shas()
    assert taken in assets and len(assets) == 61
    for sha in assets:
        assert remote.head(remote.blob_key(sha)) is not None, f"asset {sha} has no object"
    assert remote.blob_objects() == set(assets) == remote.derived_objects()
    assert remote.pending() == {}
