"""`Library.list` / `count`: filters, both orders and cursor pages (real SQLite, real files)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from assetloom.app.library import Library
from assetloom.core.assets import MediaType
from assetloom.core.listing import ListQuery, encode_cursor
from assetloom.errors import BadInputError
from assetloom.store.schema import AssetRow
from assetloom.store.search_tables import TagRow
from tests.media import make_photo
from tests.test_cli import cli

BASE = datetime(2021, 3, 1, 12, 0, tzinfo=UTC)


def _day(i: int) -> datetime:
    """Three assets share each registration time, so pages must break ties by id."""
    return BASE + timedelta(days=i // 3)


@pytest.fixture
def stocked(library: Library, tmp_path: Path) -> Library:
    """10 photos (Sunset-0..4.jpg, beach-5..9.jpg) and 2 notes, registered over 4 days; tags
    `sky` on photos 0-5 and `sea` on 4-9."""
    files = [
        make_photo(tmp_path / f"{'Sunset' if i < 5 else 'beach'}-{i}.jpg", 100 + i)
        for i in range(10)
    ]
    for i in (10, 11):
        note = tmp_path / f"note-{i}.md"
        note.write_text(f"# note {i}\nplain words about item {i}\n", encoding="utf-8")
        files.append(note)
    report = library.add(files)
    assert len(report.added) == 12
    ids = {Path(a.file).name: a.asset_id for a in report.added}
    with library.write_session() as s, s.begin():
        for i, name in enumerate(sorted(ids, key=lambda n: int(n.split("-")[1].split(".")[0]))):
            s.execute(
                update(AssetRow).where(AssetRow.asset_id == ids[name]).values(registered_at=_day(i))
            )
        for i in range(10):
            aid = ids[f"{'Sunset' if i < 5 else 'beach'}-{i}.jpg"]
            if i <= 5:
                s.add(TagRow(asset_id=aid, tag="sky", score=0.9, source="test"))
            if i >= 4:
                s.add(TagRow(asset_id=aid, tag="sea", score=0.8, source="test"))
    return library


def _names(lib: Library, **kw: object) -> list[str]:
    return [a.original_name for a in lib.list(ListQuery(limit=1000, **kw)).assets]  # type: ignore[arg-type]


def _walk(lib: Library, q: ListQuery) -> list[str]:
    ids: list[str] = []
    while True:
        page = lib.list(q)
        assert len(page.assets) <= q.limit
        ids += [a.asset_id for a in page.assets]
        if page.next_cursor is None:
            return ids
        q.cursor = page.next_cursor


def test_each_filter_narrows_and_count_agrees(stocked: Library) -> None:
    cases: list[tuple[dict, set[str]]] = [
        (
            {},
            {f"Sunset-{i}.jpg" for i in range(5)}
            | {f"beach-{i}.jpg" for i in range(5, 10)}
            | {"note-10.md", "note-11.md"},
        ),
        ({"media_type": MediaType.TEXT}, {"note-10.md", "note-11.md"}),
        ({"tags": ["sky"]}, {f"Sunset-{i}.jpg" for i in range(5)} | {"beach-5.jpg"}),
        ({"tags": ["sky", "sea"]}, {"Sunset-4.jpg", "beach-5.jpg"}),
        ({"tags": ["no-such-tag"]}, set()),
        (
            {"since": _day(6)},
            {
                "beach-6.jpg",
                "beach-7.jpg",
                "beach-8.jpg",
                "beach-9.jpg",
                "note-10.md",
                "note-11.md",
            },
        ),
        ({"until": _day(2)}, {"Sunset-0.jpg", "Sunset-1.jpg", "Sunset-2.jpg"}),
        ({"since": _day(3), "until": _day(5)}, {"Sunset-3.jpg", "Sunset-4.jpg", "beach-5.jpg"}),
        # a zone other than UTC means the same instant
        (
            {"until": _day(2).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))},
            {"Sunset-0.jpg", "Sunset-1.jpg", "Sunset-2.jpg"},
        ),
        ({"name": "SUNSET"}, {f"Sunset-{i}.jpg" for i in range(5)}),
        ({"name": "%"}, set()),  # LIKE wildcards are literal
        ({"name": "ch-9"}, {"beach-9.jpg"}),
        ({"name": "sunset", "tags": ["sea"], "media_type": MediaType.IMAGE}, {"Sunset-4.jpg"}),
    ]
    for filters, expected in cases:
        got = _names(stocked, **filters)
        assert set(got) == expected, filters
        assert len(got) == len(expected), filters
        assert stocked.count(ListQuery(**filters, limit=1, offset=5)) == len(expected), filters


def test_orders_and_offset(stocked: Library) -> None:
    oldest = _names(stocked)
    times = [a.registered_at for a in stocked.list(ListQuery(limit=100)).assets]
    assert times == sorted(times)
    assert _names(stocked, newest_first=True) == oldest[::-1]
    assert _names(stocked, offset=4) == oldest[4:]
    assert [a.original_name for a in stocked.list(ListQuery(limit=2, offset=3)).assets] == (
        oldest[3:5]
    )
    assert stocked.count() == 12 and stocked.count(ListQuery(offset=7)) == 12


@pytest.mark.parametrize("newest_first", [False, True])
@pytest.mark.parametrize("limit", [1, 2, 3, 5, 12, 50])
def test_cursor_pages_walk_everything_once(
    stocked: Library, newest_first: bool, limit: int
) -> None:
    everything = [a.asset_id for a in stocked.list(ListQuery(limit=100)).assets]
    walked = _walk(stocked, ListQuery(limit=limit, newest_first=newest_first))
    assert walked == (everything[::-1] if newest_first else everything)
    sky = _walk(stocked, ListQuery(limit=limit, tags=["sky"], newest_first=newest_first))
    assert len(sky) == len(set(sky)) == stocked.count(ListQuery(tags=["sky"])) == 6


def test_last_page_has_no_cursor(stocked: Library) -> None:
    assert stocked.list(ListQuery(limit=12)).next_cursor is None
    assert stocked.list(ListQuery(limit=11)).next_cursor is not None
    assert stocked.list(ListQuery(tags=["nothing"])).next_cursor is None


@pytest.mark.parametrize("newest_first", [False, True])
def test_assets_added_and_removed_between_pages(
    stocked: Library, tmp_path: Path, newest_first: bool
) -> None:
    before = [a.asset_id for a in stocked.list(ListQuery(limit=100)).assets]
    first = stocked.list(ListQuery(limit=5, newest_first=newest_first))
    shown = [a.asset_id for a in first.assets]
    # meanwhile: one asset added (registered now, after all others), one already shown removed
    added = stocked.add([make_photo(tmp_path / "late.jpg", 999)]).added[0].asset_id
    stocked.remove(shown[-1])  # the asset the cursor names
    rest = _walk(stocked, ListQuery(limit=5, newest_first=newest_first, cursor=first.next_cursor))
    walked = shown + rest
    assert len(walked) == len(set(walked)), "no asset twice"
    if newest_first:
        # the new one sorts before the cursor: it belongs to page one of a fresh listing
        assert walked == before[::-1]
    else:
        assert walked == [*before, added], "none skipped, the new one at the end"


def test_bad_cursors_are_bad_input(stocked: Library) -> None:
    page = stocked.list(ListQuery(limit=2))
    for bad in ["x", "!!!", "bm90IG9uZSBvZiBvdXJz", page.next_cursor[:-3], "ZmZmZmZmZmZmZmZmZmZm"]:  # type: ignore[index]
        with pytest.raises(BadInputError):
            stocked.list(ListQuery(cursor=bad))
    with pytest.raises(BadInputError, match="oldest first"):
        stocked.list(ListQuery(cursor=page.next_cursor, newest_first=True))
    # a cursor far out of datetime's range is refused, not an OverflowError
    huge = base64.urlsafe_b64encode(b"o" + b"f" * 16 + b"." + b"0" * 32).decode()
    with pytest.raises(BadInputError):
        stocked.list(ListQuery(cursor=huge))
    # ours, decoded and encoded again, pages on
    again = encode_cursor(page.assets[-1], newest_first=False)
    assert again == page.next_cursor


def test_cli_list_json_round_trip(stocked: Library) -> None:
    root = stocked.root
    r = cli("-L", str(root), "list", "--json", "--limit", "4", "--tag", "sky", "--newest")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["total"] == 6 and doc["offset"] == 0 and len(doc["assets"]) == 4
    r = cli(
        "-L", str(root), "list", "--json", "--limit", "4", "--tag", "sky", "--newest",
        "--cursor", doc["next_cursor"],
    )  # fmt: skip
    nxt = json.loads(r.stdout)
    assert nxt["next_cursor"] is None and len(nxt["assets"]) == 2
    names = [a["original_name"] for a in doc["assets"] + nxt["assets"]]
    assert sorted(names) == sorted(["beach-5.jpg"] + [f"Sunset-{i}.jpg" for i in range(5)])
    times = [a["registered_at"] for a in doc["assets"] + nxt["assets"]]
    assert times == sorted(times, reverse=True)

    r = cli("-L", str(root), "list", "--json", "--since", "2021-03-02", "--until", "2021-03-03",
            "--name", "sun", "--type", "image")  # fmt: skip
    doc = json.loads(r.stdout)
    assert sorted(a["original_name"] for a in doc["assets"]) == ["Sunset-3.jpg", "Sunset-4.jpg"]
    assert doc["total"] == 2 and doc["next_cursor"] is None

    r = cli("-L", str(root), "list", "--limit", "5")
    assert r.returncode == 0 and "5 of 12 assets shown" in r.stdout
    assert "--cursor " in r.stdout


@pytest.mark.parametrize(
    "args",
    [["--since", "last tuesday"], ["--until", "2026-13-01"], ["--cursor", "garbage"]],
)
def test_cli_list_bad_input(stocked: Library, args: list[str]) -> None:
    r = cli("-L", str(stocked.root), "list", "--json", *args)
    assert r.returncode != 0
    assert json.loads(r.stdout)["error"]["code"] == "bad_input"
    assert "Traceback" not in r.stderr
    r = cli("-L", str(stocked.root), "list", *args)
    assert r.returncode != 0 and "Traceback" not in r.stderr + r.stdout
