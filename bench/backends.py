"""The embedded default (SQLite + files + FAISS) against PostgreSQL + pgvector + S3, side by side.

    .venv/bin/python bench/backends.py [--photos 300] [--assets 100000] [--queries 200] [--json]
    .venv/bin/python bench/backends.py --photos 20 --assets 2000 --queries 20   # a quick run

Each backend gets a fresh library in a process of its own (so neither inherits the other's
warm fork server, page cache of Python objects or FAISS threads), fingerprint-only
(ASSETLOOM_UNDERSTANDING=false, as bench/ingest.py), and goes through the same steps:

1. `add`: the first `--photos` files of `--images` (symlinked into one folder), files/s.
2. Load: `--assets` synthetic image assets straight through `SqlCatalog.unit_of_work()`
   (`add_asset` with random PDQ/pHash codes of the real kinds, `add_vectors` with one clustered
   unit vector in the "visual" space as bench/search.py draws them, `upsert_keywords` with a
   Flickr8k train caption as the description), `--batch` per transaction. No ledger leaves.
3. Index builds after the load: the vector index (FAISS cache / pgvector HNSW via
   `PgVectorIndex.rebuild()`) and the fingerprint index (in memory on both backends).
   PostgreSQL then gets an ANALYZE, which autovacuum would run soon after such a load anyway
   (keyword ranking reads its statistics); SQLite gets none, as the library never runs one.
4. Vector search: `lib.vector_spaces().search_assets("visual", q, 100)` for `--queries` fresh
   draws from the same clusters (understanding is off, so `Library.search` has no text
   encoder; this is its vector part), p50/p95 and recall@100 against exact numpy top-100.
5. Keyword search: `lib.catalog.keyword_search(words, 100)`, words = the first two words of
   four letters or more of a Flickr8k dev caption (English), p50/p95.
6. Verify: `lib.verify([file])` for an exact copy and a 50 % resized JPEG of `--verify` of
   the added photos (decoding, fingerprinting and the catalog round trips), p50/p95, and how
   many found their own photo.

Servers: ASSETLOOM_TEST_POSTGRES_URL + ASSETLOOM_TEST_S3_BUCKET + AWS_* from the environment
(docs/backends.md, "The exports"), else `scripts/services.sh start` in a new temporary
directory, stopped (and removed) at the end, also on error or SIGTERM. Each run uses a new
database (dropped afterwards) and a new S3 prefix (emptied afterwards).

Latencies are client side, one query at a time, after 10 warm-up queries. The ratio column is
servers / embedded: below 1 for a rate means the servers are slower, above 1 for a time means
they are slower. On a shared machine the load average and the busiest other processes are
printed with the figures: read them before the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "backends"))

from copy_detection import resize_50  # noqa: E402
from pg_database import fresh_database  # noqa: E402
from search import Clusters  # noqa: E402

from assetloom.app.library import Library  # noqa: E402
from assetloom.app.understanding import keyword_document  # noqa: E402
from assetloom.core.assets import Asset, Fingerprint, MediaType  # noqa: E402
from assetloom.ingest.image_fingerprints import stored_fingerprints  # noqa: E402
from assetloom.store.base import NewVector  # noqa: E402

SPACE = "visual"
MODEL = "bench-synthetic"
K = 100
WARM_UP = 10
BACKENDS = ("embedded", "servers")
SERVER_ENV = (
    "ASSETLOOM_TEST_POSTGRES_URL",
    "ASSETLOOM_TEST_S3_BUCKET",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
)
# Settings the environment would impose on both libraries (it overrides assetloom.toml).
DROPPED_ENV = ("ASSETLOOM_CATALOG", "ASSETLOOM_BLOBS", "ASSETLOOM_LIBRARY")
T = TypeVar("T")
R = TypeVar("R")


def log(message: str) -> None:
    print(f"backends: {message}", file=sys.stderr, flush=True)


# --- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inputs:
    """What both children read: the photo folder, the verify copies, the texts."""

    photos: str
    exact: list[str]
    resized: list[str]
    documents: list[str]
    keyword_queries: list[str]


def prepare_inputs(tmp: Path, images: Path, photos: int, verify: int) -> Inputs:
    """Symlinks to the first `photos` images, exact and resized copies of the first `verify`."""
    files = sorted(p for p in images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[:photos]
    if len(files) < photos:
        raise SystemExit(f"only {len(files)} JPEGs in {images}, --photos {photos} asked")
    folder = tmp / "photos"
    folder.mkdir()
    for f in files:
        os.symlink(f.resolve(), folder / f.name)
    exact, resized = tmp / "verify-exact", tmp / "verify-resized"
    exact.mkdir()
    resized.mkdir()
    for f in files[:verify]:
        shutil.copyfile(f, exact / f.name)
        with Image.open(f) as im:
            resize_50(im.convert("RGB")).save(resized / f.name, "JPEG", quality=90)
    flickr = images.parent
    try:
        train = (flickr / "train.jsonl").read_text(encoding="utf-8").splitlines()
        dev = (flickr / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SystemExit(f"captions needed beside {images}: {exc}") from exc
    documents = [c for line in train for c in json.loads(line)["captions_en"]]
    queries = []
    for line in dev:
        words = [w for w in json.loads(line)["captions_en"][4].split() if w.isalpha()]
        long_words = [w.lower() for w in words if len(w) >= 4][:2]
        if long_words:
            queries.append(" ".join(long_words))
    return Inputs(
        photos=str(folder),
        exact=[str(exact / f.name) for f in files[:verify]],
        resized=[str(resized / f.name) for f in files[:verify]],
        documents=documents,
        keyword_queries=queries,
    )


# --- measuring, in the child -------------------------------------------------------------------


def percentiles(ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
    }


def timed(
    fn: Callable[[T], R], items: Sequence[T], warm_up: int = WARM_UP
) -> tuple[list[float], list[R]]:
    """Milliseconds of fn(item) and its result for each item, after fn over the first
    `warm_up` items (untimed)."""
    for item in items[:warm_up]:
        fn(item)
    ms: list[float] = []
    results: list[R] = []
    for item in items:
        t0 = time.perf_counter()
        results.append(fn(item))
        ms.append((time.perf_counter() - t0) * 1000)
    return ms, results


def load_synthetic(
    lib: Library, vectors: np.ndarray, template: list[Fingerprint], docs: list[str], batch: int
) -> list[str]:
    """Insert one synthetic asset per vector through the unit of work; their ids back."""
    rng = np.random.default_rng(11)
    now = datetime.now(UTC)
    ids: list[str] = []
    n = len(vectors)
    for lo in range(0, n, batch):
        hi = min(n, lo + batch)
        shas = rng.integers(0, 256, size=(hi - lo, 32), dtype=np.uint8)
        codes = [
            rng.integers(0, 256, size=(hi - lo, len(f.value)), dtype=np.uint8) for f in template
        ]
        with lib.catalog.unit_of_work() as uow:
            new: list[NewVector] = []
            batch_assets: list[tuple[Asset, bool]] = []
            for j, i in enumerate(range(lo, hi)):
                asset = Asset(
                    asset_id=uuid.uuid4().hex,
                    sha256=shas[j].tobytes().hex(),
                    media_type=MediaType.IMAGE,
                    mime="image/jpeg",
                    size=100_000 + i,
                    original_name=f"synthetic-{i:06d}.jpg",
                    registered_at=now,
                    width=500,
                    height=375,
                    metadata={"description": docs[i % len(docs)]},
                    fingerprints=[
                        Fingerprint(f.kind, c[j].tobytes(), f.quality)
                        for f, c in zip(template, codes, strict=True)
                    ],
                )
                batch_assets.append((asset, False))
                uow.upsert_keywords(asset.asset_id, keyword_document(asset, None, []), new=True)
                new.append(NewVector(asset.asset_id, SPACE, MODEL, vectors[i].tobytes()))
                ids.append(asset.asset_id)
            uow.add_assets(batch_assets)
            uow.add_vectors(new)
        if hi == n or (hi // batch) % 10 == 0:
            log(f"  loaded {hi}/{n}")
    return ids


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the exact top-k by cosine (the vectors are unit length)."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for lo in range(0, len(queries), 50):
        scores = queries[lo : lo + 50] @ vectors.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        out[lo : lo + 50] = top
    return out


@contextmanager
def open_library(kind: str, root: Path) -> Iterator[Library]:
    """A new library: embedded in `root`, or on a new database and S3 prefix (removed after)."""
    if kind == "embedded":
        with Library.create(root) as lib:
            yield lib
        return
    from sqlalchemy.engine import make_url

    server = os.environ["ASSETLOOM_TEST_POSTGRES_URL"]
    bucket = os.environ["ASSETLOOM_TEST_S3_BUCKET"]
    prefix = f"assetloom-bench-{uuid.uuid4().hex[:12]}"
    with fresh_database(server) as url:
        parsed = make_url(url)
        if parsed.password:  # Library.create refuses one in the URL: libpq reads PGPASSWORD
            os.environ.setdefault("PGPASSWORD", parsed.password)
            parsed = parsed.set(password=None)
        lib = Library.create(
            root,
            catalog=parsed.render_as_string(hide_password=False),
            blobs=f"s3://{bucket}/{prefix}",
        )
        try:
            yield lib
        finally:
            try:
                _empty_prefix(lib, bucket, prefix)
            finally:
                lib.close()


def _empty_prefix(lib: Library, bucket: str, prefix: str) -> None:
    client = lib.blobs.client  # type: ignore[attr-defined]
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/")
    for page in pages:
        keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def measure_add(lib: Library, photos: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """`add` of the photo folder: its figures, and file name -> asset id."""
    t0 = time.perf_counter()
    report = lib.add([photos], recursive=True)
    seconds = time.perf_counter() - t0
    figures = {
        "files": len(report.added),
        "skipped": len(report.skipped),
        "seconds": round(seconds, 2),
        "files_per_s": round(len(report.added) / seconds, 1),
    }
    return figures, {Path(o.file).name: o.asset_id for o in report.added}


def build_indexes(lib: Library) -> dict[str, Any]:
    """Rebuild the vector and fingerprint indexes from the catalog (after the bulk load)."""
    with lib.index_lock.writing():
        t0 = time.perf_counter()
        sizes = lib.vector_spaces().rebuild()
        vector_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        lib.fingerprint_index().rebuild()
        fingerprint_s = time.perf_counter() - t0
    if lib.catalog.dialect == "postgresql":
        with lib.catalog.writer.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return {
        "vector_index": {"seconds": round(vector_s, 2), "entries": sizes.get(SPACE, 0)},
        "fingerprint_index": {"seconds": round(fingerprint_s, 2)},
    }


def measure_vector_search(
    lib: Library, vectors: np.ndarray, ids: list[str], queries: np.ndarray
) -> dict[str, Any]:
    spaces = lib.vector_spaces()
    ms, found = timed(lambda q: [a for a, _ in spaces.search_assets(SPACE, q, K)], list(queries))
    truth = exact_top(vectors, queries, K)
    hits = sum(len(set(f) & {ids[r] for r in t}) for f, t in zip(found, truth, strict=True))
    return {**percentiles(ms), "recall_at_100": round(hits / truth.size, 3)}


def measure_keyword_search(lib: Library, texts: list[str], n: int) -> dict[str, Any]:
    texts = (texts * (n // len(texts) + 1))[:n]
    ms, counts = timed(lambda t: len(lib.catalog.keyword_search(t, K)), texts)
    return {**percentiles(ms), "mean_hits": round(float(np.mean(counts)), 1)}


def measure_verify(lib: Library, files: list[str], added: dict[str, str]) -> dict[str, Any]:
    """Verify each file alone; `found`: how many had their own photo as the best match."""

    def best(path: str) -> str | None:
        result = lib.verify([Path(path)])[0]
        return result.matches[0].asset_id if result.matches else None

    ms, got = timed(best, files, warm_up=2)
    right = sum(g == added.get(Path(f).name) for g, f in zip(got, files, strict=True))
    return {**percentiles(ms), "found": right, "of": len(files)}


def run_backend(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Every figure of one backend (see the module docstring for the steps)."""
    inputs = Inputs(**config["inputs"])
    photos = Path(inputs.photos)
    clusters = Clusters(config["dim"], seed=0)
    vectors = clusters.draw(config["assets"], seed=1)
    queries = clusters.draw(config["queries"], seed=2)
    with Image.open(min(photos.iterdir())) as im:
        template = stored_fingerprints(im.convert("RGB"))
    out: dict[str, Any] = {"load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    with (
        tempfile.TemporaryDirectory(prefix="assetloom-bench-") as tmp,
        open_library(kind, Path(tmp) / "lib") as lib,
    ):
        out["catalog"] = lib.catalog.dialect
        out["blobs"] = lib.blobs.describe()
        log(f"{kind}: add {config['photos']} photos")
        out["add"], added = measure_add(lib, photos)
        log(f"{kind}: load {config['assets']} synthetic assets")
        t0 = time.perf_counter()
        ids = load_synthetic(lib, vectors, template, inputs.documents, config["batch"])
        seconds = time.perf_counter() - t0
        out["load"] = {
            "assets": len(ids),
            "seconds": round(seconds, 2),
            "assets_per_s": round(len(ids) / seconds, 1),
        }
        log(f"{kind}: build the indexes")
        out.update(build_indexes(lib))
        log(f"{kind}: {config['queries']} vector and keyword searches")
        out["vector_search"] = measure_vector_search(lib, vectors, ids, queries)
        out["keyword_search"] = measure_keyword_search(
            lib, inputs.keyword_queries, config["queries"]
        )
        log(f"{kind}: verify {len(inputs.exact)} exact and resized copies")
        out["verify_exact"] = measure_verify(lib, inputs.exact, added)
        out["verify_resized"] = measure_verify(lib, inputs.resized, added)
    return out


# --- servers and children, in the parent -------------------------------------------------------


@contextmanager
def servers() -> Iterator[tuple[dict[str, str], str]]:
    """(the exports the children need, where the servers come from); stops what it started."""
    if any(os.environ.get(k) for k in SERVER_ENV[:2]):
        missing = [k for k in SERVER_ENV if k != "AWS_REGION" and not os.environ.get(k)]
        if missing:
            raise SystemExit(f"servers from the environment, but unset: {', '.join(missing)}")
        yield {k: os.environ[k] for k in SERVER_ENV if k in os.environ}, "from the environment"
        return
    directory = Path(tempfile.mkdtemp(prefix="assetloom-bench-servers-"))
    directory.chmod(0o711)  # the postgres user must reach it when we run as root
    script = str(REPO / "scripts" / "services.sh")
    try:
        log(f"starting the servers in {directory}")
        started = subprocess.run(
            ["bash", script, "start", str(directory)],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
            timeout=180,
        )
        exports = dict(
            shlex.split(line)[1].split("=", 1)
            for line in started.stdout.splitlines()
            if line.startswith("export ")
        )
        yield exports, f"started by scripts/services.sh in {directory}"
    finally:
        subprocess.run(["bash", script, "stop", str(directory)], check=False, timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


def run_child(kind: str, config: dict[str, Any], extra_env: dict[str, str], tmp: Path) -> Any:
    """run_backend(kind) in a fresh interpreter; its figures back."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV + SERVER_ENV}
    env.update(extra_env)
    env["ASSETLOOM_UNDERSTANDING"] = "false"
    loopback = "127.0.0.1,localhost"
    env["NO_PROXY"] = env["no_proxy"] = ",".join(x for x in (loopback, env.get("NO_PROXY")) if x)
    cfg, result = tmp / f"{kind}-config.json", tmp / f"{kind}-result.json"
    cfg.write_text(json.dumps(config))
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(cfg), str(result)], env=env
    )
    try:
        rc = child.wait()
    finally:
        if child.poll() is None:  # we are leaving on an error or a signal: let it clean up
            child.terminate()
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    if rc:
        raise SystemExit(f"the {kind} run failed (exit status {rc})")
    return json.loads(result.read_text())


def _cpu_ticks() -> dict[int, tuple[int, str]]:
    """pid -> (user + system clock ticks so far, command name), from /proc."""
    out: dict[int, tuple[int, str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        out[int(stat.parent.name)] = (int(fields[11]) + int(fields[12]), name)
    return out


def machine(sample_s: float = 1.0) -> dict[str, Any]:
    """Cores, load average, and the processes that used the most CPU over `sample_s`."""
    before = _cpu_ticks()
    time.sleep(sample_s)
    after = _cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    busy = sorted(
        ((ticks - before[pid][0]) / hz / sample_s * 100, pid, name)
        for pid, (ticks, name) in after.items()
        if pid in before and pid != me
    )[::-1]
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "busiest_processes": [
            f"{name} (pid {pid}, {cpu:.0f} % CPU)" for cpu, pid, name in busy[:5] if cpu >= 1
        ],
    }


ROWS: list[tuple[str, str, str]] = [
    ("add photos (files/s)", "add", "files_per_s"),
    ("catalog load (assets/s)", "load", "assets_per_s"),
    ("vector index build (s)", "vector_index", "seconds"),
    ("fingerprint index build (s)", "fingerprint_index", "seconds"),
    ("vector search p50 (ms)", "vector_search", "p50_ms"),
    ("vector search p95 (ms)", "vector_search", "p95_ms"),
    ("vector recall@100", "vector_search", "recall_at_100"),
    ("keyword search p50 (ms)", "keyword_search", "p50_ms"),
    ("keyword search p95 (ms)", "keyword_search", "p95_ms"),
    ("keyword hits per query", "keyword_search", "mean_hits"),
    ("verify exact p50 (ms)", "verify_exact", "p50_ms"),
    ("verify exact p95 (ms)", "verify_exact", "p95_ms"),
    ("verify resized p50 (ms)", "verify_resized", "p50_ms"),
    ("verify resized p95 (ms)", "verify_resized", "p95_ms"),
    ("verify exact found", "verify_exact", "found"),
    ("verify resized found", "verify_resized", "found"),
]


def ratios(figures: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for label, group, key in ROWS:
        a, b = figures["embedded"][group][key], figures["servers"][group][key]
        out[label] = round(b / a, 2) if a and key != "found" else None
    return out


def print_table(doc: dict[str, Any]) -> None:
    p, m = doc["parameters"], doc["machine"]
    print(
        f"photos {p['photos']}, synthetic assets {p['assets']} ({p['dim']}-d '{SPACE}' vectors), "
        f"queries {p['queries']}, verify {p['verify']} x (exact, resized), k {K}"
    )
    print(
        f"machine: {m['nproc']} cores, load average {m['load_average']} at start, "
        f"{doc['load_average_at_end']} at end"
    )
    print("other processes using CPU at start: " + ("; ".join(m["busiest_processes"]) or "none"))
    if doc["note"]:
        print(f"note: {doc['note']}")
    for kind in BACKENDS:
        f = doc[kind]
        print(
            f"{kind}: catalog {f['catalog']}, blobs {f['blobs']}, "
            f"load average {f['load_average_at_start']} at its start"
        )
    print(f"servers: {doc['servers_from']}")
    width = max(len(label) for label, _, _ in ROWS)
    print(f"\n{'metric':<{width}} | {'embedded':>10} | {'servers':>10} | servers/embedded")
    print(f"{'-' * width}-+-{'-' * 10}-+-{'-' * 10}-+-{'-' * 16}")
    for label, group, key in ROWS:
        a, b = doc["embedded"][group][key], doc["servers"][group][key]
        if group.startswith("verify") and key == "found":
            a, b = f"{a}/{doc['embedded'][group]['of']}", f"{b}/{doc['servers'][group]['of']}"
        r = doc["ratios"][label]
        print(f"{label:<{width}} | {a!s:>10} | {b!s:>10} | {'-' if r is None else r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--images", type=Path, default=REPO.parent / "shared/data/flickr8k/images")
    ap.add_argument("--photos", type=int, default=300, help="photos to add (the first N)")
    ap.add_argument("--assets", type=int, default=100_000, help="synthetic catalog size")
    ap.add_argument("--queries", type=int, default=200, help="vector and keyword queries")
    ap.add_argument("--verify", type=int, default=20, help="photos verified, exact + resized")
    ap.add_argument("--dim", type=int, default=384, help="vector dimension")
    ap.add_argument("--batch", type=int, default=2000, help="synthetic assets per transaction")
    ap.add_argument("--note", default="", help="what else was running, for the record")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # so servers, databases and folders are cleaned up

    signal.signal(signal.SIGTERM, stop)
    if args.child:
        kind, cfg, result = args.child
        Path(result).write_text(json.dumps(run_backend(kind, json.loads(Path(cfg).read_text()))))
        return 0
    if min(args.photos, args.assets, args.queries, args.verify) < 1:
        ap.error("--photos, --assets, --queries and --verify must be at least 1")
    if args.verify > args.photos:
        ap.error("--verify cannot exceed --photos")
    if args.assets < K:
        ap.error(f"--assets must be at least {K} (the search depth)")

    facts = machine()
    parameters = {
        k: getattr(args, k) for k in ("photos", "assets", "queries", "verify", "dim", "batch")
    }
    with tempfile.TemporaryDirectory(prefix="assetloom-bench-inputs-") as tmp_name:
        tmp = Path(tmp_name)
        inputs = prepare_inputs(tmp, args.images, args.photos, args.verify)
        config = {**parameters, "inputs": asdict(inputs)}
        figures: dict[str, Any] = {}
        with servers() as (exports, origin):
            figures["embedded"] = run_child("embedded", config, {}, tmp)
            figures["servers"] = run_child("servers", config, exports, tmp)
    doc = {
        "parameters": {**parameters, "images": str(args.images), "k": K},
        "machine": facts,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "note": args.note,
        "servers_from": origin,
        **figures,
        "ratios": ratios(figures),
    }
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print_table(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
