"""Bulk actions on 10,000 assets: each call is one transaction; the median of 3 runs each.

    .venv/bin/python bench/bulk_actions.py [--assets 10000] [--runs 3] [--catalog postgresql://...]

Asset rows (and their keyword rows, as ingest writes them) are inserted through the catalog's
unit of work (no files, no models), then timed: adding every asset to a collection (and taking
them out again, untimed, between runs), moving all of them to the trash, restoring all of them,
editing title, keywords, status and rating on all (new values, history rows, keyword rows),
setting the status again (updates in place), and tagging all of them by hand and untagging
them. The use-case functions are the ones the CLI and the API call, so the figures include id
resolution and validation. Understanding is off: the text-space vector of an edited title is
one encoder call per distinct text, which a bulk edit of one title to every asset makes once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--catalog", default="", help="a PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    os.environ["ASSETLOOM_UNDERSTANDING"] = "false"
    from assetloom.app import collections, metadata, trash
    from assetloom.app.library import Library
    from assetloom.core.assets import Asset, MediaType

    with (
        tempfile.TemporaryDirectory() as work,
        Library.create(Path(work) / "lib", catalog=args.catalog) as lib,
    ):
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        assets = [
            Asset(
                asset_id=f"{i:032x}",
                sha256=f"{i:064x}",
                media_type=MediaType.IMAGE,
                mime="image/jpeg",
                size=1000,
                original_name=f"photo-{i}.jpg",
                registered_at=t0 + timedelta(seconds=i),
                metadata={"title": f"shot {i}"},
                fingerprints=[],
            )
            for i in range(args.assets)
        ]
        started = time.perf_counter()
        with lib.catalog.unit_of_work() as uow:
            uow.add_assets((a, False) for a in assets)
            for a in assets:
                uow.upsert_keywords(a.asset_id, {"name": a.original_name}, new=True)
        built = time.perf_counter() - started
        ids = [a.asset_id for a in assets]
        collections.create(lib, "bench", by="bench")
        print(f"{args.assets} assets ({lib.catalog.dialect}), inserted in {built:.2f} s")

        timings: dict[str, list[float]] = {}

        def timed(label: str, action: Callable[[], object], undo: Callable[[], object]) -> None:
            for _ in range(args.runs):
                started = time.perf_counter()
                action()
                timings.setdefault(label, []).append(time.perf_counter() - started)
                undo()

        timed(
            "add to a collection",
            lambda: collections.add(lib, "bench", ids),
            lambda: collections.remove(lib, "bench", ids),
        )
        timed(
            "move to the trash",
            lambda: trash.move_to_trash(lib, ids),
            lambda: trash.restore(lib, ids),
        )
        for _ in range(args.runs):
            trash.move_to_trash(lib, ids)
            started = time.perf_counter()
            trash.restore(lib, ids)
            timings.setdefault("restore from the trash", []).append(time.perf_counter() - started)
        edits = iter(
            [
                {"title": "Spring launch", "keywords": ["campaign", "蓝色"], "rating": 3},
                {"title": "Autumn launch", "keywords": ["campaign"], "rating": 4},
            ]
            * args.runs
        )
        timed(
            "edit title+keywords+rating",
            lambda: metadata.set_metadata(lib, ids, next(edits), "bench"),
            lambda: None,
        )
        statuses = iter(["approved", "draft"] * args.runs)
        timed(
            "set status",
            lambda: metadata.set_metadata(lib, ids, {"status": next(statuses)}, "bench"),
            lambda: None,
        )
        timed(
            "tag by hand",
            lambda: metadata.change_tags(lib, ids, ["SKU-1234"], [], "bench"),
            lambda: metadata.change_tags(lib, ids, [], ["SKU-1234"], "bench"),
        )
        for _ in range(args.runs):
            metadata.change_tags(lib, ids, ["SKU-1234"], [], "bench")
            started = time.perf_counter()
            metadata.change_tags(lib, ids, [], ["SKU-1234"], "bench")
            timings.setdefault("untag by hand", []).append(time.perf_counter() - started)
        for label, values in timings.items():
            runs = ", ".join(f"{v:.2f}" for v in values)
            print(f"{label:28s} median {statistics.median(values):6.2f} s  (runs: {runs})")


if __name__ == "__main__":
    main()
