"""Per-file work on this machine: in-process, or worker processes from a fork server."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from assetloom.ingest.lifeline import init_pool_worker
from assetloom.ingest.prepare import init_worker
from assetloom.ingest.records import Options
from assetloom.ingest.runners.base import ChunkFn, R

IN_FLIGHT_PER_WORKER = 4


class InProcessExecutor:
    """One chunk after another in this process: a handful of files, or `workers = 1`."""

    name = "in-process"
    parallelism = 1

    def map_chunks(
        self, fn: ChunkFn[R], chunks: Iterable[list[str]], opts: Options
    ) -> Iterator[list[R]]:
        init_worker()
        for chunk in chunks:
            yield fn(chunk, opts)


class ProcessExecutor:
    """`workers` processes, each tied to this one's life (lifeline.py)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    @property
    def parallelism(self) -> int:
        return self.workers

    def map_chunks(
        self, fn: ChunkFn[R], chunks: Iterable[list[str]], opts: Options
    ) -> Iterator[list[R]]:
        window = self.workers * IN_FLIGHT_PER_WORKER
        # Workers come from a fork server, never from this process: a fork of a process whose
        # model runtimes already started their thread pools deadlocks in the child.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["assetloom.ingest.prepare", "assetloom.ingest.lifeline"])
        with ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=init_pool_worker,
            initargs=(os.getpid(),),
        ) as pool:
            queue: deque[Future[list[R]]] = deque()
            for chunk in chunks:
                queue.append(pool.submit(fn, chunk, opts))
                if len(queue) >= window:
                    yield queue.popleft().result()
            while queue:
                yield queue.popleft().result()
