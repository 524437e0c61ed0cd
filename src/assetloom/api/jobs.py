"""Studio runs as the server's background jobs: queued, run one at a time by a worker thread,
with their progress steps, their result or error, and cancellation.

A job's id is the id of the project its run makes, so `/api/v1/jobs/{id}`, the project
(`/api/v1/projects/{id}`) and its page (`/studio/projects/{id}`) share one id. The runner
keeps the last `KEEP_FINISHED` jobs in memory; after that, and after a restart, the project
row is the record. A style reference lives in the job's own folder (`<library>/tmp/
studio-jobs/<id>/`) until the run ends, and stays there when the server dies mid-run, so the
interrupted project can be run again with it (`rerun`).

One run at a time: a run takes a core or two for its seconds of composing and checking, and
the server's searches and uploads need theirs.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request as HttpRequest

from assetloom.app.library import Library
from assetloom.app.results import iso
from assetloom.app.studio import (
    Request,
    Studio,
    StudioCancelledError,
    project,
    settle_interrupted,
    stored_request,
)
from assetloom.errors import AssetLoomError, BadInputError, ProjectNotFoundError

log = logging.getLogger("assetloom.api.jobs")

QUEUED, RUNNING, CANCELLED = "queued", "running", "cancelled"
FINISHED = frozenset({"done", "partial", "failed", CANCELLED, "interrupted"})
KEEP_FINISHED = 200
STOP_WAIT_S = 120.0
"""At shutdown, how long to wait for the running job to reach its next cancel check."""
_ABANDONED_S = 24 * 3600
"""A job folder with no project this old belonged to a queued job of a server long gone."""


@dataclass
class Job:
    job_id: str
    kind: str
    request: Request
    owner: str
    created_at: datetime
    rerun_of: str | None = None
    state: str = QUEUED
    steps: list[tuple[str, datetime]] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


class StudioJobs:
    """The server's studio job queue over one library (`open` at start, `close` at stop)."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib
        self.root = lib.root / "tmp" / "studio-jobs"
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life
    def open(self) -> list[str]:
        """Mark runs that died with an earlier server "interrupted", drop the folders of
        finished projects, and start the worker; the interrupted project ids."""
        interrupted = settle_interrupted(self.lib)
        if interrupted:
            log.warning("studio projects left running by a dead process: %s", interrupted)
        self._sweep_folders()
        self._thread = threading.Thread(target=self._work, name="assetloom-studio", daemon=True)
        self._thread.start()
        return interrupted

    def close(self) -> None:
        """Cancel what is queued, ask the running job to stop at its next check, and wait."""
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(STOP_WAIT_S)
            if self._thread.is_alive():
                log.warning("a studio job was still running at shutdown")

    # ------------------------------------------------------------------ requests
    def folder(self, job_id: str) -> Path:
        """The job's own folder, for the files its request names."""
        path = self.root / job_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def submit(
        self, job_id: str, request: Request, owner: str, *, rerun_of: str | None = None
    ) -> dict[str, Any]:
        request.project_id = job_id
        kind = "repurpose" if request.source_asset else "create"
        job = Job(job_id, kind, request, owner, _now(), rerun_of=rerun_of)
        with self._lock:
            self._jobs[job_id] = job
            self._forget_old()
            doc = self._doc(job)
        self._queue.put(job)
        return doc

    def rerun(self, project_id: str, owner: str) -> dict[str, Any]:
        """Run an interrupted, cancelled or failed project's request again, as a new job."""
        with self._lock:
            live = self._jobs.get(project_id)
            if live is not None and live.state not in FINISHED:
                raise BadInputError(f"job {project_id} is {live.state}; it cannot run again yet")
        request = stored_request(self.lib, project_id)
        job_id = self.new_id()
        if request.style_ref is not None:
            if not request.style_ref.is_file():
                raise BadInputError(
                    f"the style reference of project {project_id} is no longer on this server",
                    hint="start a new create with the style reference file",
                )
            kept = self.folder(job_id) / request.style_ref.name
            shutil.copyfile(request.style_ref, kept)
            if request.style_ref.is_relative_to(self.root):
                shutil.rmtree(self.root / project_id, ignore_errors=True)
            request.style_ref = kept
        return self.submit(job_id, request, owner, rerun_of=project_id)

    def get(self, job_id: str) -> dict[str, Any]:
        """The job as this server knows it, else its project's record (an earlier server's)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                return self._doc(job)
        return self._doc_of_project(job_id)

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued job at once, a running one at its next check between outputs."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                doc = self._doc_of_project(job_id)
                if doc["state"] in FINISHED:
                    return doc
                raise BadInputError(
                    f"job {job_id} runs in another process; this server cannot cancel it"
                )
            if job.state in FINISHED:
                return self._doc(job)
            job.cancel.set()
            if job.state == QUEUED:
                job.state, job.finished_at = CANCELLED, _now()
                self._drop_folder(job)
            return self._doc(job)

    def running(self, job_id: str) -> bool:
        """Whether this server has the job queued or running."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job is not None and job.state not in FINISHED

    # ------------------------------------------------------------------ the worker
    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            with self._lock:
                if job.cancel.is_set():  # cancelled while queued, or the server is stopping
                    if job.state == QUEUED:
                        job.state, job.finished_at = CANCELLED, _now()
                        self._drop_folder(job)
                    continue
                job.state, job.started_at = RUNNING, _now()
            self._run(job)

    def _run(self, job: Job) -> None:
        def step(text: str) -> None:
            with self._lock:
                job.steps.append((text, _now()))

        studio = Studio(self.lib, progress=step, cancelled=job.cancel.is_set)
        result: dict[str, Any] | None = None
        error: dict[str, Any] | None = None
        state = "failed"
        try:
            result = studio.create(job.request)
            state = result["state"]
        except StudioCancelledError as exc:
            state, error = CANCELLED, self._error(exc)
        except AssetLoomError as exc:
            error = self._error(exc)
        except Exception:
            log.exception("studio job %s failed", job.job_id)
            error = {
                "code": "internal_error",
                "message": "the studio run failed unexpectedly (the server log has the cause)",
            }
        with self._lock:
            job.state, job.result, job.error, job.finished_at = state, result, error, _now()
            self._drop_folder(job)

    def _error(self, exc: AssetLoomError) -> dict[str, Any]:
        root = str(self.lib.root)
        doc: dict[str, Any] = {
            "code": exc.code,
            "message": exc.message.replace(root, "the library"),
        }
        if exc.hint:
            doc["hint"] = exc.hint
        return doc

    # ------------------------------------------------------------------ bookkeeping
    def _drop_folder(self, job: Job) -> None:
        shutil.rmtree(self.root / job.job_id, ignore_errors=True)

    def _forget_old(self) -> None:
        finished = [j.job_id for j in self._jobs.values() if j.state in FINISHED]
        for job_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job_id]

    def _sweep_folders(self) -> None:
        """Folders of finished projects go; those of interrupted or running ones stay (another
        live process may run them), and so do fresh ones without a project (queued there)."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            try:
                state = project(self.lib, folder.name)["state"]
            except ProjectNotFoundError:
                try:
                    stale = time.time() - folder.stat().st_mtime > _ABANDONED_S
                except OSError:
                    continue
                if stale:
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            if state not in ("running", "interrupted"):
                shutil.rmtree(folder, ignore_errors=True)

    def _doc(self, job: Job) -> dict[str, Any]:
        started = job.started_at
        return {
            "job_id": job.job_id,
            "kind": job.kind,
            "state": job.state,
            "brief": job.request.brief,
            "request": request_json(job.request.to_json()),
            "created_at": _iso(job.created_at),
            "started_at": _iso(started) if started else None,
            "finished_at": _iso(job.finished_at) if job.finished_at else None,
            "steps": [
                {
                    "step": text,
                    "at": _iso(at),
                    "elapsed_s": round((at - started).total_seconds(), 2) if started else 0.0,
                }
                for text, at in job.steps
            ],
            "result": job.result,
            "error": job.error,
            "rerun_of": job.rerun_of,
            **_urls(job.job_id),
        }

    def _doc_of_project(self, project_id: str) -> dict[str, Any]:
        p = project(self.lib, project_id)
        error = p["report"].get("error")
        return {
            "job_id": p["project_id"],
            "kind": p["kind"],
            "state": p["state"],
            "brief": p["brief"],
            "request": request_json(p["report"].get("request")),
            "created_at": _iso(p["created_at"]),
            "started_at": _iso(p["created_at"]),
            "finished_at": _iso(p["finished_at"]) if p["finished_at"] else None,
            "steps": [],
            "result": None,
            "error": {"code": p["state"], "message": error} if isinstance(error, str) else None,
            "rerun_of": None,
            **_urls(p["project_id"]),
        }


def project_json(lib: Library, project_id: str) -> dict[str, Any]:
    """A stored project for clients: times as ISO text, the request's style reference by
    its file name (the server's path stays on the server)."""
    p = project(lib, project_id)
    report = dict(p["report"])
    if "request" in report:
        report["request"] = request_json(report["request"])
    return {
        **p,
        "report": report,
        "created_at": _iso(p["created_at"]),
        "finished_at": _iso(p["finished_at"]) if p["finished_at"] else None,
    }


def request_json(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    if not stored:
        return None
    style = stored.get("style_ref")
    return {**stored, "style_ref": Path(style).name if style else None}


def studio_jobs(request: HttpRequest) -> StudioJobs:
    """The app's job runner (made by the studio router's lifespan)."""
    return request.app.state.studio_jobs


def _urls(job_id: str) -> dict[str, str]:
    return {
        "job_url": f"/api/v1/jobs/{job_id}",
        "project_url": f"/api/v1/projects/{job_id}",
        "page_url": f"/studio/projects/{job_id}",
    }


def _iso(moment: datetime) -> str:
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))  # SQLite drops zones


def _now() -> datetime:
    return datetime.now(UTC)
