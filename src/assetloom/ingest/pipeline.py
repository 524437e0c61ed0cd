"""Run per-file work on every core: ordered results, a bounded window of chunks in flight.

The same `prepare` functions run here in worker processes (or in-process for a handful of
files); the use cases (`app/ingest.py`, verify, duplicates) consume the results in order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from PIL import Image

from assetloom.ingest.lifeline import init_pool_worker
from assetloom.ingest.prepare import Options, Prepared, Skipped, init_worker

CHUNK = 8
_IN_FLIGHT_PER_WORKER = 4


def parallel_prepare(
    fn: Callable[[list[str], Options], list[Prepared | Skipped]],
    files: Sequence[Path],
    opts: Options,
    workers: int,
) -> Iterator[Prepared | Skipped]:
    """`fn` over files on all cores, in order, in chunks (models batch within a chunk), with
    a bounded number of chunks in flight so memory stays flat.

    A handful of files is done in-process: starting workers would cost more than it saves.
    """
    chunks = [[str(f) for f in files[i : i + CHUNK]] for i in range(0, len(files), CHUNK)]
    if workers <= 1 or len(files) <= 2:
        init_worker()
        for chunk in chunks:
            yield from fn(chunk, opts)
        return
    if opts.embed:
        warm_up_models(opts)
    window = workers * _IN_FLIGHT_PER_WORKER
    # Workers come from a fork server, never from this process: a fork of a process whose
    # model runtimes already started their thread pools deadlocks in the child.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["assetloom.ingest.prepare", "assetloom.ingest.lifeline"])
    # Each worker exits when this process does, even when it is killed outright (lifeline.py).
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=init_pool_worker, initargs=(os.getpid(),)
    ) as pool:
        queue: deque[Future[list[Prepared | Skipped]]] = deque()
        for chunk in chunks:
            queue.append(pool.submit(fn, chunk, opts))
            if len(queue) >= window:
                yield from queue.popleft().result()
        while queue:
            yield from queue.popleft().result()


def warm_up_models(opts: Options) -> None:
    """Export/load model graphs once in this process, before workers race to do it."""
    from assetloom.models.registry import get_image_encoder

    get_image_encoder(opts.model, Path(opts.model_cache)).encode([Image.new("RGB", (64, 64))])
