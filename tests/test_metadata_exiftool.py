"""Metadata we read agrees with ExifTool, the reference reader (which also writes the tags here)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from assetloom.app.library import Library
from tests.media import make_photo

exiftool = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(
    exiftool is None, reason="exiftool not installed (scripts/setup.sh)"
)


def _write_tags(path: Path) -> None:
    subprocess.run(
        [
            "exiftool",
            "-overwrite_original",
            "-Make=FUJIFILM",
            "-Model=X-T5",
            "-LensModel=XF23mmF1.4 R LM WR",
            "-DateTimeOriginal=2026:03:14 09:26:53",
            "-OffsetTimeOriginal=+08:00",
            "-GPSLatitude=31.2304",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=121.4737",
            "-GPSLongitudeRef=E",
            "-XMP-dc:Title=春季新品 Spring launch",
            "-XMP-dc:Description=Blue-toned tech product shot",
            "-XMP-dc:Subject=campaign",
            "-XMP-dc:Subject=蓝色",
            "-XMP-dc:Creator=Li Wei",
            "-XMP-dc:Rights=© 2026 Example Studio",
            "-IPTC:Keywords=studio",
            "-IPTC:CodedCharacterSet=UTF8",
            str(path),
        ],
        check=True,
        capture_output=True,
    )


def test_fields_match_exiftool(library: Library, tmp_path: Path):
    photo = make_photo(tmp_path / "tagged.jpg", 11, size=(640, 480))
    _write_tags(photo)
    ref = json.loads(
        subprocess.run(
            ["exiftool", "-json", "-n", "-G1", str(photo)], capture_output=True, check=True
        ).stdout
    )[0]
    meta = library.get(library.add([photo]).added[0].asset_id).metadata

    assert meta["camera_make"] == ref["IFD0:Make"]
    assert meta["camera_model"] == ref["IFD0:Model"]
    assert meta["lens_model"] == ref["ExifIFD:LensModel"]
    assert meta["captured_at"] == "2026-03-14T09:26:53+08:00"
    assert meta["gps"]["latitude"] == pytest.approx(ref["GPS:GPSLatitude"], abs=1e-6)
    assert meta["gps"]["longitude"] == pytest.approx(ref["GPS:GPSLongitude"], abs=1e-6)
    assert meta["title"] == ref["XMP-dc:Title"]
    assert meta["description"] == ref["XMP-dc:Description"]
    assert meta["creator"] == ref["XMP-dc:Creator"]
    assert meta["copyright"] == ref["XMP-dc:Rights"]
    assert set(meta["keywords"]) == {*ref["XMP-dc:Subject"], ref["IPTC:Keywords"]}


def test_iptc_only_fields(library: Library, tmp_path: Path):
    photo = make_photo(tmp_path / "iptc.jpg", 12)
    subprocess.run(
        [
            "exiftool",
            "-overwrite_original",
            "-IPTC:CodedCharacterSet=UTF8",
            "-IPTC:ObjectName=Harbour at dawn",
            "-IPTC:Caption-Abstract=Fishing boats, 清晨",
            "-IPTC:By-line=Ana Silva",
            "-IPTC:CopyrightNotice=CC BY 4.0",
            "-IPTC:Keywords=harbour",
            "-IPTC:Keywords=boats",
            str(photo),
        ],
        check=True,
        capture_output=True,
    )
    meta = library.get(library.add([photo]).added[0].asset_id).metadata
    assert meta["title"] == "Harbour at dawn"
    assert meta["description"] == "Fishing boats, 清晨"
    assert meta["creator"] == "Ana Silva"
    assert meta["copyright"] == "CC BY 4.0"
    assert meta["keywords"] == ["harbour", "boats"]
