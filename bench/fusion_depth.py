"""How deep each ranked list goes into fusion, without filters: agreement, recall and time.

    python bench/fusion_depth.py [--library /tmp/assetloom-bench-api/lib-understanding]

Uses the library `bench/api_load.py` builds (the 1,000 Flickr8k dev images, understanding on)
and 600 dev captions (300 en + 300 zh) as queries. Reports, per depth, the search time per
query with query vectors cached (encoding is the same at every depth), R@10 of the captioned
image, and how much of depth 200's top 10 / top 20 it keeps.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

DEPTHS = (200, 100, 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--library", type=Path, default=Path("/tmp/assetloom-bench-api/lib-understanding")
    )
    parser.add_argument("--queries", type=int, default=300, help="dev images (2 captions each)")
    args = parser.parse_args()
    os.environ["ASSETLOOM_UNDERSTANDING"] = "true"
    import assetloom.app.search as search
    from assetloom.app.library import Library

    shared = Path(os.environ.get("ASSETLOOM_SHARED", "/work/shared"))
    dev = [json.loads(line) for line in (shared / "data/flickr8k/dev.jsonl").open()]
    queries = [
        (q, Path(it["image"]).name)
        for it in dev[: args.queries]
        for q in (it["captions_en"][0], it["captions_zh"][0])
    ]
    with Library.open(args.library) as lib:

        def run(depth: int) -> tuple[list[list[str]], float]:
            search.FUSION_DEPTH = depth
            started = time.perf_counter()
            names = [
                [h.asset.original_name for h in lib.search(search.SearchQuery(text=q, limit=20))]
                for q, _ in queries
            ]
            return names, (time.perf_counter() - started) / len(queries) * 1000

        run(max(DEPTHS))  # encodes (and caches) every query once
        results = {depth: run(depth) for depth in DEPTHS}
    base = results[max(DEPTHS)][0]
    for depth, (names, ms) in results.items():
        r10 = sum(img in got[:10] for got, (_, img) in zip(names, queries, strict=True))
        keep10 = sum(len(set(a[:10]) & set(b[:10])) / 10 for a, b in zip(base, names, strict=True))
        keep20 = sum(len(set(a[:20]) & set(b[:20])) / 20 for a, b in zip(base, names, strict=True))
        n = len(queries)
        print(
            f"depth {depth:>3}: {ms:5.2f} ms/query  R@10 {r10 / n:.3f}  "
            f"keeps top10 {keep10 / n:.3f} top20 {keep20 / n:.3f}"
        )


if __name__ == "__main__":
    main()
