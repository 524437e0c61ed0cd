"""`duplicates` from what the library stores: each asset compared once, whichever of two
copies came first, and "not a duplicate" decisions remembered (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from assetloom.app.duplicates import PROBES
from assetloom.app.library import Library
from assetloom.errors import AssetNotFoundError, BadInputError
from assetloom.ingest.keypoints import KEYPOINTS


@pytest.fixture(params=["sqlite", "postgresql"])
def lib(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Library]:
    if request.param == "sqlite":
        with Library.create(tmp_path / "lib") as library:
            yield library
        return
    from tests.backends.pg_database import fresh_database

    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        catalog = url.replace("+psycopg", "", 1)
        with Library.create(tmp_path / "lib", catalog=catalog) as library:
            yield library


def _dev(shared: Path, n: int) -> list[Path]:
    lines = (shared / "data/flickr8k/dev.jsonl").read_text().splitlines()[:n]
    return [shared / "data/flickr8k" / json.loads(x)["image"] for x in lines]


def _caption_bar(src: Path, target: Path) -> Path:
    with Image.open(src) as im:
        out = im.convert("RGB")
    top = round(out.height * 0.85)
    ImageDraw.Draw(out).rectangle((0, top, out.width, out.height), fill="black")
    out.save(target, quality=90)
    return target


def _centre_crop(src: Path, target: Path, keep: float = 0.7) -> Path:
    with Image.open(src) as im:
        w, h = im.size
        dx, dy = round(w * (1 - keep) / 2), round(h * (1 - keep) / 2)
        im.convert("RGB").crop((dx, dy, w - dx, h - dy)).save(target, quality=92)
    return target


def _groups(lib: Library) -> list[set[str]]:
    return [{a.original_name for a in g.assets} for g in lib.duplicates()]


def test_each_asset_is_compared_once_and_old_ones_are_not_decoded_again(
    lib: Library, shared: Path, tmp_path: Path
) -> None:
    a, b, c = _dev(shared, 3)
    bar_a = _caption_bar(a, tmp_path / "a-bar.jpg")
    crop_b = _centre_crop(b, tmp_path / "b-crop.jpg")
    lib.add([a, bar_a, crop_b, c])
    assert _groups(lib) == [{a.name, "a-bar.jpg"}]
    # Each picture's probes were kept beside its keypoints.
    for asset in lib.list().assets:
        assert lib.derived.exists(f"{asset.sha256}/{PROBES}")
        assert lib.derived.exists(f"{asset.sha256}/{KEYPOINTS}")
    # With the originals gone from the store, nothing old can be decoded: a run that still
    # answers compared only the new files. The original of the crop comes after its copy, so
    # only the older copy's stored probes can find the pair.
    for asset in lib.list().assets:
        lib.blobs.delete(asset.sha256)
    bar_c = _caption_bar(c, tmp_path / "c-bar.jpg")
    lib.add([b, bar_c])
    groups = _groups(lib)
    assert sorted(groups, key=sorted) == sorted(
        [{a.name, "a-bar.jpg"}, {b.name, "b-crop.jpg"}, {c.name, "c-bar.jpg"}], key=sorted
    )
    assert _groups(lib) == groups  # nothing new: the same answer, from the tables


def test_not_a_duplicate_is_remembered_until_restored(
    lib: Library, shared: Path, tmp_path: Path
) -> None:
    (a,) = _dev(shared, 1)
    lib.add([a, _caption_bar(a, tmp_path / "a-bar.jpg")])
    (group,) = lib.duplicates()
    ids = [x.asset_id for x in group.assets]
    done = lib.dismiss_duplicates([i[:8] for i in ids], by="alice")
    assert done.to_json() == {
        "asset_ids": ids,
        "pairs": 1,
        "changed": 1,
        "decision": "distinct",
    }
    assert lib.duplicates() == []
    assert lib.dismiss_duplicates(ids[::-1], by="bob").changed == 0
    assert lib.dismiss_duplicates(ids, by="alice", undo=True).decision == "none"
    assert [len(g.assets) for g in lib.duplicates()] == [2]
    with pytest.raises(BadInputError, match="at least two"):
        lib.dismiss_duplicates([ids[0], ids[0]], by="alice")
    with pytest.raises(AssetNotFoundError):
        lib.dismiss_duplicates([ids[0], "ffffffff"], by="alice")
