"""Keyword search on PostgreSQL: tsvector phrases (store.fts_postgres) vs pg_trgm, on Flickr8k.

    python bench/pg_keywords.py                       # servers from scripts/services.sh
    ASSETLOOM_TEST_POSTGRES_URL=... python bench/pg_keywords.py --data PATH/dev.jsonl

Each of the 1,000 dev images is one document: its captions 0-3 joined, as `content`. Its
caption 4 is the query; the image's own document is the one relevant answer. Reported per
method and language: R@1, R@10, MRR (over the top 100) and the query latency p50 (client side,
one query at a time, round trip included).

Methods:
- `tsvector`: store.fts_postgres, the catalog's own schema (migrated to head): CJK characters
  one token each, all terms (CJK runs as phrases) first; when none match, any term, with
  overlapping two-character phrases for CJK runs and IDF-weighted words (ANALYZE statistics).
- `trgm`: pg_trgm `word_similarity(query, text)` over the folded, unsegmented text, candidates
  from a GIN trigram index with `query <% text` (threshold `--trgm-threshold`). Run in a
  database with LC_CTYPE C.UTF-8, and once more (zh only) with LC_CTYPE C, where pg_trgm sees
  no CJK characters at all.
- `sqlite-fts5`: store.fts on SQLite FTS5, for reference (what the embedded catalog does).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from assetloom.store import fts, fts_postgres
from assetloom.store.db import make_engine, migrate

REPO = Path(__file__).resolve().parents[1]
DEPTH = 100  # results fetched per query, for MRR
Search = Callable[[Session, str, int], list[str]]


@contextmanager
def postgres_server() -> Iterator[str]:
    """ASSETLOOM_TEST_POSTGRES_URL, or servers started by scripts/services.sh (and stopped)."""
    url = os.environ.get("ASSETLOOM_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    directory = Path(tempfile.mkdtemp(prefix="assetloom-bench-services-"))
    directory.chmod(0o711)
    script = str(REPO / "scripts" / "services.sh")
    try:
        started = subprocess.run(
            ["bash", script, "start", str(directory)],
            capture_output=True,
            text=True,
            check=True,
            timeout=180,
        )
        exports = dict(
            shlex.split(line)[1].split("=", 1)
            for line in started.stdout.splitlines()
            if line.startswith("export ")
        )
        yield exports["ASSETLOOM_TEST_POSTGRES_URL"]
    finally:
        subprocess.run(["bash", script, "stop", str(directory)], check=False, timeout=90)
        subprocess.run(["rm", "-rf", str(directory)], check=False)


@contextmanager
def database(server_url: str, lc_ctype: str) -> Iterator[sa.Engine]:
    """A new database with this LC_CTYPE, migrated to head; dropped afterwards."""
    name = f"assetloom_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0 LC_CTYPE '{lc_ctype}'")
    engine = make_engine(make_url(server_url).set(database=name).render_as_string(False))
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


# --- the methods: index the documents, return a search function ------------------------------


def load_tsvector(engine: sa.Engine, docs: dict[str, str]) -> Search:
    with Session(engine) as s, s.begin():
        for asset_id, body in docs.items():
            fts_postgres.upsert(s, asset_id, {"content": body})
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE asset_text")

    def run(s: Session, query: str, limit: int) -> list[str]:
        return [h.asset_id for h in fts_postgres.search(s, query, limit)]

    return run


def load_trgm(engine: sa.Engine, docs: dict[str, str], threshold: float) -> Search:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.exec_driver_sql("CREATE TABLE bench_trgm (asset_id text PRIMARY KEY, body text)")
        conn.execute(
            sa.text("INSERT INTO bench_trgm VALUES (:a, :b)"),
            [{"a": a, "b": fts_postgres.fold(body)} for a, body in docs.items()],
        )
        conn.exec_driver_sql(
            "CREATE INDEX bench_trgm_body ON bench_trgm USING gin (body gin_trgm_ops)"
        )
        conn.exec_driver_sql("ANALYZE bench_trgm")
    sql = sa.text(
        "SELECT asset_id FROM bench_trgm WHERE :q <% body "
        "ORDER BY word_similarity(:q, body) DESC, asset_id LIMIT :n"
    )

    def run(s: Session, query: str, limit: int) -> list[str]:
        s.execute(sa.text(f"SET LOCAL pg_trgm.word_similarity_threshold = {threshold:g}"))
        return list(s.scalars(sql, {"q": fts_postgres.fold(query), "n": limit}))

    return run


def load_sqlite(engine: sa.Engine, docs: dict[str, str]) -> Search:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE asset_text USING fts5(asset_id UNINDEXED, name, title, "
            "description, keywords, tags, content, tokenize='unicode61 remove_diacritics 2')"
        )
    with Session(engine) as s, s.begin():
        for asset_id, body in docs.items():
            fts.upsert(s, asset_id, {"content": body})

    def run(s: Session, query: str, limit: int) -> list[str]:
        return [h.asset_id for h in fts.search(s, query, limit)]

    return run


# --- measuring ----------------------------------------------------------------------------------


def measure(engine: sa.Engine, search: Search, queries: dict[str, str]) -> dict[str, float]:
    ranks: list[int | None] = []
    times: list[float] = []
    with Session(engine) as s:
        for query in list(queries.values())[:20]:  # warm-up
            with s.begin():
                search(s, query, DEPTH)
        for asset_id, query in queries.items():
            with s.begin():
                t = time.perf_counter()
                found = search(s, query, DEPTH)
                times.append(time.perf_counter() - t)
            ranks.append(found.index(asset_id) + 1 if asset_id in found else None)
    n = len(ranks)
    return {
        "R@1": sum(r == 1 for r in ranks) / n,
        "R@10": sum(r is not None and r <= 10 for r in ranks) / n,
        "MRR": sum(1 / r for r in ranks if r) / n,
        "answered": sum(r is not None for r in ranks) / n,
        "p50_ms": statistics.median(times) * 1000,
    }


def corpus(path: Path, lang: str) -> tuple[dict[str, str], dict[str, str]]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    sep = "" if lang == "zh" else " "
    docs = {f"{i:032x}": sep.join(it[f"captions_{lang}"][:4]) for i, it in enumerate(items)}
    queries = {f"{i:032x}": it[f"captions_{lang}"][4] for i, it in enumerate(items)}
    return docs, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/flickr8k/dev.jsonl"))
    parser.add_argument("--trgm-threshold", type=float, default=0.3)
    args = parser.parse_args()
    rows: list[tuple[str, str, dict[str, float]]] = []
    with postgres_server() as server:
        for lang in ("zh", "en"):
            docs, queries = corpus(args.data, lang)
            with database(server, "C.UTF-8") as engine:
                rows.append(
                    (lang, "tsvector", measure(engine, load_tsvector(engine, docs), queries))
                )
                search = load_trgm(engine, docs, args.trgm_threshold)
                rows.append((lang, "trgm", measure(engine, search, queries)))
            if lang == "zh":
                with database(server, "C") as engine:
                    search = load_trgm(engine, docs, args.trgm_threshold)
                    rows.append((lang, "trgm, LC_CTYPE=C", measure(engine, search, queries)))
            lite = sa.create_engine("sqlite+pysqlite:///:memory:")
            rows.append((lang, "sqlite-fts5", measure(lite, load_sqlite(lite, docs), queries)))
            lite.dispose()
    print(f"{len(queries)} queries per language, documents = captions 0-3, query = caption 4")
    print(f"{'lang':<5}{'method':<19}{'R@1':>7}{'R@10':>7}{'MRR':>7}{'answered':>10}{'p50 ms':>9}")
    for lang, method, m in rows:
        print(
            f"{lang:<5}{method:<19}{m['R@1']:>7.3f}{m['R@10']:>7.3f}{m['MRR']:>7.3f}"
            f"{m['answered']:>10.3f}{m['p50_ms']:>9.2f}"
        )


if __name__ == "__main__":
    main()
