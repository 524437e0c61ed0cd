"""End-to-end text-query latency of `search` in-process, at library sizes made synthetically.

    .venv/bin/python bench/search_e2e.py [--sizes 10000,100000] [--queries 200]

Assets, their visual vectors (clustered unit vectors, like real embeddings) and keyword rows
are written straight into a fresh catalog; then each query goes through `Library.search`
exactly as the CLI runs it: encode the words (distinct queries, so the per-process cache never
hits), vector search, FTS5 BM25, fusion, filters, asset loading. Target: p50 <= 30 ms at 100 k.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import insert, text

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.store.schema import AssetRow
from assetloom.store.search_tables import EmbeddingRow

WORDS = [
    "dog",
    "cat",
    "child",
    "beach",
    "mountain",
    "city",
    "street",
    "red",
    "blue",
    "green",
    "bicycle",
    "car",
    "boat",
    "snow",
    "water",
    "grass",
    "woman",
    "man",
    "girl",
    "boy",
    "running",
    "jumping",
    "sitting",
    "playing",
    "ball",
    "park",
    "field",
    "river",
    "lake",
    "sunset",
    "night",
]


def populate(lib: Library, n: int, rng: np.random.Generator) -> None:
    centres = rng.normal(size=(1000, 384)).astype(np.float32)
    now = datetime.now(UTC)
    with lib.write_session() as s, s.begin():
        for start in range(0, n, 10_000):
            m = min(10_000, n - start)
            vecs = centres[rng.integers(0, 1000, m)] + 0.6 * rng.normal(size=(m, 384))
            vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
            ids = [uuid.uuid4().hex for _ in range(m)]
            names = [f"{' '.join(rng.choice(WORDS, 3))} {start + i}.jpg" for i in range(m)]
            s.execute(
                insert(AssetRow),
                [
                    {
                        "asset_id": a,
                        "sha256": uuid.uuid4().hex * 2,
                        "media_type": "image",
                        "mime": "image/jpeg",
                        "size": 100_000,
                        "original_name": name,
                        "width": 640,
                        "height": 480,
                        "metadata_json": {},
                        "has_thumbnail": False,
                        "registered_at": now,
                    }
                    for a, name in zip(ids, names, strict=True)
                ],
            )
            s.execute(
                insert(EmbeddingRow),
                [
                    {"asset_id": a, "space": "visual", "model": "synthetic", "vector": v.tobytes()}
                    for a, v in zip(ids, vecs, strict=True)
                ],
            )
            s.execute(
                text("INSERT INTO asset_text (asset_id, name) VALUES (:a, :n)"),
                [{"a": a, "n": name} for a, name in zip(ids, names, strict=True)],
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    os.environ["ASSETLOOM_UNDERSTANDING"] = "true"
    rng = np.random.default_rng(3)
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    for size in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp, Library.create(Path(tmp) / "lib") as lib:
            t0 = time.perf_counter()
            populate(lib, size, rng)
            lib.vector_spaces().sync()
            built = time.perf_counter() - t0
            lib.search(SearchQuery(text="warm-up query", limit=20))  # loads the text encoder
            times = []
            for i in range(args.queries):
                words = " ".join(rng.choice(WORDS, 3))
                q = SearchQuery(text=f"{words} {i}", limit=20)
                t = time.perf_counter()
                hits = lib.search(q)
                times.append((time.perf_counter() - t) * 1000)
                assert hits
            times.sort()
            p95 = times[int(0.95 * len(times)) - 1]
            print(
                f"{size:>8} assets: build {built:6.1f} s, text query p50 "
                f"{statistics.median(times):6.1f} ms, p95 {p95:6.1f} ms ({args.queries} queries)"
            )


if __name__ == "__main__":
    main()
