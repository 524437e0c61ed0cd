"""Provenance-ledger benchmark: append rate, proof latency and size, audit time.

    python bench/ledger.py                          # 1 M leaves, about 2 minutes
    python bench/ledger.py --sizes 1000000,10000000 # adds 10 M (about 6 more minutes, 2 GB)

The log is grown in one SQLite catalog up to each size in turn. Leaves up to 1 M are real
registration leaves (canonical JSON, ~300 bytes); beyond that, synthetic 8-byte leaves keep
the build fast: proofs read the same tables either way. Targets: >= 20,000 appends/s in batch,
inclusion-proof p50 <= 1 ms at 1 M and 10 M leaves.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from assetloom.core import merkle
from assetloom.provenance import leaves
from assetloom.provenance.ledger_service import LedgerService
from assetloom.store.db import make_engine, migrate, session_factory, sqlite_url

ORIGIN = "bench.assetloom.local/ledger"
REAL_LEAVES_UP_TO = 1_000_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def register(i: int) -> bytes:
    return leaves.register_leaf(
        asset_id=f"{i:032x}",
        sha256=f"{i * 7919:064x}",
        perceptual_hashes={"pdq": f"{i * 31:064x}", "phash": f"{i:016x}"},
        media_type="image",
        size=10_000 + i,
        registered_at=T0 + timedelta(seconds=i),
    )


def leaves_for(start: int, end: int) -> Iterator[bytes]:
    for i in range(start, end):
        yield register(i) if i < REAL_LEAVES_UP_TO else i.to_bytes(8, "big")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def percentiles(samples: list[float], cpu: list[float] | None = None) -> str:
    q = statistics.quantiles(samples, n=100)
    text = f"p50 {ms(q[49])}  p95 {ms(q[94])}  max {ms(max(samples))}"
    return text + (f"  (CPU p50 {ms(statistics.median(cpu))})" if cpu else "")


def bench_appends(sessions: sessionmaker[Session], service: LedgerService, n: int) -> None:
    datas = [register(i) for i in range(n)]
    t = time.perf_counter()
    with sessions.begin() as s:
        service.store.append_many(s, datas)
    batch = time.perf_counter() - t
    print(f"append, one batch of {n:,}: {n / batch:,.0f} leaves/s ({batch:.2f} s, commit included)")
    singles = 1000
    t = time.perf_counter()
    for i in range(n, n + singles):
        with sessions.begin() as s:
            service.store.append(s, register(i))
    one = time.perf_counter() - t
    print(f"append, one leaf per transaction: {singles / one:,.0f} leaves/s")


def grow(sessions: sessionmaker[Session], service: LedgerService, size: int) -> None:
    with sessions() as s:
        start = service.store.size(s)
    t = time.perf_counter()
    step = 200_000
    for lo in range(start, size, step):
        with sessions.begin() as s:
            service.store.append_many(s, leaves_for(lo, min(lo + step, size)))
    took = time.perf_counter() - t
    print(f"grew the log {start:,} -> {size:,} leaves in {took:.1f} s")


def bench_proofs(sessions: sessionmaker[Session], service: LedgerService, count: int) -> None:
    rng = random.Random(1)
    with sessions() as s:
        size = service.store.size(s)
        root = service.store.root(s)
        samples, cpu, consistency = [], [], []
        for _ in range(count):
            index = rng.randrange(size)
            t, c = time.perf_counter(), time.thread_time()
            proof = service.store.inclusion_proof(s, index, size)
            samples.append(time.perf_counter() - t)
            cpu.append(time.thread_time() - c)
            merkle.verify_inclusion(
                service.store.leaf(s, index).leaf_hash, index, size, proof, root
            )
            old = rng.randrange(1, size)
            t = time.perf_counter()
            service.store.consistency_proof(s, old, size)
            consistency.append(time.perf_counter() - t)
    print(f"  inclusion proof ({count:,} random leaves): {percentiles(samples, cpu)}")
    print(f"  consistency proof (random old size):   {percentiles(consistency)}")
    print(f"  proof size: {len(proof)} hashes = {32 * len(proof)} bytes")
    full = []
    for _ in range(50):
        asset = f"{rng.randrange(min(size, REAL_LEAVES_UP_TO)):032x}"
        t = time.perf_counter()
        bundle = service.proof(asset)
        full.append(time.perf_counter() - t)
    body = json.dumps(bundle.to_dict())
    print(f"  `ledger proof` (lookup, sign, verify; 50 runs): {percentiles(full)}")
    print(f"  `ledger proof --json` size: {len(body):,} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000", help="comma-separated log sizes")
    parser.add_argument("--appends", type=int, default=200_000, help="leaves in the batch test")
    parser.add_argument("--proofs", type=int, default=2000, help="random proofs per size")
    parser.add_argument("--audit-max", type=int, default=1_000_000, help="audit up to this size")
    parser.add_argument("--dir", type=Path, help="where to put the catalog (default: temp)")
    args = parser.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(","))

    folder = args.dir or Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    engine = make_engine(sqlite_url(folder / "catalog.db"))
    migrate(engine)
    sessions = session_factory(engine)
    LedgerService.create_key(folder / "keys", ORIGIN)
    service = LedgerService(sessions, folder / "keys", ORIGIN)
    print(f"catalog: {folder / 'catalog.db'}; load average {os.getloadavg()[0]:.1f}")

    bench_appends(sessions, service, args.appends)
    for size in sizes:
        print(f"\n== {size:,} leaves")
        grow(sessions, service, size)
        bench_proofs(sessions, service, args.proofs)
        if size <= args.audit_max:
            service.checkpoint()
            t = time.perf_counter()
            result = service.audit()
            took = time.perf_counter() - t
            print(f"  audit of {result.leaves_checked:,} leaves: {took:.1f} s, ok={result.ok}")
        mb = (folder / "catalog.db").stat().st_size / 1e6
        print(f"  catalog file: {mb:,.0f} MB")
    engine.dispose()


if __name__ == "__main__":
    main()
