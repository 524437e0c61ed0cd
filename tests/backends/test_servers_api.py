"""The HTTP API over a PostgreSQL + S3 library: upload, list, search (en, zh), verify an edited
copy with a ledger proof, download through a presigned link, delete; and a running server
catching up with what a CLI `add` (another process) wrote to the same catalog and bucket.

tests/api/ holds the same checks on the embedded library; these run them on the servers.
"""

from __future__ import annotations

import io
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from assetloom.accounts import AccountService, Role
from assetloom.api.config import ServerSettings
from assetloom.app.library import Library
from assetloom.provenance.ledger_service import InclusionProof
from assetloom.server.app import create_app
from tests.backends.remote_library import Remote, cli_args, cli_json, remote_library, sha256_of
from tests.backends.servers import S3Server
from tests.media import make_photo

PATIENCE_S = 60.0  # the keeper looks every 0.1 s here; this only bounds a broken run


@pytest.fixture
def remote(
    postgres_url: str, s3_bucket: S3Server, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Remote]:
    with remote_library(postgres_url, s3_bucket, monkeypatch) as r:
        yield r


@dataclass
class Served:
    root: Path
    client: TestClient
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def upload(self, *files: Path) -> dict[str, Any]:
        r = self.client.post(
            "/api/v1/assets",
            headers=self.auth("editor"),
            files=[("files", (f.name, f.read_bytes(), "application/octet-stream")) for f in files],
        )
        assert r.status_code == 200, r.text
        return r.json()

    def verify(self, *files: tuple[str, bytes]) -> list[dict[str, Any]]:
        r = self.client.post(
            "/api/v1/verify",
            headers=self.auth("viewer"),
            files=[("files", (name, data, "image/jpeg")) for name, data in files],
        )
        assert r.status_code == 200, r.text
        return r.json()["results"]

    def search(self, q: str) -> list[dict[str, Any]]:
        r = self.client.get("/api/v1/search", params={"q": q}, headers=self.auth("viewer"))
        assert r.status_code == 200, r.text
        return r.json()["results"]


@pytest.fixture
def served(remote: Remote, tmp_path: Path) -> Iterator[Served]:
    """A PostgreSQL + S3 library with one user per role, served by the app (keeper: 0.1 s)."""
    root = tmp_path / "lib"
    with Library.create(root, catalog=remote.catalog, blobs=remote.blobs) as lib:
        accounts = AccountService.of(lib)
        tokens = {}
        for role in Role:
            accounts.add_user(role.value, role, None)
            tokens[role.value] = accounts.create_token(role.value, "tests")[1]
    app = create_app(root, ServerSettings(index_refresh_s=0.1))
    with TestClient(app) as client:
        yield Served(root, client, tokens)


def _smaller(photo: Path, quality: int = 70) -> bytes:
    """A resized re-encoded copy: found only through the PDQ index, never by its SHA-256."""
    out = io.BytesIO()
    with Image.open(photo) as im:
        im.resize((im.width // 2, im.height // 2)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _fetch(url: str) -> tuple[bytes, dict[str, str]]:
    """What a client following the redirect gets from S3: (bytes, headers)."""
    with urllib.request.urlopen(url, timeout=10) as got:
        return got.read(), dict(got.headers)


def test_api_upload_list_search_verify_download_delete(
    served: Served, remote: Remote, tmp_path: Path
) -> None:
    inbox = tmp_path / "in"
    photos = [make_photo(inbox / f"p{i}.jpg", 900 + i, size=(320, 240)) for i in range(3)]
    en = inbox / "brief.txt"
    en.write_text("Harbour launch brief: the ferry leaves at dawn.\n", encoding="utf-8")
    zh = inbox / "海边笔记.txt"
    zh.write_text("海边的孩子在沙滩上放风筝。\n", encoding="utf-8")
    junk = inbox / "junk.bin"
    junk.write_bytes(b"\x00\x01not a picture")

    doc = served.upload(*photos, en, zh, junk)
    names = ["p0.jpg", "p1.jpg", "p2.jpg", "brief.txt", "海边笔记.txt"]
    assert [x["file"] for x in doc["added"]] == names
    assert [x["file"] for x in doc["skipped"]] == ["junk.bin"]
    ids = {x["file"]: x["asset_id"] for x in doc["added"]}
    assert served.upload(photos[0])["present"] == [{"file": "p0.jpg", "asset_id": ids["p0.jpg"]}]
    shas = {sha256_of(f) for f in (*photos, en, zh)}
    assert set(remote.asset_shas()) == shas == remote.blob_objects()
    assert not any((served.root / "tmp" / "uploads").iterdir()), "staged uploads are removed"

    listed = served.client.get("/api/v1/assets?limit=10", headers=served.auth("viewer")).json()
    assert listed["total"] == 5
    assert {a["asset_id"] for a in listed["assets"]} == set(ids.values())
    images = served.client.get("/api/v1/assets?type=image", headers=served.auth("viewer")).json()
    assert {a["original_name"] for a in images["assets"]} == {"p0.jpg", "p1.jpg", "p2.jpg"}

    words = {"harbour": "brief.txt", "ferry dawn": "brief.txt"}
    words |= {"海边": "海边笔记.txt", "风筝": "海边笔记.txt"}
    for query, name in words.items():
        hits = served.search(query)
        assert hits and hits[0]["asset_id"] == ids[name], (query, hits)
        assert hits[0]["matched"][0]["source"] == "keyword"
    assert served.search("lighthouse") == []

    edited, exact, stranger = served.verify(
        ("edited.jpg", _smaller(photos[1])),
        ("same.jpg", photos[2].read_bytes()),
        ("stranger.jpg", make_photo(tmp_path / "x.jpg", 999).read_bytes()),
    )
    assert edited["tier"] == "near-identical" and exact["tier"] == "exact"
    assert stranger["tier"] == "none" and stranger["matches"] == []
    match = edited["matches"][0]
    assert match["asset_id"] == ids["p1.jpg"] and match["original_name"] == "p1.jpg"
    proof = match["ledger"]
    assert proof["verified"] is True and proof["asset_id"] == ids["p1.jpg"]
    checkpoint = InclusionProof.from_dict(proof).verify()  # as a third party checks it
    assert checkpoint.size == proof["tree_size"] == 5
    assert exact["matches"][0]["asset_id"] == ids["p2.jpg"]

    # copies and duplicates probe with the stored originals: local copies of S3 objects.
    small = tmp_path / "p0-small.jpg"
    small.write_bytes(_smaller(photos[0], quality=80))
    small_id = served.upload(small)["added"][0]["asset_id"]
    h = served.auth("viewer")
    copies = served.client.get(f"/api/v1/assets/{ids['p0.jpg']}/copies", headers=h).json()
    assert [(m["asset_id"], m["tier"]) for m in copies["matches"]] == [(small_id, "near-identical")]
    groups = served.client.get("/api/v1/duplicates", headers=h).json()["groups"]
    assert [sorted(a["asset_id"] for a in g["assets"]) for g in groups] == [
        sorted([ids["p0.jpg"], small_id])
    ]
    shown = cli_json(served.root, "show", ids["p0.jpg"])
    assert shown["blob_path"] == f"s3://{remote.s3.bucket}/{remote.blob_key(sha256_of(photos[0]))}"

    url = f"/api/v1/assets/{ids['p0.jpg']}/original"
    r = served.client.get(url, headers=served.auth("viewer"), follow_redirects=False)
    assert r.status_code == 307, r.text
    assert r.headers["location"].startswith(remote.s3.endpoint)
    data, headers = _fetch(r.headers["location"])
    assert data == photos[0].read_bytes() and headers["Content-Type"] == "image/jpeg"
    assert headers["Content-Disposition"] == 'inline; filename="p0.jpg"'
    r = served.client.get(
        f"/api/v1/assets/{ids[zh.name]}/original",
        headers=served.auth("viewer"),
        follow_redirects=False,
    )
    assert r.status_code == 307
    data, headers = _fetch(r.headers["location"])
    assert data == zh.read_bytes() and headers["Content-Type"].startswith("text/plain")
    assert headers["Content-Disposition"].endswith(
        "filename*=UTF-8''%E6%B5%B7%E8%BE%B9%E7%AC%94%E8%AE%B0.txt"
    )
    r = served.client.get(
        f"/api/v1/assets/{ids['p0.jpg']}/thumbnail",
        headers=served.auth("viewer"),
        follow_redirects=False,
    )
    assert r.status_code == 307
    data, headers = _fetch(r.headers["location"])
    assert data[:4] == b"RIFF" and headers["Content-Type"] == "image/webp"

    gone = served.client.delete(f"/api/v1/assets/{ids['p1.jpg']}", headers=served.auth("editor"))
    assert gone.status_code == 200
    assert gone.json()["removed"] == [{"asset_id": ids["p1.jpg"], "original_name": "p1.jpg"}]
    missing = served.client.get(f"/api/v1/assets/{ids['p1.jpg']}", headers=served.auth("viewer"))
    assert missing.status_code == 404 and missing.json()["code"] == "asset_not_found"
    assert served.verify(("edited.jpg", _smaller(photos[1])))[0]["tier"] == "none"  # trashed
    emptied = served.client.delete("/api/v1/trash", headers=served.auth("admin"))  # rm's old way
    assert [a["asset_id"] for a in emptied.json()["removed"]] == [ids["p1.jpg"]]
    assert remote.head(remote.blob_key(sha256_of(photos[1]))) is None
    assert sha256_of(photos[1]) not in remote.derived_objects()
    assert served.verify(("edited.jpg", _smaller(photos[1])))[0]["tier"] == "none"
    audit = cli_json(served.root, "ledger", "audit")
    assert audit["ok"] is True and audit["tree_size"] == 7  # six registrations, one removal


def _until(look: Callable[[], Any], want: Callable[[Any], bool]) -> Any:
    """Ask `look` until `want` holds of its answer (or PATIENCE_S runs out); the last answer."""
    deadline = time.monotonic() + PATIENCE_S
    seen = look()
    while not want(seen) and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = look()
    return seen


def test_server_catches_up_with_a_cli_add_and_rm(
    served: Served, remote: Remote, tmp_path: Path
) -> None:
    """PostgreSQL has no cheap change token: the keeper rechecks the catalog every round."""
    first = make_photo(tmp_path / "first.jpg", 950, size=(320, 240))
    served.upload(first)
    campaign = make_photo(tmp_path / "cli" / "campaign.jpg", 951, size=(640, 480))
    copy = _smaller(campaign)
    assert served.verify(("copy.jpg", copy))[0]["tier"] == "none"  # indexes loaded, not there
    (tmp_path / "cli" / "memo.txt").write_text("Zanzibar lighthouse memo\n", encoding="utf-8")

    out = subprocess.run(
        cli_args(served.root, "add", str(tmp_path / "cli"), "--json"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert sha256_of(campaign) in remote.blob_objects()

    def tier() -> str:
        return str(served.verify(("copy.jpg", copy))[0]["tier"])

    assert _until(tier, lambda t: t == "near-identical") == "near-identical"
    (match,) = served.verify(("copy.jpg", copy))[0]["matches"]
    assert match["original_name"] == "campaign.jpg" and match["ledger"]["verified"] is True
    hits = _until(lambda: served.search("zanzibar"), bool)
    assert [h["original_name"] for h in hits] == ["memo.txt"]

    removed = cli_json(served.root, "rm", match["asset_id"])
    assert removed["removed"][0]["asset_id"] == match["asset_id"]
    assert _until(tier, lambda t: t == "none") == "none"
    assert served.verify(("first.jpg", _smaller(first)))[0]["tier"] == "near-identical"
