"""verify and duplicates for recordings, through a real library: re-encoded, cut and louder
or quieter copies are near-identical (an excerpt at its offset), different clips never."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.core.assets import MediaType, Tier
from assetloom.core.listing import ListQuery
from tests.cli_run import cli
from tests.media_av import music, speech, transcode, write_audio

TALK = (
    "A brown dog jumps over a fallen log in the forest. Two children build a sandcastle on "
    "the beach while their mother watches. A man in a red jacket rides his bicycle past an "
    "old stone church, and a black cat sleeps in the sun on a wooden bench."
)
OTHER_TALK = (
    "A group of people stand on a snowy mountain top. A little girl in a pink dress runs "
    "through the sprinklers. Three boys play football in a muddy field."
)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    samples, rate = speech(TALK)
    other, other_rate = speech(OTHER_TALK)
    tags = {"title": "Harbour Lights", "artist": "Mara Quinn", "comment": "recorded at dawn"}
    song = write_audio(folder / "song.flac", music(61, 20.0, stereo=False), tags=tags)
    talk = write_audio(folder / "talk.flac", samples, rate)
    return {
        "song": song,
        "talk": talk,
        "tune": write_audio(folder / "tune.flac", music(62, 20.0, stereo=False)),
        "song.mp3": transcode(song, folder / "song-64k.mp3", bit_rate=64_000),
        "song.opus": transcode(song, folder / "song-24k.opus", bit_rate=24_000),
        "talk.m4a": transcode(talk, folder / "talk.m4a", bit_rate=64_000),
        "talk.opus": transcode(talk, folder / "talk-24k.opus", bit_rate=24_000),
        "excerpt": transcode(song, folder / "excerpt.mp3", start=6.2, seconds=10, gain_db=-6),
        "talk excerpt": transcode(talk, folder / "talk-excerpt.wav", start=2.5, seconds=10),
        "louder": transcode(talk, folder / "louder.flac", gain_db=6),
        "unrelated music": write_audio(folder / "other.mp3", music(63, 20.0, stereo=False)),
        "unrelated talk": write_audio(folder / "other-talk.wav", other, other_rate),
    }


@pytest.fixture(scope="module")
def lib(clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    with Library.create(tmp_path_factory.mktemp("lib") / "lib") as lib:
        report = lib.add([clips["song"], clips["talk"], clips["tune"]])
        assert len(report.added) == 3, report
        yield lib


def _ids(lib: Library) -> dict[str, str]:
    return {a.original_name: a.asset_id for a in lib.list(ListQuery(limit=100)).assets}


@pytest.mark.parametrize(
    ("query", "original"),
    [
        ("song.mp3", "song.flac"),
        ("song.opus", "song.flac"),
        ("talk.m4a", "talk.flac"),
        ("talk.opus", "talk.flac"),
        ("louder", "talk.flac"),
    ],
)
def test_re_encoded_and_louder_copies_are_near_identical(
    lib: Library, clips: dict[str, Path], query: str, original: str
):
    (result,) = lib.verify([clips[query]])
    assert result.tier is Tier.NEAR_IDENTICAL
    assert [m.asset_id for m in result.matches] == [_ids(lib)[original]]
    match = result.matches[0]
    assert match.segment is None  # a copy of the whole recording
    assert 0 < match.distance < 0.1
    assert "segment" not in result.to_json()["matches"][0]


@pytest.mark.parametrize(
    ("query", "original", "start"),
    [("excerpt", "song.flac", 6.2), ("talk excerpt", "talk.flac", 2.5)],
)
def test_an_excerpt_is_found_at_its_offset(
    lib: Library, clips: dict[str, Path], query: str, original: str, start: float
):
    (result,) = lib.verify([clips[query]])
    assert result.tier is Tier.NEAR_IDENTICAL
    (match,) = result.matches
    assert match.asset_id == _ids(lib)[original]
    assert match.segment is not None and match.segment.source == "audio"
    assert match.segment.start == pytest.approx(start, abs=0.15)
    assert match.segment.end == pytest.approx(start + 10, abs=0.15)
    shown = result.to_json()["matches"][0]["segment"]
    assert shown == {"source": "audio", "start": match.segment.start, "end": match.segment.end}


def test_different_recordings_never_match(lib: Library, clips: dict[str, Path]):
    results = lib.verify([clips["unrelated music"], clips["unrelated talk"]])
    assert [(r.tier, r.matches) for r in results] == [(Tier.NONE, []), (Tier.NONE, [])]


def test_the_original_itself_is_exact(lib: Library, clips: dict[str, Path]):
    (result,) = lib.verify([clips["song"]])
    assert result.tier is Tier.EXACT
    assert [m.tier for m in result.matches] == [Tier.EXACT]


@pytest.mark.parametrize("words", ["harbour lights", "Quinn", "dawn"])
def test_tags_are_found_by_keyword(lib: Library, words: str):
    hits = lib.search(SearchQuery(text=words))
    assert [h.asset.original_name for h in hits] == ["song.flac"]


def test_duplicates_group_a_recording_with_its_copy(clips: dict[str, Path], tmp_path: Path):
    with Library.create(tmp_path / "lib") as lib:
        lib.add([clips["song"], clips["song.mp3"], clips["talk"], clips["tune"]])
        groups = lib.duplicates()
    assert [sorted(a.original_name for a in g.assets) for g in groups] == [
        ["song-64k.mp3", "song.flac"]
    ]
    assert groups[0].tier is Tier.NEAR_IDENTICAL


def test_cli_add_list_show_verify(clips: dict[str, Path], tmp_path: Path):
    library = tmp_path / "lib"
    assert cli("init", str(library), "--json").returncode == 0
    added = cli("add", str(clips["song"]), str(clips["talk"]), "--json", library=library)
    assert added.returncode == 0, added.stderr
    listed = json.loads(cli("list", "--type", "audio", "--json", library=library).stdout)
    assert sorted(a["original_name"] for a in listed["assets"]) == ["song.flac", "talk.flac"]
    assert {a["media_type"] for a in listed["assets"]} == {MediaType.AUDIO.value}
    song = next(a for a in listed["assets"] if a["original_name"] == "song.flac")
    shown = json.loads(cli("show", song["asset_id"], "--json", library=library).stdout)
    assert shown["metadata"]["duration"] == pytest.approx(20.0, abs=0.05)
    assert shown["thumbnail_path"] and Path(shown["thumbnail_path"]).is_file()
    verified = cli("verify", str(clips["excerpt"]), "--json", library=library)
    doc = json.loads(verified.stdout)["results"][0]
    assert doc["tier"] == "near-identical"
    assert doc["matches"][0]["segment"]["start"] == pytest.approx(6.2, abs=0.15)
