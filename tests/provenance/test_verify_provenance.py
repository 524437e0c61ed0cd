"""`verify` knows what the studio made: by its C2PA manifest while the file keeps it, and by
the watermark once a re-encode or crop has stripped the manifest."""

from __future__ import annotations

import io
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from assetloom.accounts import AccountService, Role
from assetloom.api.config import ServerSettings
from assetloom.app.library import Library
from assetloom.app.provenance import sign_output, watermark_output
from assetloom.provenance.c2pa import COMPOSITE, Ingredient, ManifestSpec
from assetloom.provenance.credentials import C2PA_DIR
from assetloom.server.app import create_app
from tests.cli_run import cli

UKBENCH = "data/nearduplicate/imagededup-tests/tests/data/base_images"


@dataclass
class Made:
    root: Path
    asset_id: str
    parent_id: str
    signed: Path
    """The output as the studio stores it: watermarked, then signed."""
    reencoded: Path
    """A cropped, re-encoded copy: no manifest any more."""
    tampered: Path
    """The signed file with one byte changed."""
    unrelated: Path


@pytest.fixture(scope="module")
def made(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Made:
    folder = tmp_path_factory.mktemp("studio")
    photos = sorted((shared / UKBENCH).glob("*.jpg"))
    asset_id = uuid.UUID(int=0x2B7E151628AED2A6ABF7158809CF4F3C).hex  # fixed: same bits each run
    with Library.create(folder / "lib") as lib:
        parent = lib.add([photos[2]]).added[0].asset_id
        marked = watermark_output(lib, Image.open(photos[0]), asset_id)
        encoded = io.BytesIO()
        marked.save(encoded, "JPEG", quality=92)
        spec = ManifestSpec(
            title="hero.jpg",
            source_type=COMPOSITE,
            backend="compose",
            model="layout-v1",
            asset_id=asset_id,
            ingredients=[Ingredient(parent, "subject", photos[2].name, "0" * 64, "image/jpeg")],
        )
        signed = folder / "hero.jpg"
        signed.write_bytes(sign_output(lib, encoded.getvalue(), "image/jpeg", spec))
        report = lib.add([signed], ids={signed: asset_id})
        assert [a.asset_id for a in report.added] == [asset_id]
    w, h = marked.size
    reencoded = folder / "reposted.jpg"
    Image.open(signed).crop((w // 20, h // 20, w - w // 20, h - h // 20)).save(
        reencoded, "JPEG", quality=80
    )
    tampered = folder / "tampered.jpg"
    data = bytearray(signed.read_bytes())
    data[-5000] ^= 0xFF
    tampered.write_bytes(bytes(data))
    unrelated = folder / "unrelated.jpg"
    shutil.copy(photos[1], unrelated)
    return Made(folder / "lib", asset_id, parent, signed, reencoded, tampered, unrelated)


def test_verify_json_shows_the_manifest_and_the_watermark(made: Made, tmp_path: Path) -> None:
    done = cli(
        "verify",
        "--json",
        str(made.signed),
        str(made.reencoded),
        str(made.tampered),
        str(made.unrelated),
        library=made.root,
        home=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    signed, reencoded, tampered, unrelated = json.loads(done.stdout)["results"]

    assert signed["tier"] == "exact" and signed["matches"][0]["asset_id"] == made.asset_id
    assert signed["c2pa"] == {
        "state": "Trusted",
        "asset_id": made.asset_id,
        "source_type": COMPOSITE,
    }
    assert signed["watermark"]["asset_id"] == made.asset_id
    # This photo's flat areas hold the mark less well than most (28 to 31 of 32 bits after
    # JPEG q92, by payload); with one watermarked asset, 26 suffice (6 wrong: chance 2.7e-4).
    assert signed["watermark"]["bits_ok"] >= 28 / 32

    # Re-encoded and cropped: the manifest is gone, the watermark still names the asset.
    assert "c2pa" not in reencoded
    assert reencoded["watermark"]["asset_id"] == made.asset_id
    assert reencoded["watermark"]["chance"] < 1e-3

    assert tampered["c2pa"]["state"] == "Invalid"
    assert tampered["c2pa"]["problems"] == ["assertion.dataHash.mismatch"]

    # A photo we never marked: no manifest, and the watermark names nothing.
    assert "c2pa" not in unrelated
    assert "asset_id" not in unrelated["watermark"] and unrelated["watermark"]["bits_ok"] < 0.9


def test_verify_prints_both(made: Made, tmp_path: Path) -> None:
    done = cli("verify", str(made.signed), str(made.reencoded), library=made.root, home=tmp_path)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert f"C2PA manifest: Trusted names asset {made.asset_id[:12]}" in text
    assert text.count(f"watermark: asset {made.asset_id[:12]} (") == 2


def test_the_api_returns_them(made: Made) -> None:
    with Library.open(made.root) as lib:
        accounts = AccountService.of(lib)
        accounts.add_user("viewer", Role.VIEWER, "correct horse battery")
        token = accounts.create_token("viewer", "tests")[1]
    with TestClient(create_app(made.root, ServerSettings())) as client:
        r = client.post(
            "/api/v1/verify",
            headers={"Authorization": f"Bearer {token}"},
            files=[("files", ("suspect.jpg", made.reencoded.read_bytes(), "image/jpeg"))],
        )
    assert r.status_code == 200, r.text
    (result,) = r.json()["results"]
    assert result["file"] == "suspect.jpg" and "c2pa" not in result
    assert result["watermark"]["asset_id"] == made.asset_id


def test_a_library_that_watermarked_nothing_keeps_its_verify_shape(
    made: Made, library: Library
) -> None:
    photo = library.root.parent / "photo.jpg"
    shutil.copy(made.unrelated, photo)
    plain, signed = (r.to_json() for r in library.verify([photo, made.signed]))
    assert set(plain) == {"file", "tier", "matches"}  # as before C2PA and watermarks
    # Another library's manifest: the signature holds, but we do not vouch for its signer;
    # no watermark is read here ("auto": this library watermarked nothing).
    assert signed["c2pa"]["state"] == "Valid" and "watermark" not in signed

    library.settings = library.settings.model_copy(update={"verify_watermarks": "always"})
    (always,) = library.verify([made.signed])
    assert always.watermark is not None and always.watermark.bits_ok is None
    assert len(always.watermark.bits) == 8


def test_never_reads_no_watermark_and_a_chainless_library_trusts_nothing(made: Made) -> None:
    with Library.open(made.root) as lib:
        lib.settings = lib.settings.model_copy(update={"verify_watermarks": "never"})
        (result,) = lib.verify([made.signed])
        assert result.watermark is None
        assert result.c2pa is not None and result.c2pa.state == "Trusted"
    copy = made.root.parent / "chainless"
    shutil.copytree(made.root, copy)
    shutil.rmtree(copy / "keys" / C2PA_DIR)
    with Library.open(copy) as lib:
        (result,) = lib.verify([made.signed])
        assert result.c2pa is not None and result.c2pa.state == "Valid"
        assert result.watermark is not None and result.watermark.asset_id == made.asset_id
    assert not (copy / "keys" / C2PA_DIR).exists()  # verify never makes a chain
