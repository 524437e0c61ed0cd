"""Sorts and the status filter through the API (`sort=`, `desc=`, `status=`) and the CLI
(`list --sort KEY --desc --status S`, `search --status`): the same order, keyset pages."""

from __future__ import annotations

import json

from sqlalchemy import update

from assetloom.app.library import Library
from assetloom.store.schema import AssetRow
from tests.api.conftest import Env, photo_bytes, upload
from tests.test_cli import cli

URL = "/api/v1/assets"


def _stock(env: Env) -> dict[str, str]:
    """s0..s5.jpg of growing size; ratings 5,4,3,None,1,0; s1 s2 approved, s0 draft."""
    report = upload(
        env, *[(f"s{i}.jpg", photo_bytes(900 + i, (120 + 40 * i, 90))) for i in range(6)]
    )
    ids = {a["file"]: a["asset_id"] for a in report["added"]}
    ratings = [5, 4, 3, None, 1, 0]
    statuses = ["draft", "approved", "approved", None, None, None]
    with Library.open(env.root) as lib, lib.write_session() as s, s.begin():
        for i in range(6):
            s.execute(
                update(AssetRow)
                .where(AssetRow.asset_id == ids[f"s{i}.jpg"])
                .values(rating=ratings[i], status=statuses[i])
            )
    return ids


def test_sorts_pages_and_status_over_the_api_and_the_cli(env: Env) -> None:
    _stock(env)
    get = lambda **p: env.client.get(URL, params=p, headers=env.auth("viewer"))  # noqa: E731
    names = lambda doc: [a["original_name"] for a in doc["assets"]]  # noqa: E731

    by_size = get(sort="size", limit=100).json()
    sizes = [a["size"] for a in by_size["assets"]]
    assert sizes == sorted(sizes) and by_size["total"] == 6
    assert names(get(sort="size", desc="true", limit=100).json()) == names(by_size)[::-1]

    first = get(sort="rating", desc="true", limit=2).json()
    assert names(first) == ["s0.jpg", "s1.jpg"] and first["next_cursor"]
    rest = get(sort="rating", desc="true", limit=10, cursor=first["next_cursor"]).json()
    assert names(rest) == ["s2.jpg", "s4.jpg", "s5.jpg", "s3.jpg"], "unrated last"
    assert rest["next_cursor"] is None

    wrong = get(sort="name", cursor=first["next_cursor"])
    assert wrong.status_code == 400 and wrong.json()["code"] == "bad_input"
    assert get(sort="colour").status_code == 422
    assert get(status="lost").status_code == 422

    approved = get(status="approved", sort="name").json()
    assert names(approved) == ["s1.jpg", "s2.jpg"] and approved["total"] == 2
    assert get(sort="registered").json() == get().json(), "the default sort is today's"

    r = cli("-L", str(env.root), "list", "--json", "--sort", "rating", "--desc", "--limit", "2")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert names(doc) == ["s0.jpg", "s1.jpg"] and doc["next_cursor"] == first["next_cursor"]
    r = cli("-L", str(env.root), "list", "--json", "--status", "approved", "--sort", "name")
    assert names(json.loads(r.stdout)) == ["s1.jpg", "s2.jpg"]
    for bad in (["--sort", "colour"], ["--status", "lost"]):
        r = cli("-L", str(env.root), "list", "--json", *bad)
        assert r.returncode != 0 and json.loads(r.stdout)["error"]["code"] == "bad_input"
        assert "Traceback" not in r.stderr
    r = cli("-L", str(env.root), "search", "--json", "jpg", "--status", "approved")
    assert r.returncode == 0, r.stderr
    assert sorted(h["original_name"] for h in json.loads(r.stdout)["results"]) == [
        "s1.jpg",
        "s2.jpg",
    ], "keyword hits on the file names, only the approved ones"
    found = env.client.get(
        "/api/v1/search", params={"q": "jpg", "status": "draft"}, headers=env.auth("viewer")
    )
    assert [h["original_name"] for h in found.json()["results"]] == ["s0.jpg"]
