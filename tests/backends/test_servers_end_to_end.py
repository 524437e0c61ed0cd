"""A library whose catalog is PostgreSQL (+ pgvector) and whose blobs are in S3, end to end:
init, add, list, verify, search, rm, ledger audit, the API's downloads, a second process."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.core.assets import Tier
from tests.backends.pg_database import fresh_database
from tests.backends.servers import S3Server
from tests.media import make_photo


@pytest.fixture
def remote(
    postgres_url: str, s3_bucket: S3Server, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    """(catalog URL, s3:// location) of a fresh database and prefix; AWS_* set like a user's."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_bucket.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_bucket.secret_key)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_bucket.endpoint)
    monkeypatch.setenv("AWS_REGION", s3_bucket.region)
    with fresh_database(postgres_url) as url:
        yield (
            url.replace("postgresql+psycopg://", "postgresql://"),
            (f"s3://{s3_bucket.bucket}/lib-{uuid.uuid4().hex[:8]}"),
        )


def _objects(s3: S3Server, location: str) -> list[str]:
    prefix = location.split("/", 3)[3] + "/"
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_add_verify_search_rm_audit_on_servers(
    remote: tuple[str, str], s3_bucket: S3Server, tmp_path: Path
) -> None:
    catalog, blobs = remote
    photos = [make_photo(tmp_path / "in" / f"p{i}.jpg", 700 + i) for i in range(4)]
    (tmp_path / "in" / "brief.md").write_text("海边的孩子 harbour launch brief\n", encoding="utf-8")
    with Library.create(tmp_path / "lib", catalog=catalog, blobs=blobs) as lib:
        assert not (tmp_path / "lib" / "catalog.db").exists()
        report = lib.add([tmp_path / "in"], recursive=True)
        assert len(report.added) == 5 and not report.skipped
        again = lib.add([tmp_path / "in"], recursive=True)
        assert len(again.present) == 5 and not again.added
    keys = _objects(s3_bucket, blobs)
    assert (
        sum("/blobs/" in k for k in keys) == 5 and sum(k.endswith("thumb.webp") for k in keys) == 4
    )

    with Library.open(tmp_path / "lib") as lib:
        assert lib.count() == 5 and lib.catalog.dialect == "postgresql"
        edited = tmp_path / "edited.jpg"
        with Image.open(photos[1]) as im:
            im.resize((im.width // 2, im.height // 2)).save(edited, quality=70)
        exact, near = lib.verify([photos[0], edited])
        assert exact.tier is Tier.EXACT and near.tier is Tier.NEAR_IDENTICAL
        assert exact.to_json()["matches"][0]["ledger"]["verified"] is True
        for query in ("harbour", "海边"):
            hits = lib.search(SearchQuery(text=query))
            assert [h.asset.original_name for h in hits][:1] == ["brief.md"], query
        doomed = next(a for a in lib.list().assets if a.original_name == "p3.jpg")
        lib.remove(doomed.asset_id)
        assert lib.count() == 4 and lib.audit_ledger().ok
    assert not any(doomed.sha256 in k for k in _objects(s3_bucket, blobs))

    # Another process (the CLI) sees the same library through the same settings.
    shown = subprocess.run(
        [sys.executable, "-m", "assetloom.cli.main", "-L", str(tmp_path / "lib"), "list", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["total"] == 4
    assert "blobs = " in (tmp_path / "lib" / "assetloom.toml").read_text()
    assert "SECRET" not in (tmp_path / "lib" / "assetloom.toml").read_text().upper()


def test_api_downloads_redirect_to_presigned_links(remote: tuple[str, str], tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from assetloom.accounts import AccountService, Role
    from assetloom.server.app import create_app

    catalog, blobs = remote
    photo = make_photo(tmp_path / "p.jpg", 801)
    with Library.create(tmp_path / "lib", catalog=catalog, blobs=blobs) as lib:
        asset_id = lib.add([photo]).added[0].asset_id
        service = AccountService.of(lib)
        service.add_user("ann", Role.VIEWER, None)
        _, token = service.create_token("ann", "test")
    with TestClient(create_app(tmp_path / "lib")) as client:
        headers = {"Authorization": f"Bearer {token}"}
        r = client.get(
            f"/api/v1/assets/{asset_id}/original", headers=headers, follow_redirects=False
        )
        assert r.status_code == 307 and r.headers["cache-control"] == "private"
        with urllib.request.urlopen(r.headers["location"], timeout=10) as got:
            assert got.read() == photo.read_bytes()
        thumb = client.get(
            f"/api/v1/assets/{asset_id}/thumbnail", headers=headers, follow_redirects=False
        )
        assert thumb.status_code == 307
        with urllib.request.urlopen(thumb.headers["location"], timeout=10) as got:
            assert got.read()[:4] == b"RIFF"


def test_init_refuses_a_database_that_holds_a_catalog_and_passwords(
    remote: tuple[str, str], tmp_path: Path
) -> None:
    from assetloom.errors import BadInputError, LibraryExistsError

    catalog, _ = remote
    Library.create(tmp_path / "one", catalog=catalog).close()
    with pytest.raises(LibraryExistsError, match="already holds an AssetLoom catalog"):
        Library.create(tmp_path / "two", catalog=catalog)
    assert not (tmp_path / "two" / "assetloom.toml").exists()
    with pytest.raises(BadInputError, match="holds a password"):
        Library.create(tmp_path / "three", catalog="postgresql://u:secret@127.0.0.1:1/x")
    with pytest.raises(BadInputError, match="not an S3 location"):
        Library.create(tmp_path / "four", blobs="/mnt/nas")


@pytest.mark.slow
def test_search_by_meaning_goes_through_pgvector(
    remote: tuple[str, str], tmp_path: Path, shared: Path, understanding: None
) -> None:
    catalog, blobs = remote
    lines = (shared / "data/flickr8k/dev.jsonl").read_text(encoding="utf-8").splitlines()[:12]
    items = [json.loads(line) for line in lines]
    with Library.create(tmp_path / "lib", catalog=catalog, blobs=blobs) as lib:
        lib.add([shared / "data/flickr8k" / item["image"] for item in items])
        assert lib.vector_spaces().sizes()["visual"] == 12  # rows pgvector searches
        found = 0
        for item in items:
            hits = lib.search(SearchQuery(text=item["captions_en"][0], limit=5))
            found += Path(item["image"]).name in [h.asset.original_name for h in hits]
            assert any(m["source"] == "visual" for h in hits for m in h.matched)
        assert found >= 10  # 12 here; chance would be about 5 of 12 in a top 5 of 12
        first = lib.list().assets[0]
        like = lib.search(SearchQuery(like=first.asset_id, limit=3))
        assert like and first.asset_id not in [h.asset.asset_id for h in like]
