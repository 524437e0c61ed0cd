"""Many writers and readers at once through a real server: no errors, no lost writes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from assetloom.app.library import Library
from tests.api.conftest import LiveServer, photo_bytes

WRITERS, UPLOADS_EACH, READERS, READS_EACH = 6, 4, 4, 12


def test_concurrent_writers_and_readers(live_server: LiveServer) -> None:
    env = live_server.env
    seed_ids: list[str] = []
    with httpx.Client(base_url=live_server.url, headers=env.auth("editor"), timeout=120) as c:
        r = c.post(
            "/api/v1/assets", files=[("files", ("seed.jpg", photo_bytes(500), "image/jpeg"))]
        )
        seed_ids.append(r.json()["added"][0]["asset_id"])
    payloads = {
        (w, i): photo_bytes(1000 + w * 100 + i) for w in range(WRITERS) for i in range(UPLOADS_EACH)
    }
    failures: list[str] = []
    lock = threading.Lock()

    def check(r: httpx.Response, what: str) -> None:
        if r.status_code != 200 or "locked" in r.text:
            with lock:
                failures.append(f"{what}: {r.status_code} {r.text[:200]}")

    def writer(w: int) -> None:
        with httpx.Client(base_url=live_server.url, headers=env.auth("editor"), timeout=120) as c:
            for i in range(UPLOADS_EACH):
                files = [("files", (f"w{w}-{i}.jpg", payloads[w, i], "image/jpeg"))]
                r = c.post("/api/v1/assets", files=files)
                check(r, "upload")
                if r.status_code == 200 and len(r.json()["added"]) != 1:
                    with lock:
                        failures.append(f"upload not added: {r.text[:300]}")

    def reader(n: int) -> None:
        with httpx.Client(base_url=live_server.url, headers=env.auth("viewer"), timeout=120) as c:
            for i in range(READS_EACH):
                kind = (n + i) % 4
                if kind == 0:
                    check(c.get("/api/v1/assets?limit=100"), "list")
                elif kind == 1:
                    check(c.get(f"/api/v1/assets/{seed_ids[0]}/thumbnail"), "thumbnail")
                elif kind == 2:
                    files = [("files", ("q.jpg", payloads[0, 0], "image/jpeg"))]
                    check(c.post("/api/v1/verify", files=files), "verify")
                else:
                    check(c.get(f"/api/v1/ledger/proof/{seed_ids[0]}"), "proof")

    with ThreadPoolExecutor(WRITERS + READERS) as pool:
        jobs = [pool.submit(writer, w) for w in range(WRITERS)]
        jobs += [pool.submit(reader, n) for n in range(READERS)]
        for job in jobs:
            job.result()
    assert failures == []
    with httpx.Client(base_url=live_server.url, headers=env.auth("admin"), timeout=60) as c:
        assert c.get("/api/v1/assets").json()["total"] == 1 + WRITERS * UPLOADS_EACH
        adds = c.get("/api/v1/audit?limit=1000").json()["entries"]
        assert sum(e["action"] == "asset.add" for e in adds) == 1 + WRITERS * UPLOADS_EACH
        # Every upload is findable at once: the in-memory indexes took every write.
        files = [("files", ("w3-2.jpg", payloads[3, 2], "image/jpeg"))]
        verdict = c.post("/api/v1/verify", files=files).json()["results"][0]
        assert verdict["tier"] == "exact"
    with Library.open(env.root) as lib:
        assert lib.audit_ledger().ok
