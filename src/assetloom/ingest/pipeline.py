"""Run per-file work through an executor: chunks (models batch within a chunk), results in
order. The same `prepare` functions run in-process, in worker processes or on a cluster; the
use cases (`app/ingest.py`, verify, duplicates) consume the results in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from PIL import Image

from assetloom.ingest.records import Options, Prepared, Skipped
from assetloom.ingest.runners import Executor, InProcessExecutor
from assetloom.ingest.runners.base import ChunkFn

CHUNK = 8


def parallel_prepare(
    fn: ChunkFn[Prepared | Skipped],
    files: Sequence[Path],
    opts: Options,
    executor: Executor,
) -> Iterator[Prepared | Skipped]:
    """`fn` over files through `executor`, in order.

    A handful of files is done in-process: starting workers would cost more than it saves.
    """
    chunks = [[str(f) for f in files[i : i + CHUNK]] for i in range(0, len(files), CHUNK)]
    if executor.parallelism <= 1 or len(files) <= 2:
        executor = InProcessExecutor()
    elif opts.embed:
        warm_up_models(opts)
    for results in executor.map_chunks(fn, chunks, opts):
        yield from results


def warm_up_models(opts: Options) -> None:
    """Export/load model graphs once in this process, before workers race to do it."""
    from assetloom.models.registry import get_image_encoder

    get_image_encoder(opts.model, Path(opts.model_cache)).encode([Image.new("RGB", (64, 64))])
