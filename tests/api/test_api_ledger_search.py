"""Ledger, search, similar and tags over HTTP give the CLI's answers; metrics and logs."""

from __future__ import annotations

import json
import logging
import re

import pytest
from typer.testing import CliRunner

from assetloom.api.logs import JsonFormatter
from assetloom.cli.main import app as cli
from tests.api.conftest import Env, photo_bytes
from tests.conftest import REPO


def _cli(env: Env, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["-L", str(env.root), *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _add(env: Env, *seeds: int) -> list[str]:
    files = [("files", (f"s{s}.jpg", photo_bytes(s), "image/jpeg")) for s in seeds]
    r = env.client.post("/api/v1/assets", headers=env.auth("editor"), files=files)
    return [a["asset_id"] for a in r.json()["added"]]


def test_ledger_matches_the_cli(env: Env) -> None:
    asset_id = _add(env, 301)[0]
    h = env.auth("viewer")
    checkpoint = env.client.get("/api/v1/ledger/checkpoint", headers=h).json()
    assert checkpoint == _cli(env, "ledger", "checkpoint")
    proof = env.client.get(f"/api/v1/ledger/proof/{asset_id[:6]}", headers=h).json()
    assert proof == _cli(env, "ledger", "proof", asset_id)
    _add(env, 302)
    size = checkpoint["tree_size"]
    consistency = env.client.get(f"/api/v1/ledger/consistency?old={size}", headers=h).json()
    assert consistency == _cli(env, "ledger", "consistency", str(size))
    assert consistency["new_size"] == size + 1
    r = env.client.get(f"/api/v1/ledger/consistency?old={size + 50}", headers=h)
    assert r.status_code == 400


def test_like_search_and_similar_without_vectors(env: Env) -> None:
    asset_id = _add(env, 310)[0]
    h = env.auth("viewer")
    r = env.client.get(f"/api/v1/search?like={asset_id}", headers=h)
    assert r.status_code == 200 and r.json() == {"results": []}
    assert env.client.get(f"/api/v1/assets/{asset_id}/similar", headers=h).json() == _cli(
        env, "similar", asset_id
    )
    assert env.client.get("/api/v1/search?like=ffffffff", headers=h).status_code == 404


def test_text_search_matches_the_cli(env: Env) -> None:
    """Without understanding only keywords match, but the path is the one `search` takes."""
    text = b"Harbour photo shoot moved to Friday because of rain.\n"
    r = env.client.post(
        "/api/v1/assets",
        headers=env.auth("editor"),
        files=[("files", ("minutes.txt", text, "text/plain"))],
    )
    asset_id = r.json()["added"][0]["asset_id"]
    api = env.client.get("/api/v1/search?q=harbour&limit=5", headers=env.auth("viewer")).json()
    assert api == _cli(env, "search", "harbour", "--limit", "5")
    hit = api["results"][0]
    assert hit["asset_id"] == asset_id and hit["original_name"] == "minutes.txt"
    assert hit["matched"][0]["source"] == "keyword"


def test_duplicates_match_the_cli(env: Env) -> None:
    _add(env, 320)
    r = env.client.get("/api/v1/duplicates", headers=env.auth("viewer"))
    assert r.status_code == 200
    assert r.json() == _cli(env, "duplicates")


def test_metrics_count_requests_per_route(env: Env) -> None:
    asset_id = _add(env, 330)[0]
    env.client.get(f"/api/v1/assets/{asset_id}", headers=env.auth("viewer"))
    text = env.client.get("/metrics").text
    assert (
        'assetloom_http_requests_total{method="GET",route="/api/v1/assets/{asset_id}",status="200"}'
        in text
    )
    assert "assetloom_http_request_duration_seconds_bucket" in text
    assert 'assetloom_ingest_files_total{outcome="added"}' in text
    assert "assetloom_write_queue_depth 0.0" in text
    assert "assetloom_compute_queue_depth" in text
    assert "assetloom_ingest_queue_depth" in text
    assert 'assetloom_index_entries{index="fingerprints/pdq"}' in text
    assert 'assetloom_operation_duration_seconds_count{operation="add"}' in text
    assert asset_id not in text, "series are per route template, never per id"


def _sample(metrics: str, series: str) -> float:
    found = re.search(rf"^{re.escape(series)} (\S+)$", metrics, re.M)
    return float(found.group(1)) if found else 0.0


def test_metrics_time_model_inference_per_model_and_task(make_env, understanding: None) -> None:  # type: ignore[no-untyped-def]
    """Embedding a stored text at upload and a query at search both show up in /metrics."""
    env = make_env(warm_models=False)  # only the calls below
    text = b"Lighthouse keeper's log: the lamp was relit at dusk after the storm.\n"
    r = env.client.post(
        "/api/v1/assets",
        headers=env.auth("editor"),
        files=[("files", ("lighthouse.txt", text, "text/plain"))],
    )
    if r.status_code == 503:
        pytest.skip(f"models not installed here: {r.json()['message']}")
    assert r.status_code == 200 and r.json()["added"], r.text
    # A query no other test asks: query vectors are cached per process.
    q = "inference metrics probe: who relit the lamp"
    r = env.client.get("/api/v1/search", params={"q": q}, headers=env.auth("viewer"))
    assert r.status_code == 200 and r.json()["results"], r.text
    metrics = env.client.get("/metrics").text
    for task in ("text_passage", "text_query"):
        labels = f'{{model="e5-small",task="{task}"}}'
        assert _sample(metrics, f"assetloom_model_inference_seconds_count{labels}") > 0, task
        assert _sample(metrics, f"assetloom_model_inference_items_total{labels}") >= 1, task
    # The text encoder the search used is in memory (until model_idle_s of idleness).
    assert _sample(metrics, 'assetloom_models_loaded{backend="offline",task="text-encoder"}') == 1


def test_grafana_dashboard_uses_only_exported_metrics(env: Env) -> None:
    dashboard = json.loads((REPO / "deploy/grafana/assetloom.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"assetloom_[a-z_]+", e)}
    text = env.client.get("/metrics").text
    exported = set(re.findall(r"^# TYPE (assetloom_[a-z_]+) (\w+)", text, re.M))
    names = {n for n, _ in exported}
    names |= {f"{n}_total" for n, kind in exported if kind == "counter"}
    names |= {f"{n}_bucket" for n, kind in exported if kind == "histogram"}
    assert used and used <= names, used - names


def test_health_and_readiness(env: Env) -> None:
    assert env.client.get("/healthz").json() == {"status": "ok"}
    ready = env.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True


def test_access_log_is_json_with_request_id(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="assetloom.api.access"):
        r = env.client.get("/api/v1/me", headers={**env.auth("viewer"), "X-Request-ID": "trace-42"})
    assert r.headers["x-request-id"] == "trace-42"
    record = next(rec for rec in caplog.records if rec.name == "assetloom.api.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/api/v1/me" and line["status"] == 200 and line["user"] == "viewer"
    assert env.tokens["viewer"] not in json.dumps(line), "no secrets in logs"


@pytest.mark.slow
def test_text_search_with_models_matches_the_cli(
    make_env,
    understanding: None,
    shared,  # type: ignore[no-untyped-def]
) -> None:
    env = make_env()
    data = shared / "data/flickr8k"
    items = [json.loads(line) for line in (data / "dev.jsonl").read_text().splitlines()[:12]]
    files = [
        ("files", (it["image"].rsplit("/", 1)[-1], (data / it["image"]).read_bytes(), "image/jpeg"))
        for it in items
    ]
    r = env.client.post("/api/v1/assets", headers=env.auth("editor"), files=files)
    if r.status_code == 503:
        pytest.skip(f"models not installed here: {r.json()['message']}")
    assert r.status_code == 200 and len(r.json()["added"]) == 12, r.text
    h = env.auth("viewer")
    for query in (items[0]["captions_en"][0], items[0]["captions_zh"][0]):
        api = env.client.get("/api/v1/search", params={"q": query, "limit": 5}, headers=h).json()
        assert api == _cli(env, "search", query, "--limit", "5")
        assert {"asset_id", "score", "original_name", "matched"} <= set(api["results"][0])
    image = (data / items[1]["image"]).read_bytes()
    r = env.client.post(
        "/api/v1/search?limit=3", headers=h, files=[("image", ("q.jpg", image, "image/jpeg"))]
    )
    assert r.status_code == 200
    assert r.json()["results"][0]["original_name"] == items[1]["image"].rsplit("/", 1)[-1]
    tags = env.client.get("/api/v1/tags?used=true", headers=h).json()["tags"]
    assert tags and all(t["assets"] > 0 for t in tags)
