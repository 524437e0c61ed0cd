"""The zip download of a selection, the capture timeline and the map (real uploads with EXIF
capture dates and GPS positions written by Pillow, read back by our extractor)."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from tests.api.conftest import Env, photo_bytes, upload


def gps_jpeg(lat: float, lon: float, when: str, seed: int) -> bytes:
    img = Image.new("RGB", (200, 150), (seed * 40 % 255, 90, 160))
    exif = Image.Exif()
    exif.get_ifd(0x8825).update(  # GPSInfo
        {
            1: "N" if lat >= 0 else "S",
            2: (abs(lat), 0.0, 0.0),
            3: "E" if lon >= 0 else "W",
            4: (abs(lon), 0.0, 0.0),
        }
    )
    exif.get_ifd(0x8769)[0x9003] = when  # DateTimeOriginal
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _stock(env: Env) -> dict[str, str]:
    files = [
        ("shanghai.jpg", gps_jpeg(31.25, 121.5, "2023:05:14 10:00:00", 1)),
        ("lima.jpg", gps_jpeg(-12.0, -77.0, "2023:05:20 08:00:00", 2)),
        ("oslo.jpg", gps_jpeg(59.9, 10.75, "2024:01:02 12:00:00", 3)),
        ("plain.jpg", photo_bytes(77)),
        ("notes.txt", "几句话 and a few words\n".encode()),
    ]
    report = upload(env, *files)
    return {a["file"]: a["asset_id"] for a in report["added"]}


def test_zip_timeline_and_map(env: Env) -> None:
    ids = _stock(env)
    viewer = env.auth("viewer")

    months = env.client.get("/api/v1/timeline", headers=viewer).json()["months"]
    assert months == [{"month": "2024-01", "assets": 1}, {"month": "2023-05", "assets": 2}]
    may = env.client.get("/api/v1/assets", params={"month": "2023-05"}, headers=viewer).json()
    assert sorted(a["original_name"] for a in may["assets"]) == ["lima.jpg", "shanghai.jpg"]
    assert (
        env.client.get("/api/v1/assets", params={"month": "May"}, headers=viewer).status_code == 400
    )

    points = env.client.get("/api/v1/map", headers=viewer).json()
    assert points["truncated"] is False
    where = {p["original_name"]: (p["latitude"], p["longitude"]) for p in points["points"]}
    assert where == {
        "shanghai.jpg": (31.25, 121.5),
        "lima.jpg": (-12.0, -77.0),
        "oslo.jpg": (59.9, 10.75),
    }

    wanted = [ids["plain.jpg"], ids["notes.txt"], ids["oslo.jpg"], ids["plain.jpg"]]
    r = env.client.post("/api/v1/assets/zip", json={"ids": wanted}, headers=viewer)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.namelist() == ["plain.jpg", "notes.txt", "oslo.jpg"], "each asset once"
        assert zf.read("notes.txt") == "几句话 and a few words\n".encode()
        assert zf.read("plain.jpg") == photo_bytes(77)
        assert zf.testzip() is None

    missing = env.client.post("/api/v1/assets/zip", json={"ids": ["f" * 32]}, headers=viewer)
    assert missing.status_code == 404 and missing.json()["code"] == "asset_not_found"
    empty = env.client.post("/api/v1/assets/zip", json={"ids": []}, headers=viewer)
    assert empty.status_code == 422
    anonymous = env.client.post("/api/v1/assets/zip", json={"ids": wanted})
    assert anonymous.status_code == 401

    # Moved to the trash: no longer in a zip, the map or the timeline.
    r = env.client.post(
        "/api/v1/trash", json={"ids": [ids["oslo.jpg"]]}, headers=env.auth("editor")
    )
    assert r.status_code == 200, r.text
    gone = env.client.post("/api/v1/assets/zip", json={"ids": [ids["oslo.jpg"]]}, headers=viewer)
    assert gone.status_code == 404
    assert env.client.get("/api/v1/timeline", headers=viewer).json()["months"] == [
        {"month": "2023-05", "assets": 2}
    ]
    assert len(env.client.get("/api/v1/map", headers=viewer).json()["points"]) == 2
    audit = env.client.get("/api/v1/audit", headers=env.auth("admin"))
    assert audit.status_code == 200 and "assets.zip" in audit.text


def test_zip_names_never_clash_or_escape() -> None:
    from datetime import UTC, datetime

    from assetloom.app.browse import zip_names
    from assetloom.core.assets import Asset, MediaType

    def a(name: str) -> Asset:
        return Asset("a" * 32, "0" * 64, MediaType.IMAGE, "image/jpeg", 1, name, datetime.now(UTC))

    names = zip_names([a("x.jpg"), a("X.JPG"), a("x.jpg"), a("../../etc/passwd"), a("README")])
    assert names == ["x.jpg", "X (2).JPG", "x (3).jpg", "passwd", "README"]
