"""Bulk metadata edits and tags by hand on 10,000 assets: each call is one transaction.

    .venv/bin/python bench/metadata_bulk.py [--assets 10000] [--catalog postgresql://...]

Asset rows (and their keyword rows, as ingest writes them) are inserted through the catalog's
unit of work, so no file is decoded; then one `set_metadata` (title, keywords, status, rating
on every asset: new values, history rows, keyword rows), a second one changing them again
(updates in place), one `change_tags` adding a tag to all and one removing it. Understanding is
off: the text-space vector of an edited title is one encoder call per distinct text, which a
bulk edit of one title to every asset makes once.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--catalog", default="", help="a PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    os.environ["ASSETLOOM_UNDERSTANDING"] = "false"
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
        with lib.catalog.unit_of_work() as uow:
            uow.add_assets((a, False) for a in assets)
            for a in assets:
                uow.upsert_keywords(a.asset_id, {"name": a.original_name}, new=True)
        ids = [a.asset_id for a in assets]
        steps = [
            ("set title+keywords+status+rating", lambda: lib.set_metadata(
                ids, {"title": "Spring launch", "keywords": ["campaign", "蓝色"],
                      "status": "in_review", "rating": 3}, actor="bench")),
            ("set again (updates in place)", lambda: lib.set_metadata(
                ids, {"status": "approved", "rating": 4}, actor="bench")),
            ("tag add SKU-1234", lambda: lib.change_tags(ids, add=["SKU-1234"], actor="bench")),
            ("tag remove SKU-1234", lambda: lib.change_tags(
                ids, remove=["sku-1234"], actor="bench")),
        ]  # fmt: skip
        backend = "postgresql" if args.catalog else "sqlite"
        print(f"{args.assets} assets, {backend}")
        for name, step in steps:
            start = time.perf_counter()
            done = step()
            took = time.perf_counter() - start
            print(f"  {name:36s} {took:6.2f} s  ({done.updated} updated)")


if __name__ == "__main__":
    main()
