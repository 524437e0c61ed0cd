"""The Executor seam: where per-file work runs (worker processes here, a Ray cluster later).

Every executor runs the same module-level `prepare` functions unchanged, over chunks of file
paths, and hands results back in submission order with a bounded number of chunks in flight,
so memory stays flat however many files a run holds and commits happen in a stable order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

from assetloom.ingest.records import Options

R = TypeVar("R")

ChunkFn = Callable[[list[str], Options], list[R]]
"""A picklable module-level function over one chunk of paths (e.g. `prepare_files`)."""


class Executor(Protocol):
    name: str

    def map_chunks(
        self, fn: ChunkFn[R], chunks: Iterable[list[str]], opts: Options
    ) -> Iterator[list[R]]:
        """`fn(chunk, opts)` for every chunk, results in order, a bounded window in flight."""
        ...

    @property
    def parallelism(self) -> int:
        """How many chunks run at once (1: in this process)."""
        ...
