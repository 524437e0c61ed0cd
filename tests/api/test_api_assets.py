"""Assets over HTTP: upload, list, detail, downloads (Range, ETag), delete; same as the CLI."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from assetloom.api.uploads import safe_name
from assetloom.cli.main import app as cli
from tests.api.conftest import Env, photo_bytes, upload


def test_upload_many_files_reports_like_add_json(env: Env) -> None:
    a, b = photo_bytes(101), photo_bytes(102)
    doc = upload(env, ("a.jpg", a), ("b.jpg", b), ("notes.bin", b"\x00\x01garbage"))
    assert [x["file"] for x in doc["added"]] == ["a.jpg", "b.jpg"]
    assert doc["skipped"][0]["file"] == "notes.bin"
    again = upload(env, ("a-again.jpg", a))
    assert again["present"] == [{"file": "a-again.jpg", "asset_id": doc["added"][0]["asset_id"]}]
    assert again["added"] == []


def test_client_file_names_never_choose_a_path(env: Env) -> None:
    doc = upload(
        env,
        ("../../../etc/evil.jpg", photo_bytes(103)),
        ("..\\windows\\x.jpg", photo_bytes(104)),
        ("..hidden\nname.jpg", photo_bytes(105)),
        ("same.jpg", photo_bytes(106)),
        ("same.jpg", photo_bytes(107)),
    )
    names = [x["file"] for x in doc["added"]]
    assert names == ["evil.jpg", "x.jpg", "hiddenname.jpg", "same.jpg", "same.jpg"]
    for item in doc["added"]:
        asset = env.client.get(f"/api/v1/assets/{item['asset_id']}", headers=env.auth("viewer"))
        assert asset.json()["original_name"] == item["file"]
    assert not any((env.root / "tmp" / "uploads").iterdir()), "upload folders are removed"


def test_safe_name() -> None:
    assert safe_name("a/b/../c.jpg") == "c.jpg"
    assert safe_name("C:\\Users\\x\\photo.jpg") == "photo.jpg"
    assert safe_name("\x00\x1f.bashrc") == "bashrc"
    assert safe_name("..") == "upload" and safe_name("") == "upload" and safe_name("/") == "upload"
    assert safe_name("春天 %22quoted%22.jpg") == '春天 "quoted".jpg'
    assert len(safe_name("长" * 500).encode()) <= 200


def test_list_paginates_and_filters_like_the_cli(env: Env) -> None:
    upload(env, *[(f"p{i}.jpg", photo_bytes(110 + i)) for i in range(3)])
    r = env.client.get("/api/v1/assets?limit=2&offset=1&type=image", headers=env.auth("viewer"))
    assert r.status_code == 200
    api_doc = r.json()
    assert api_doc["offset"] == 1 and len(api_doc["assets"]) == 2
    result = CliRunner().invoke(
        cli,
        ["-L", str(env.root), "list", "--limit", "2", "--offset", "1", "--type", "image", "--json"],
    )
    assert json.loads(result.stdout) == api_doc
    assert (
        env.client.get("/api/v1/assets?type=text", headers=env.auth("viewer")).json()["assets"]
        == []
    )


def test_detail_is_show_json_with_urls(env: Env) -> None:
    asset_id = upload(env, ("detail.jpg", photo_bytes(120)))["added"][0]["asset_id"]
    doc = env.client.get(f"/api/v1/assets/{asset_id[:8]}", headers=env.auth("viewer")).json()
    result = CliRunner().invoke(cli, ["-L", str(env.root), "show", asset_id, "--json"])
    shown = json.loads(result.stdout)
    for key in ("blob_path", "thumbnail_path"):
        shown.pop(key)
    assert {k: v for k, v in doc.items() if not k.endswith("_url")} == shown
    assert doc["original_url"] == f"/api/v1/assets/{asset_id}/original"
    assert doc["thumbnail_url"] == f"/api/v1/assets/{asset_id}/thumbnail"


def test_original_download_range_etag_and_type(env: Env) -> None:
    data = photo_bytes(130)
    asset_id = upload(env, ("dl.jpg", data))["added"][0]["asset_id"]
    url = f"/api/v1/assets/{asset_id}/original"
    h = env.auth("viewer")
    full = env.client.get(url, headers=h)
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "image/jpeg"
    etag = full.headers["etag"]
    assert etag == f'"{hashlib.sha256(data).hexdigest()}"'
    assert full.headers["accept-ranges"] == "bytes"
    assert "sandbox" in full.headers["content-security-policy"]

    part = env.client.get(url, headers={**h, "Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = env.client.get(url, headers={**h, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == data[-5:]
    stale = env.client.get(url, headers={**h, "Range": "bytes=0-3", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == data
    fresh = env.client.get(url, headers={**h, "Range": "bytes=0-3", "If-Range": etag})
    assert fresh.status_code == 206 and fresh.content == data[:4]
    bad = env.client.get(url, headers={**h, "Range": f"bytes={len(data) + 10}-"})
    assert bad.status_code == 416

    cached = env.client.get(url, headers={**h, "If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""


def test_thumbnail_download(env: Env) -> None:
    asset_id = upload(env, ("thumb.jpg", photo_bytes(140)))["added"][0]["asset_id"]
    r = env.client.get(f"/api/v1/assets/{asset_id}/thumbnail", headers=env.auth("viewer"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/webp"
    assert r.content[:4] == b"RIFF"
    assert r.headers["etag"].endswith('.thumb"')
    part = env.client.get(
        f"/api/v1/assets/{asset_id}/thumbnail", headers={**env.auth("viewer"), "Range": "bytes=0-3"}
    )
    assert part.status_code == 206 and part.content == b"RIFF"


def test_text_asset_has_no_thumbnail(env: Env) -> None:
    text = b"Harbour photo shoot moved to Friday because of rain.\n"
    asset_id = upload(env, ("minutes.txt", text))["added"][0]["asset_id"]
    doc = env.client.get(f"/api/v1/assets/{asset_id}", headers=env.auth("viewer")).json()
    assert doc["thumbnail_url"] is None
    r = env.client.get(f"/api/v1/assets/{asset_id}/thumbnail", headers=env.auth("viewer"))
    assert r.status_code == 404 and r.json()["code"] == "thumbnail_not_found"
    original = env.client.get(doc["original_url"], headers=env.auth("viewer"))
    assert original.content == text and original.headers["content-type"].startswith("text/plain")


def test_delete_removes_and_is_audited(env: Env) -> None:
    asset_id = upload(env, ("gone.jpg", photo_bytes(150)))["added"][0]["asset_id"]
    r = env.client.delete(f"/api/v1/assets/{asset_id}", headers=env.auth("editor"))
    assert r.json()["removed"] == [{"asset_id": asset_id, "original_name": "gone.jpg"}]
    assert r.json()["restore"]["ids"] == [asset_id]  # to the trash now: undo with restore
    missing = env.client.get(f"/api/v1/assets/{asset_id}", headers=env.auth("viewer"))
    assert missing.status_code == 404
    assert missing.json()["code"] == "asset_not_found"
    assert str(env.root) not in missing.json()["message"], "no server paths in errors"
    again = env.client.delete(f"/api/v1/assets/{asset_id}", headers=env.auth("editor"))
    assert again.status_code == 404
    log = env.client.get("/api/v1/audit?actor=editor", headers=env.auth("admin")).json()
    removals = [e for e in log["entries"] if e["action"] == "asset.remove"]
    assert removals[0]["outcome"] == "asset_not_found" and removals[1]["outcome"] == "ok"
    assert removals[1]["target"] == asset_id and removals[1]["client"] == "testclient"


def test_verify_carries_tiers_matches_and_proofs(env: Env) -> None:
    data = photo_bytes(160)
    asset_id = upload(env, ("orig.jpg", data))["added"][0]["asset_id"]
    r = env.client.post(
        "/api/v1/verify",
        headers=env.auth("viewer"),
        files=[
            ("files", ("suspect.jpg", data, "image/jpeg")),
            ("files", ("unrelated.jpg", photo_bytes(161), "image/jpeg")),
        ],
    )
    assert r.status_code == 200, r.text
    first, second = r.json()["results"]
    assert first["file"] == "suspect.jpg" and first["tier"] == "exact"
    match = first["matches"][0]
    assert match["asset_id"] == asset_id and match["original_name"] == "orig.jpg"
    assert match["ledger"]["verified"] is True and match["ledger"]["asset_id"] == asset_id
    assert second["file"] == "unrelated.jpg" and second["tier"] == "none"


def test_copies_of_an_asset(env: Env) -> None:
    data = photo_bytes(170, size=(640, 480))
    smaller = io.BytesIO()
    Image.open(io.BytesIO(data)).resize((320, 240)).save(smaller, "JPEG", quality=80)
    doc = upload(env, ("big.jpg", data), ("small.jpg", smaller.getvalue()))
    big, small = (x["asset_id"] for x in doc["added"])
    r = env.client.get(f"/api/v1/assets/{big}/copies", headers=env.auth("viewer")).json()
    assert r["asset_id"] == big
    assert [m["asset_id"] for m in r["matches"]] == [small]
    assert r["matches"][0]["tier"] == "near-identical"


def test_a_document_has_page_previews_and_only_those_are_served(env: Env, tmp_path: Path) -> None:
    from tests.documents.makers import make_pdf

    pdf = make_pdf(tmp_path / "brochure.pdf", [["Page one"], ["Page two"], ["Page three"]])
    (added,) = upload(env, ("brochure.pdf", pdf.read_bytes()))["added"]
    doc = env.client.get(f"/api/v1/assets/{added['asset_id']}", headers=env.auth("viewer")).json()
    names = [u.rsplit("/", 1)[1] for u in doc["preview_urls"]]
    assert names == ["page-1.webp", "page-2.webp", "page-3.webp"]
    page = env.client.get(doc["preview_urls"][1], headers=env.auth("viewer"))
    assert page.status_code == 200 and page.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(page.content)).format == "WEBP"
    base = f"/api/v1/assets/{added['asset_id']}/previews"
    for name in ("page-9.webp", "thumb.webp", "..%2Fthumb.webp", "page-0.webp"):
        assert env.client.get(f"{base}/{name}", headers=env.auth("viewer")).status_code == 404
    photo = upload(env, ("plain.jpg", photo_bytes(171)))["added"][0]["asset_id"]
    assert (
        "preview_urls"
        not in env.client.get(f"/api/v1/assets/{photo}", headers=env.auth("viewer")).json()
    )
