"""k=10 search latency, build time, memory and recall@10 of VectorIndex on synthetic embeddings.

    .venv/bin/python bench/search.py [--sizes 10000,100000,1000000] [--dim 384] [--queries 1000]

Vectors: 1,000 Gaussian clusters whose spread lies mostly in a 16-d subspace of their own (plus
a little isotropic noise), L2-normalised: neighbourhoods like real embeddings, where points
differ along a few directions, not in every one. Queries are fresh draws from the same clusters.

Columns: build time and resident-memory growth of `VectorIndex.build`; saved file size and load
time; p50/p95 of one `search_one(q, 10)` call (the index part of a search, Python included);
`exact` the p50 of a brute-force scan of the same vectors, for comparison; recall@10 against
exact search over all queries; the same recall and p50 after removing 10 % of the ids
(tombstones, before `compact()`); and the mean cosine of each query's true 1st and 10th
neighbour, a gauge of how hard the data is (close values: many near-ties, harder).
Target: recall@10 >= 0.95; index p50 a small part of the 30 ms text-query budget at 100k.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np

from assetloom.index.vector_index import DEFAULT_HNSW, VectorIndex

CLUSTERS = 1_000
RANK = 16
SPREAD = 1.0  # subspace spread relative to the centre's norm
NOISE = 0.1
K = 10


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Clusters:
    """Draws clustered unit vectors; every draw shares the same centres and subspaces."""

    def __init__(self, dim: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.centres = rng.standard_normal((CLUSTERS, dim), dtype=np.float32) / dim**0.5
        self.bases = rng.standard_normal((CLUSTERS, RANK, dim), dtype=np.float32)
        self.bases *= SPREAD / (RANK * dim) ** 0.5

    def draw(self, n: int, seed: int, chunk: int = 100_000) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), dtype=np.float32)
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            labels = rng.integers(0, CLUSTERS, m)
            x = self.centres[labels]
            x += rng.standard_normal((m, self.dim), dtype=np.float32) * (NOISE / self.dim**0.5)
            z = rng.standard_normal((m, RANK), dtype=np.float32)
            for c in np.unique(labels):
                rows = np.flatnonzero(labels == c)
                x[rows] += z[rows] @ self.bases[c]
            faiss.normalize_L2(x)
            out[lo : lo + m] = x
        return out


def latencies_ms(fn, queries: np.ndarray) -> np.ndarray:
    for q in queries[:20]:
        fn(q)
    out = np.empty(len(queries))
    for i, q in enumerate(queries):
        t = time.perf_counter()
        fn(q)
        out[i] = (time.perf_counter() - t) * 1e3
    return out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [len(set(f) & set(t)) for f, t in zip(found, truth, strict=True)]
    return sum(hits) / truth.size


def bench_size(
    gen: Clusters, n: int, queries: np.ndarray, ef_searches: list[int]
) -> list[dict[str, float | str]]:
    vectors = gen.draw(n, seed=n)
    ids = np.arange(n, dtype=np.int64)
    before = rss_mb()
    t = time.perf_counter()
    index = VectorIndex.build(ids, vectors)
    build_s = time.perf_counter() - t
    mem_mb = rss_mb() - before

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.vidx"
        index.save(path)
        file_mb = path.stat().st_size / 2**20
        t = time.perf_counter()
        index = VectorIndex.load(path)
        load_s = time.perf_counter() - t

    flat = faiss.IndexFlatIP(gen.dim)
    flat.add(vectors)
    top, truth = flat.search(queries, K)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # as VectorIndex does for single queries
    exact = latencies_ms(lambda q: flat.search(q[None], K), queries[:100])
    faiss.omp_set_num_threads(threads)
    efs = ef_searches if index.kind == "hnsw" else [0]
    rows: list[dict[str, float | str]] = []
    for ef in efs:
        if ef:
            index.hnsw = replace(index.hnsw, ef_search=ef)
        lat = latencies_ms(lambda q: index.search_one(q, K), queries)
        rows.append(
            {
                "size": n,
                "kind": index.kind,
                "ef_search": ef or "-",
                "build_s": build_s,
                "mem_MB": mem_mb,
                "file_MB": file_mb,
                "load_s": load_s,
                "p50_ms": float(np.percentile(lat, 50)),
                "p95_ms": float(np.percentile(lat, 95)),
                "exact_ms": float(np.percentile(exact, 50)),
                "recall@10": recall(index.search(queries, K)[1], truth),
                "cos@1": float(top[:, 0].mean()),
                "cos@10": float(top[:, -1].mean()),
            }
        )

    gone = ids[::10]
    index.remove(gone)
    flat.remove_ids(gone)  # IndexFlat renumbers: rows i -> i - (removed before i)
    live = np.delete(ids, gone)
    truth = live[flat.search(queries, K)[1]]
    for ef, row in zip(efs, rows, strict=True):
        if ef:
            index.hnsw = replace(index.hnsw, ef_search=ef)
        lat = latencies_ms(lambda q: index.search_one(q, K), queries)
        row["del_recall"] = recall(index.search(queries, K)[1], truth)
        row["del_p50_ms"] = float(np.percentile(lat, 50))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument(
        "--ef", default=str(DEFAULT_HNSW.ef_search), help="HNSW efSearch values to try, e.g. 64,128"
    )
    args = parser.parse_args()

    gen = Clusters(args.dim)
    queries = gen.draw(args.queries, seed=1)
    cols = [
        "size",
        "kind",
        "ef_search",
        "build_s",
        "mem_MB",
        "file_MB",
        "load_s",
        "p50_ms",
        "p95_ms",
    ]
    cols += ["exact_ms", "recall@10", "del_recall", "del_p50_ms", "cos@1", "cos@10"]
    print(
        f"dim={args.dim} queries={args.queries} k={K} faiss threads={faiss.omp_get_max_threads()}"
    )
    print("  ".join(f"{c:>10}" for c in cols), flush=True)
    for n in (int(s) for s in args.sizes.split(",")):
        for row in bench_size(gen, n, queries, [int(e) for e in args.ef.split(",")]):
            cells = [
                f"{row[c]:>10.3f}" if isinstance(row[c], float) else f"{row[c]:>10}" for c in cols
            ]
            print("  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
