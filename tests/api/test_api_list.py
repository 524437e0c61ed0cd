"""GET /api/v1/assets: filters, order, cursor pages and their errors (and the grid's cursor)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from assetloom.app.library import Library
from assetloom.store.schema import AssetRow
from assetloom.store.search_tables import TagRow
from tests.api.conftest import Env, photo_bytes, upload

URL = "/api/v1/assets"


def _stock(env: Env) -> dict[str, str]:
    """Photos p0..p6.jpg (p0-p2 tagged `red`, registered a day apart) and one note; name → id."""
    report = upload(
        env,
        *[(f"p{i}.jpg", photo_bytes(600 + i)) for i in range(7)],
        ("Brief.md", b"# brief\nwords for the campaign\n"),
    )
    ids = {a["file"]: a["asset_id"] for a in report["added"]}
    assert len(ids) == 8
    with Library.open(env.root) as lib, lib.write_session() as s, s.begin():
        for n, (_name, aid) in enumerate(sorted(ids.items())):
            when = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n)
            s.execute(update(AssetRow).where(AssetRow.asset_id == aid).values(registered_at=when))
        for i in range(3):
            s.add(TagRow(asset_id=ids[f"p{i}.jpg"], tag="red", score=1.0, source="test"))
    return ids


def test_list_filters_order_and_cursor(env: Env) -> None:
    ids = _stock(env)
    get = lambda **params: env.client.get(URL, params=params, headers=env.auth("viewer"))  # noqa: E731

    doc = get().json()
    assert doc["total"] == 8 and doc["offset"] == 0 and doc["next_cursor"] is None
    oldest = [a["original_name"] for a in doc["assets"]]
    assert oldest == sorted(ids)  # Brief.md, p0.jpg, ... by registration

    newest = get(order="newest").json()["assets"]
    assert [a["original_name"] for a in newest] == oldest[::-1]

    assert {a["original_name"] for a in get(tag="red").json()["assets"]} == {
        "p0.jpg",
        "p1.jpg",
        "p2.jpg",
    }
    assert get(tag=["red", "blue"]).json()["total"] == 0
    assert [a["original_name"] for a in get(type="text").json()["assets"]] == ["Brief.md"]
    assert [a["original_name"] for a in get(name="BRIEF").json()["assets"]] == ["Brief.md"]
    ranged = get(since="2024-01-03", until="2024-01-04T00:00:00Z").json()
    assert [a["original_name"] for a in ranged["assets"]] == ["p1.jpg", "p2.jpg"]
    assert ranged["total"] == 2

    for order, expected in (("oldest", oldest), ("newest", oldest[::-1])):
        walked, cursor = [], None
        while True:
            page = get(order=order, limit=3, **({"cursor": cursor} if cursor else {})).json()
            assert page["total"] == 8
            walked += [a["original_name"] for a in page["assets"]]
            if (cursor := page["next_cursor"]) is None:
                break
            assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor), "url-safe"
        assert walked == expected

    # offset still works, and says so
    assert [a["original_name"] for a in get(offset=6).json()["assets"]] == oldest[6:]


def test_list_errors(env: Env) -> None:
    upload(env, ("e1.jpg", photo_bytes(650)), ("e2.jpg", photo_bytes(651)))
    auth = env.auth("viewer")
    for cursor in ("garbage", "%%%", "b" * 60):
        r = env.client.get(URL, params={"cursor": cursor}, headers=auth)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "bad_input"
    first = env.client.get(URL, params={"limit": 1}, headers=auth).json()
    assert first["next_cursor"]
    r = env.client.get(
        URL, params={"cursor": first["next_cursor"], "order": "newest"}, headers=auth
    )
    assert r.status_code == 400 and "oldest first" in r.json()["message"]
    assert env.client.get(URL, params={"order": "sideways"}, headers=auth).status_code in (400, 422)
    assert env.client.get(URL, params={"since": "soon"}, headers=auth).status_code in (400, 422)
    assert env.client.get(URL).status_code == 401


def test_grid_scrolls_by_cursor_with_filters(env: Env) -> None:
    from tests.api.conftest import signed_in

    upload(env, *[(f"grid-{i}.jpg", photo_bytes(700 + i)) for i in range(61)])
    client = signed_in(env, "viewer")
    page = client.get("/", params={"order": "newest", "name": "GRID-", "type": ""})
    assert page.status_code == 200, page.text
    assert 'value="newest" selected' in page.text and 'name="name" value="GRID-"' in page.text
    assert page.text.count('class="tile"') == 60
    next_url = re.search(r'data-next="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert "cursor=" in next_url and "order=newest" in next_url and "name=GRID-" in next_url
    assert "offset=" not in next_url
    more = client.get(next_url)
    assert more.text.count('class="tile"') == 1 and "data-next" not in more.text
    empty = client.get("/", params={"name": "no such file"})
    assert "Nothing matches these filters." in empty.text


def test_grid_offers_used_tags_and_whole_day_dates(make_env) -> None:  # type: ignore[no-untyped-def]
    from tests.api.conftest import signed_in

    env: Env = make_env()  # a library of its own: the module's shares _stock's files
    _stock(env)
    client = signed_in(env, "viewer")
    names = lambda page: re.findall(r'<span class="name">([^<]+)</span>', page.text)  # noqa: E731

    page = client.get("/")
    assert re.search(r'<option value="red"[^>]*>[^<]*\(3\)</option>', page.text)
    tagged = client.get("/", params={"tag": "red"})
    assert 'value="red" selected' in tagged.text
    assert sorted(names(tagged)) == ["p0.jpg", "p1.jpg", "p2.jpg"]
    # p1 and p2 were registered on 3 and 4 January: both days count whole, in UTC.
    days = client.get("/", params={"since": "2024-01-03", "until": "2024-01-04"})
    assert sorted(names(days)) == ["p1.jpg", "p2.jpg"]
    assert 'name="since" value="2024-01-03"' in days.text
    bad = client.get("/", params={"since": "3 Jan"}, headers={"accept": "text/html"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text


def test_until_a_day_means_the_same_in_cli_api_and_web(make_env) -> None:  # type: ignore[no-untyped-def]
    """`--until 2024-01-04` (CLI), `until=2024-01-04` (API) and the grid's day field all
    include what was registered during that day (they used to disagree)."""
    from typer.testing import CliRunner

    from assetloom.cli.main import app as cli
    from tests.api.conftest import signed_in

    env: Env = make_env()
    ids = _stock(env)
    with Library.open(env.root) as lib, lib.write_session() as s, s.begin():
        noon = datetime(2024, 1, 4, 10, 30, tzinfo=UTC)
        s.execute(
            update(AssetRow).where(AssetRow.asset_id == ids["p2.jpg"]).values(registered_at=noon)
        )
    window = {"since": "2024-01-04", "until": "2024-01-04"}
    api = env.client.get(URL, params=window, headers=env.auth("viewer")).json()
    assert [a["original_name"] for a in api["assets"]] == ["p2.jpg"]
    run = CliRunner().invoke(
        cli,
        ["-L", str(env.root), "list", "--since", "2024-01-04", "--until", "2024-01-04", "--json"],
    )
    assert [a["original_name"] for a in json.loads(run.stdout)["assets"]] == ["p2.jpg"]
    page = signed_in(env, "viewer").get("/", params=window)
    assert re.findall(r'<span class="name">([^<]+)</span>', page.text) == ["p2.jpg"]
    bad = env.client.get(URL, params={"until": "4 Jan"}, headers=env.auth("viewer"))
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["hint"]
