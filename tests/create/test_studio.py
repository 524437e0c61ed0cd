"""The studio end to end on a real library: a brief -> plan -> copy and composed images,
checked against the library and registered with their recipes and lineage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.app.library import Library
from assetloom.app.studio import Request, Studio, lineage
from assetloom.errors import BadInputError
from tests.cli_run import cli
from tests.media import make_photo


@pytest.fixture
def lib(tmp_path: Path, understanding: None) -> Iterator[Library]:
    with Library.create(tmp_path / "lib") as lib:
        lib.settings = lib.settings.model_copy(update={"workers": 1})
        photos = [make_photo(tmp_path / "photos" / f"p{i}.jpg", seed=i) for i in range(4)]
        lib.add(photos)
        yield lib


def test_a_campaign_lands_in_the_library_with_lineage(lib: Library, tmp_path: Path) -> None:
    style = make_photo(tmp_path / "style.jpg", seed=42)
    doc = Studio(lib).create(
        Request(
            "为一款新型环保水瓶创作社交媒体内容",
            style_ref=style,
            outputs=["text", "image"],
            formats=["1:1", "9:16"],
            seed=7,
        )
    )
    assert doc["state"] == "done" and doc["plan"]["tone"] == "eco"
    kinds = [(o["kind"], o["label"]) for o in doc["outputs"]]
    assert kinds == [("text", "copy"), ("image", "image 1:1"), ("image", "image 9:16")]
    copy, square, tall = doc["outputs"]
    text = lib.get(copy["asset_id"])
    assert text.media_type.value == "text" and "新型环保水瓶" in text.metadata["excerpt"]
    assert copy["quality"]["language_ok"] and copy["recipe"]["backend"] == "template"
    for image, size in ((square, (1080, 1080)), (tall, (1080, 1920))):
        asset = lib.get(image["asset_id"])
        assert (asset.width, asset.height) == size and asset.mime == "image/png"
        assert asset.source and asset.source.startswith("created by the studio")
        assert image["quality"]["text_contrast"] >= 4.5
        assert -1.0 <= image["quality"]["alignment_cosine"] <= 1.0
        roles = {p["role"] for p in image["recipe"]["parents"]}
        assert {"brief", "subject", "style"} <= roles
    graph = lineage(lib, square["asset_id"])
    up = {(e["role"], e["parent_id"]) for e in graph["up"] if e["child_id"] == square["asset_id"]}
    assert ("brief", doc["brief_asset_id"]) in up and ("copy", copy["asset_id"]) in up
    assert graph["creation"]["recipe"]["seed"] == 7
    down = lineage(lib, doc["inputs"]["style"])["down"]
    assert {e["child_id"] for e in down} == {square["asset_id"], tall["asset_id"]}
    assert doc["report"]["copyright"] == []  # made from the library, not a copy of it
    assert square["quality"]["provenance"] == {"watermark": True, "c2pa": True}


def test_verify_names_what_the_studio_made_even_after_a_re_encode(
    tmp_path: Path, shared: Path, understanding: None
) -> None:
    """Composed from real photos (a mark hides in texture; the flat shapes of synthetic test
    pictures carry it poorly), signed, then re-posted as a JPEG that lost its manifest."""
    from PIL import Image

    rows = (shared / "data" / "flickr8k" / "dev.jsonl").read_text().splitlines()[:4]
    lib = Library.create(tmp_path / "real")
    lib.settings = lib.settings.model_copy(update={"workers": 1})
    lib.add([shared / "data" / "flickr8k" / json.loads(r)["image"] for r in rows])
    doc = Studio(lib).create(
        Request("A dog running on the beach", outputs=["image"], formats=["1:1"], seed=1)
    )
    (made,) = doc["outputs"]
    original = Path(lib.blob_location(lib.get(made["asset_id"])))
    (signed,) = lib.verify([original])
    assert signed.c2pa is not None and signed.c2pa.state == "Trusted"
    assert signed.c2pa.asset_id == made["asset_id"]
    copy = tmp_path / "reposted.jpg"
    Image.open(original).convert("RGB").save(copy, "JPEG", quality=70)  # strips the manifest
    (reposted,) = lib.verify([copy])
    assert reposted.c2pa is None
    assert reposted.watermark is not None and reposted.watermark.asset_id == made["asset_id"]
    lib.close()


def test_one_failing_output_does_not_stop_the_others(lib: Library) -> None:
    doc = Studio(lib).create(
        Request(
            "A reusable trail bottle for hikers",
            outputs=["text", "image"],
            formats=["1:1"],
            backends=["image=nosuch"],
        )
    )
    assert doc["state"] == "partial"
    text, image = doc["outputs"]
    assert text["asset_id"] and "error" not in text
    assert "nosuch" in image["error"] and "asset_id" not in image
    assert doc["report"]["errors"][0]["label"] == "image 1:1"


def test_repurpose_derives_from_the_source(lib: Library) -> None:
    source = lib.list().assets[0].asset_id
    doc = Studio(lib).repurpose(
        source, "将产品置于热带雨林背景中，强调环保主题", Request("", formats=["16:9"])
    )
    image = next(o for o in doc["outputs"] if o["kind"] == "image")
    assert doc["plan"]["scene"] == "热带雨林"
    parents = {(p["role"], p["asset_id"]) for p in image["recipe"]["parents"]}
    assert ("source", source) in parents
    assert image["asset_id"] in {e["child_id"] for e in lineage(lib, source)["down"]}


def test_bad_input_is_refused_before_anything_is_made(lib: Library, tmp_path: Path) -> None:
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    before = lib.count()
    with pytest.raises(BadInputError, match=r"--style-ref .* not an image"):
        Studio(lib).create(Request("A bottle", style_ref=not_image))
    with pytest.raises(BadInputError, match="empty"):
        Studio(lib).create(Request("   "))
    assert lib.count() == before


def test_cli_create_and_lineage_json(lib: Library, tmp_path: Path) -> None:
    root = str(lib.root)
    lib.close()
    r = cli("-L", root, "create", "Eco bottle for students", "--outputs", "text", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) >= {"project_id", "brief", "plan", "outputs", "report"}
    (copy,) = doc["outputs"]
    r = cli("-L", root, "lineage", copy["asset_id"][:10], "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["up"][0]["role"] == "brief"
    r = cli("-L", root, "create", "x" * 5000, "--json")
    assert r.returncode == 1 and "characters" in json.loads(r.stdout)["error"]["message"]


def test_a_voice_over_music_and_a_short_join_the_campaign(lib: Library) -> None:
    doc = Studio(lib).create(
        Request(
            "Launch our new trail bottle for hikers",
            outputs=["text", "image", "speech", "music", "video"],
            formats=["9:16"],
            seed=3,
        )
    )
    assert doc["state"] == "done", doc["report"]["errors"]
    by_label = {o["label"]: o for o in doc["outputs"]}
    assert set(by_label) == {"copy", "image 9:16", "voice-over", "music bed", "video 9:16"}
    video = lib.get(by_label["video 9:16"]["asset_id"])
    assert video.media_type.value == "video" and (video.width, video.height) == (720, 1280)
    voice = lib.get(by_label["voice-over"]["asset_id"])
    assert voice.media_type.value == "audio"
    roles = {(e["role"], e["parent_id"]) for e in lineage(lib, video.asset_id)["up"]}
    assert ("voice-over", voice.asset_id) in roles
    assert ("music", by_label["music bed"]["asset_id"]) in roles
    assert ("image", by_label["image 9:16"]["asset_id"]) in roles
