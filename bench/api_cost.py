"""Server CPU time per request, by route, one request at a time (what load can't show).

    .venv/bin/python bench/api_cost.py [--requests 200]

Starts `assetloom serve`'s app on the library bench/api_load.py builds (the 1,000 Flickr8k dev
images; built if missing, copied per run) and sends requests one after another from this
process, reading the server process's CPU time from /proc before and after each batch:
searches whose query must be encoded, the same searches again (query vectors cached),
thumbnails, lists, /healthz, and uploads of new train images. CPU per request bounds what the
machine can serve: cores / CPU-per-request = requests per second at saturation.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from api_load import can_understand, read_split, serve_copy, shared_dir


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="per route (uploads: 1/5)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/assetloom-bench-api"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    understanding = can_understand(args.work)
    server, url, token = serve_copy(args.work, "cost", understanding)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as c:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    if c.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
            n = args.requests
            queries = [it["captions_en"][0] for it in read_split("dev")[:n]]
            ids = [a["asset_id"] for a in c.get(f"/api/v1/assets?limit={n}").json()["assets"]]
            uploads = [shared_dir() / "data/flickr8k" / it["image"] for it in read_split("train")]
            c.get("/api/v1/search", params={"q": "warm up", "limit": 20})

            def upload(i: int) -> httpx.Response:
                path = uploads[-1 - i]
                return c.post("/api/v1/assets", files=[("files", (path.name, path.read_bytes()))])

            routes: list[tuple[str, int, Callable[[int], httpx.Response]]] = [
                ("search (query encoded)", n, lambda i: c.get(_search(queries[i]))),
                ("search (query cached)", n, lambda i: c.get(_search(queries[i]))),
                ("thumbnail", n, lambda i: c.get(f"/api/v1/assets/{ids[i]}/thumbnail")),
                ("list (20)", n, lambda i: c.get("/api/v1/assets?limit=20")),
                ("healthz", n, lambda i: c.get("/healthz")),
                ("upload (1 image)", max(1, n // 5), upload),
            ]
            print(f"understanding {'on' if understanding else 'off'}, {os.cpu_count()} cores")
            for label, count, send in routes:
                cpu, wall = cpu_seconds(server.pid), time.perf_counter()
                for i in range(count):
                    r = send(i)
                    if r.status_code != 200:
                        raise SystemExit(f"{label}: HTTP {r.status_code} {r.text[:200]}")
                cpu = (cpu_seconds(server.pid) - cpu) / count * 1000
                wall = (time.perf_counter() - wall) / count * 1000
                print(f"{label:<24} server CPU {cpu:6.2f} ms/request, wall {wall:6.2f} ms")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(args.work / "cost", ignore_errors=True)


def _search(q: str) -> str:
    return str(httpx.URL("/api/v1/search", params={"q": q, "limit": 20}))


if __name__ == "__main__":
    main()
