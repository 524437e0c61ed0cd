"""HTTP load benchmark: 50 clients for 60 s against `assetloom serve`, on loopback only.

    python bench/api_load.py                      # 50 clients, 60 s, library of 1,000 dev images
    python bench/api_load.py --clients 20 --duration 30 --json
    python bench/api_load.py --think-ms 1000     # people, not scripts: ~1 s between clicks

Builds (once, cached under --work) a library of the 1,000 Flickr8k dev images from
$ASSETLOOM_SHARED (default /work/shared), starts the server in its own process on a free
127.0.0.1 port, and runs the clients from one asyncio loop: each picks search (captions, en and
zh, half the requests), a thumbnail read (two fifths) or an upload of a train-split image it
has not sent before (one tenth). Reports QPS, p50/p95 latency per route and the error count.
By default clients send their next request as soon as the last one returns (a saturation
test: latency is then clients / throughput); `--think-ms` makes each client pause a random
time (exponential, that mean) between requests, as people using the web UI do.
Goal: zero errors, search p95 under 200 ms. Understanding (embeddings, tags) is used when this
machine can ingest with it; otherwise search is keyword + query encoding only, as the report says.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

MAX_DURATION_S = 600
MAX_CLIENTS = 200
MIX = (("search", 0.5), ("thumbnail", 0.4), ("upload", 0.1))
SERVER = """
import sys, uvicorn
from pathlib import Path
from assetloom.server.app import create_app
from assetloom.api.logs import configure_logging
configure_logging(True)
import logging; logging.getLogger("assetloom.api.access").setLevel(logging.WARNING)
uvicorn.run(create_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]),
            log_config=None, server_header=False)
"""


def shared_dir() -> Path:
    return Path(os.environ.get("ASSETLOOM_SHARED", "/work/shared"))


def read_split(name: str) -> list[dict]:
    path = shared_dir() / "data/flickr8k" / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def can_understand(work: Path) -> bool:
    """Can this machine embed and tag at ingest (model packages, alignment head, calibration)?"""
    from assetloom.app.library import Library

    probe = work / "probe"
    shutil.rmtree(probe, ignore_errors=True)
    os.environ["ASSETLOOM_UNDERSTANDING"] = "true"
    try:
        with Library.create(probe / "lib") as lib:
            item = read_split("dev")[0]
            return bool(lib.add([shared_dir() / "data/flickr8k" / item["image"]]).added)
    except Exception:
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def build_library(work: Path, understanding: bool) -> tuple[Path, str]:
    """The 1,000 dev images in a library (built once per setting), plus an editor token."""
    from assetloom.accounts import AccountService, Role
    from assetloom.app.library import Library

    os.environ["ASSETLOOM_UNDERSTANDING"] = "true" if understanding else "false"
    root = work / ("lib-understanding" if understanding else "lib-plain")
    if not (root / "catalog.db").exists():
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        with Library.create(root) as lib:
            images = [shared_dir() / "data/flickr8k" / it["image"] for it in read_split("dev")]
            report = lib.add(images)
            AccountService.of(lib).add_user("bench", Role.EDITOR, None)
        print(
            f"built library: {len(report.added)} added, {len(report.skipped)} skipped "
            f"in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    with Library.open(root) as lib:
        _, token = AccountService.of(lib).create_token("bench", "api_load")
    return root, token


def serve_copy(
    work: Path, name: str, understanding: bool
) -> tuple[subprocess.Popen[bytes], str, str]:
    """The bench library (built once), copied to `work/name` (runs change it), served by
    `assetloom serve`'s app in a process of its own: (process, base URL, editor token)."""
    root, token = build_library(work, understanding)
    run_root = work / name
    shutil.rmtree(run_root, ignore_errors=True)
    shutil.copytree(root, run_root)
    port = free_port()
    env = {**os.environ, "ASSETLOOM_UNDERSTANDING": "true" if understanding else "false"}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(run_root), str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    return server, f"http://127.0.0.1:{port}", token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_ready(client: httpx.AsyncClient, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("server did not become ready")


async def run_load(
    url: str, token: str, clients: int, duration: float, seed: int, think_s: float = 0.0
) -> dict:
    rng = random.Random(seed)
    dev = read_split("dev")
    queries = [q for it in dev for q in (it["captions_en"][0], it["captions_zh"][0])]
    uploads = [shared_dir() / "data/flickr8k" / it["image"] for it in read_split("train")]
    rng.shuffle(uploads)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as http:
        await wait_ready(http, time.monotonic() + 300)
        ids = [
            a["asset_id"] for a in (await http.get("/api/v1/assets?limit=1000")).json()["assets"]
        ]
        for q in queries[:3]:  # first queries load the text encoder: not part of the figures
            await http.get("/api/v1/search", params={"q": q, "limit": 20})
        latencies: dict[str, list[float]] = defaultdict(list)
        errors: Counter[str] = Counter()
        next_upload = iter(range(len(uploads)))
        stop = time.monotonic() + duration

        async def one_client(n: int) -> None:
            local = random.Random(seed * 1000 + n)
            while time.monotonic() < stop:
                route = local.choices([r for r, _ in MIX], [w for _, w in MIX])[0]
                started = time.perf_counter()
                try:
                    if route == "search":
                        r = await http.get(
                            "/api/v1/search", params={"q": local.choice(queries), "limit": 20}
                        )
                    elif route == "thumbnail":
                        r = await http.get(f"/api/v1/assets/{local.choice(ids)}/thumbnail")
                    else:
                        path = uploads[next(next_upload)]
                        files = [("files", (path.name, path.read_bytes(), "image/jpeg"))]
                        r = await http.post("/api/v1/assets", files=files)
                    ok = r.status_code == 200
                    if not ok:
                        errors[f"{route} {r.status_code} {r.text[:80]}"] += 1
                except (httpx.HTTPError, StopIteration) as exc:
                    ok = False
                    errors[f"{route} {type(exc).__name__}"] += 1
                if ok:
                    latencies[route].append(time.perf_counter() - started)
                if think_s:
                    await asyncio.sleep(min(local.expovariate(1 / think_s), 10 * think_s))

        began = time.perf_counter()
        await asyncio.gather(*(one_client(n) for n in range(clients)))
        elapsed = time.perf_counter() - began
        metrics = (await http.get("/metrics")).text
    return {
        "elapsed_s": round(elapsed, 1),
        "requests": sum(len(v) for v in latencies.values()) + sum(errors.values()),
        "qps": round(sum(len(v) for v in latencies.values()) / elapsed, 1),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(10)),
        "routes": {
            route: {
                "count": len(v),
                "qps": round(len(v) / elapsed, 1),
                "p50_ms": round(_pct(v, 50) * 1000, 1),
                "p95_ms": round(_pct(v, 95) * 1000, 1),
                "max_ms": round(max(v) * 1000, 1),
            }
            for route, v in sorted(latencies.items())
        },
        "server_assets": _metric(metrics, "assetloom_assets"),
    }


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


def _metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--work", type=Path, default=Path("/tmp/assetloom-bench-api"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="mean pause between a client's requests"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    if not 1 <= args.clients <= MAX_CLIENTS or not 0 < args.duration <= MAX_DURATION_S:
        raise SystemExit(f"--clients 1..{MAX_CLIENTS}, --duration up to {MAX_DURATION_S} s")
    if not (shared_dir() / "data/flickr8k/dev.jsonl").is_file():
        raise SystemExit(f"Flickr8k not found under {shared_dir()} (set ASSETLOOM_SHARED)")
    args.work.mkdir(parents=True, exist_ok=True)
    understanding = can_understand(args.work)
    server, url, token = serve_copy(args.work, "run", understanding)  # runs upload: fresh copy
    load_before = os.getloadavg()[0]
    try:
        result = asyncio.run(
            run_load(
                url,
                token,
                args.clients,
                args.duration,
                args.seed,
                args.think_ms / 1000,
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    result.update(
        clients=args.clients,
        think_ms=args.think_ms,
        duration_s=args.duration,
        understanding=understanding,
        cores=os.cpu_count(),
        load_avg_before=round(load_before, 2),
        load_avg_after=round(os.getloadavg()[0], 2),
    )
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    print(
        f"{result['clients']} clients (think {args.think_ms:g} ms), {result['elapsed_s']} s, "
        "understanding "
        f"{'on' if understanding else 'off (keyword search + query encoding)'}, "
        f"{result['cores']} cores, load average {result['load_avg_before']} -> "
        f"{result['load_avg_after']}"
    )
    print(f"{result['requests']} requests, {result['qps']} QPS, {result['errors']} errors")
    print(f"{'route':<10} {'count':>6} {'QPS':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for route, r in result["routes"].items():
        print(
            f"{route:<10} {r['count']:>6} {r['qps']:>6} {r['p50_ms']:>8} "
            f"{r['p95_ms']:>8} {r['max_ms']:>8}"
        )
    for kind, n in result["error_kinds"].items():
        print(f"error x{n}: {kind}")


if __name__ == "__main__":
    main()
