"""XMP write-back: exported copies carry the edited metadata as ExifTool reads it, formats that
cannot hold XMP get a sidecar, and the stored original never changes (its SHA-256 and its
ledger leaf stay true)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from assetloom.app.library import Library
from tests.media import make_photo

pytestmark = pytest.mark.skipif(
    shutil.which("exiftool") is None, reason="exiftool not installed (scripts/setup.sh)"
)


def _exiftool(path: Path) -> dict:
    out = subprocess.run(
        ["exiftool", "-json", "-G1", "-struct", "-XMP:all", str(path)],
        capture_output=True,
        check=True,
    ).stdout
    return json.loads(out)[0]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_embeds_xmp_and_keeps_the_original(library: Library, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "launch.jpg", 5)
    png = make_photo(tmp_path / "banner.png", 6, fmt="PNG")
    text = tmp_path / "brief.txt"
    text.write_text("Spring launch brief: blue tones, product on white.\n", encoding="utf-8")
    ids = {Path(a.file).name: a.asset_id for a in library.add([photo, png, text]).added}
    jpg_id = ids["launch.jpg"]
    stored = Path(library.blob_location(library.get(jpg_id)))
    before = _sha(stored)
    library.set_metadata(
        list(ids.values()),
        {
            "title": "春季新品 Spring launch",
            "description": "Blue-toned product shot",
            "keywords": ["campaign", "蓝色"],
            "creator": "Li Wei",
            "copyright": "© 2026 Example Studio",
            "licence": "https://creativecommons.org/licenses/by/4.0/",
            "usage": {"expires": "2027-01-31", "channels": ["web", "print"]},
            "rating": 4,
            "status": "approved",
        },
        actor="alice",
    )

    out = tmp_path / "export"
    done = library.export(list(ids.values()), out)
    by_id = {f.asset_id: f for f in done.files}
    for name in ("launch.jpg", "banner.png"):
        made = by_id[ids[name]]
        assert made.embedded and made.sidecar is None and Path(made.path).name == name
        tags = _exiftool(Path(made.path))
        assert tags["XMP-dc:Title"] == "春季新品 Spring launch"
        assert tags["XMP-dc:Description"] == "Blue-toned product shot"
        assert tags["XMP-dc:Subject"] == ["campaign", "蓝色"]
        assert tags["XMP-dc:Creator"] == ["Li Wei"]  # an ordered list (rdf:Seq)
        assert tags["XMP-dc:Rights"] == "© 2026 Example Studio"
        assert tags["XMP-xmpRights:WebStatement"].startswith("https://creativecommons.org/")
        assert tags["XMP-xmpRights:Marked"] is True
        assert tags["XMP-photoshop:Headline"] == "春季新品 Spring launch"
        assert "2027-01-31" in tags["XMP-photoshop:Instructions"]
        assert tags["XMP-xmp:Rating"] == 4 and tags["XMP-xmp:Label"] == "approved"

    # Text cannot hold XMP: the copy is the original byte for byte, the XMP is beside it.
    made = by_id[ids["brief.txt"]]
    assert not made.embedded and made.sidecar and made.sidecar.endswith("brief.xmp")
    assert Path(made.path).read_bytes() == text.read_bytes()
    assert _exiftool(Path(made.sidecar))["XMP-dc:Title"] == "春季新品 Spring launch"

    # The stored original is untouched, and the ledger still proves every registration.
    assert _sha(stored) == before == library.get(jpg_id).sha256
    assert library.audit_ledger().ok
    library.registration_proof(jpg_id)

    # A second export into the same folder never overwrites: the names get the id.
    again = library.export([jpg_id], out).files[0]
    assert Path(again.path).name == f"launch-{jpg_id[:8]}.jpg"


def test_a_cleared_field_is_removed_from_the_copy(library: Library, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "tagged.jpg", 7)
    subprocess.run(
        ["exiftool", "-overwrite_original", "-XMP-dc:Title=Old title", str(photo)],
        check=True,
        capture_output=True,
    )
    (added,) = library.add([photo]).added
    assert library.metadata([added.asset_id])[0].title == "Old title"  # from the file
    library.set_metadata([added.asset_id], {"title": "", "rating": 1}, actor="a")
    made = library.export([added.asset_id], tmp_path / "out").files[0]
    tags = _exiftool(Path(made.path))
    assert "XMP-dc:Title" not in tags and tags["XMP-xmp:Rating"] == 1
