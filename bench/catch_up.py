"""How fast a long-running process (the server) absorbs another process's catalog writes.

    .venv/bin/python bench/catch_up.py [--work /tmp/assetloom-bench-api]

Uses the 1,000 Flickr8k dev images library that bench/api_load.py builds (built here if
missing), copied. One `Library` stands for the server with its indexes loaded; a second one,
as another process would, adds 100 train images, then removes one asset. Prints the cost of
`catch_up()` when nothing changed (the keeper runs it every second), after the additions
(incremental: only the new rows are read) and after the removal (that index is rebuilt).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from api_load import build_library, can_understand, read_split, shared_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/assetloom-bench-api"))
    parser.add_argument("--added", type=int, default=100, help="train images the other adds")
    args = parser.parse_args()
    from sqlalchemy import select

    from assetloom.app.library import Library
    from assetloom.store.schema import AssetRow

    args.work.mkdir(parents=True, exist_ok=True)
    root, _ = build_library(args.work, can_understand(args.work))
    run = args.work / "catch-up"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(root, run)
    with Library.open(run) as server:
        server.fingerprint_index().loaded()
        server.vector_spaces().loaded()
        server.catch_up()
        rounds = 1000
        started = time.perf_counter()
        for _ in range(rounds):
            server.catch_up()
        idle_us = (time.perf_counter() - started) / rounds * 1e6
        print(f"catch_up, nothing changed: {idle_us:.0f} us")

        train = read_split("train")[: args.added]
        with Library.open(run) as other:
            other.add([shared_dir() / "data/flickr8k" / it["image"] for it in train])
        started = time.perf_counter()
        changed = server.catch_up()
        print(
            f"catch_up after another process added {args.added} images: "
            f"{(time.perf_counter() - started) * 1000:.1f} ms {changed}"
        )

        with Library.open(run) as other:
            with other.read_session() as s:
                victim = s.scalars(select(AssetRow.asset_id).limit(1)).one()
            other.remove(victim)
        started = time.perf_counter()
        changed = server.catch_up()
        print(
            f"catch_up after another process removed 1 asset (rebuild): "
            f"{(time.perf_counter() - started) * 1000:.1f} ms {changed}"
        )
    shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    main()
