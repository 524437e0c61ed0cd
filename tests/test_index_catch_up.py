"""A long-running process (the server) catches its loaded indexes up with other processes' writes.

The "other process" is a real `assetloom` CLI run in a subprocess against the same library.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from assetloom.app.library import Library
from assetloom.app.tags import define_tag
from assetloom.core.assets import Tier
from tests.media import make_photo
from tests.test_cli import cli


def _resized(src: Path, dest: Path) -> Path:
    with Image.open(src) as im:
        im.resize((im.width // 2, im.height // 2)).save(dest, quality=60)
    return dest


def _pdq_entries(lib: Library) -> int:
    return len(lib.fingerprint_index().loaded()["pdq"])


def _catalog_pdq_rows(lib: Library) -> int:
    return lib.fingerprint_index().catalog_stats()["pdq"][0]


def test_server_sees_cli_add_and_rm(library: Library, tmp_path: Path):
    first = make_photo(tmp_path / "first.jpg", 1, size=(640, 480))
    library.add([first])
    assert library.catch_up() == {}  # our own writes are in memory already
    before = _pdq_entries(library)

    late = make_photo(tmp_path / "late.jpg", 2, size=(640, 480))
    out = cli("add", str(late), "--json", env_library=library.root)
    assert out.returncode == 0, out.stderr
    late_id = json.loads(out.stdout)["added"][0]["asset_id"]
    copy = _resized(late, tmp_path / "late-copy.jpg")

    # Stale until caught up: the resized copy matches nothing this process has indexed.
    assert library.verify([copy])[0].tier is Tier.NONE
    changed = library.catch_up()
    assert changed["fingerprints/pdq"] > before
    (result,) = library.verify([copy])
    assert result.tier is Tier.NEAR_IDENTICAL
    assert result.matches[0].asset_id == late_id
    assert library.catch_up() == {}  # nothing happened since

    out = cli("rm", late_id, "--json", env_library=library.root)
    assert out.returncode == 0, out.stderr
    assert library.verify([copy])[0].tier is Tier.NONE  # in the trash: hidden from verify
    out = cli("trash", "empty", "--json", env_library=library.root)  # rm's old removal
    assert out.returncode == 0, out.stderr
    library.catch_up()
    assert _pdq_entries(library) == before == _catalog_pdq_rows(library)
    assert library.verify([copy])[0].tier is Tier.NONE


def test_reused_row_ids_are_noticed(library: Library, tmp_path: Path):
    """SQLite reuses the ids of deleted newest rows: equal counts and ids must not fool it."""
    library.add([make_photo(tmp_path / "a.jpg", 3, size=(640, 480))])
    newest = make_photo(tmp_path / "b.jpg", 4, size=(640, 480))
    library.add([newest])
    library.fingerprint_index().loaded()
    newest_id = library.list().assets[-1].asset_id

    other = make_photo(tmp_path / "c.jpg", 5, size=(640, 480))
    with Library.open(library.root) as elsewhere:  # another process's library object
        elsewhere.remove(newest_id)
        elsewhere.add([other])
    assert (
        library.fingerprint_index().catalog_stats()["pdq"][:2]
        == (library.fingerprint_index()._stats["pdq"][:2])
    ), "this test needs the catalog to have reused the removed rows' ids"

    library.catch_up()
    copy = _resized(other, tmp_path / "c-copy.jpg")
    assert library.verify([copy])[0].tier is Tier.NEAR_IDENTICAL
    assert library.verify([_resized(newest, tmp_path / "b-copy.jpg")])[0].tier is Tier.NONE


def test_own_writes_and_catch_up_never_double_count(library: Library, tmp_path: Path):
    library.add([make_photo(tmp_path / "a.jpg", 6, size=(640, 480))])
    library.fingerprint_index().loaded()
    with Library.open(library.root) as elsewhere:
        elsewhere.add([make_photo(tmp_path / "b.jpg", 7, size=(640, 480))])
    # This process writes too before it catches up: the catch-up must skip rows it holds.
    library.add([make_photo(tmp_path / "c.jpg", 8, size=(640, 480))])
    library.catch_up()
    assert _pdq_entries(library) == _catalog_pdq_rows(library)
    library.add([make_photo(tmp_path / "d.jpg", 9, size=(640, 480))])
    library.catch_up()
    assert _pdq_entries(library) == _catalog_pdq_rows(library)


def test_saved_index_matches_catalog_after_deferred_saves(library: Library, tmp_path: Path):
    library.indexes.defer_saves = True
    library.add([make_photo(tmp_path / "a.jpg", 10, size=(640, 480))])
    manifest = library.root / "index" / "fingerprints.json"
    saved_before = manifest.read_text() if manifest.exists() else None
    library.add([make_photo(tmp_path / "b.jpg", 11, size=(640, 480))])
    assert (manifest.read_text() if manifest.exists() else None) == saved_before
    library.indexes.save()
    assert json.loads(manifest.read_text()) == library.fingerprint_index().catalog_stats()


def test_tag_defined_elsewhere_reaches_the_tagger(understanding: None, tmp_path: Path):
    with Library.create(tmp_path / "lib") as lib:
        keys = {d.key for d in lib.tagger().definitions}
        assert "brand-blue" not in keys
        with Library.open(lib.root) as elsewhere:
            define_tag(elsewhere, "brand-blue", "our brand blue", "品牌蓝", [], None)
        assert lib.catch_up() == {"tagger": 1}
        assert "brand-blue" in {d.key for d in lib.tagger().definitions}
        assert lib.catch_up() == {}
