"""C2PA manifests on outputs: signed, read back offline, judged against the library's root."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetloom.errors import BadInputError, UnsupportedMediaError
from assetloom.provenance import c2pa, credentials
from assetloom.provenance.c2pa import COMPOSITE, TRAINED, Ingredient, ManifestSpec
from tests.media import make_photo

ASSET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PARENTS = (
    Ingredient("a" * 32, "subject", "product.jpg", "1" * 64, "image/jpeg"),
    Ingredient("b" * 32, "style", "mood board.png", "2" * 64, "image/png"),
)


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> credentials.Credentials:
    return credentials.create(tmp_path_factory.mktemp("keys"), "assetloom.local/test")


def _spec(**changes: object) -> ManifestSpec:
    fields: dict[str, object] = {
        "title": "campaign hero.jpg",
        "source_type": COMPOSITE,
        "backend": "diffusers",
        "model": "sd-turbo",
        "asset_id": ASSET,
        "ingredients": PARENTS,
        "recipe_digest": "c" * 64,
    }
    fields.update(changes)
    return ManifestSpec(**fields)  # type: ignore[arg-type]


def _image(tmp_path: Path, fmt: str) -> bytes:
    return make_photo(tmp_path / f"out.{fmt.lower()}", 7, (320, 240), fmt).read_bytes()


def _mp4() -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as box:
        stream = box.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), i * 20, np.uint8), "rgb24")
            for packet in stream.encode(frame):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "MP4"])
def test_signed_output_is_valid_trusted_by_our_root_and_invalid_once_edited(
    tmp_path: Path, creds: credentials.Credentials, fmt: str
) -> None:
    media_type = {"JPEG": "image/jpeg", "PNG": "image/png", "MP4": "video/mp4"}[fmt]
    data = _mp4() if fmt == "MP4" else _image(tmp_path, fmt)
    signed = c2pa.sign(data, media_type, _spec(), creds)

    anyone = c2pa.read(signed, media_type)
    assert anyone is not None and anyone.state == "Valid"  # sound signature, unknown signer
    ours = c2pa.read(signed, media_type, creds.root_pem)
    assert ours is not None and ours.state == "Trusted"
    assert ours.asset_id == ASSET and ours.title == "campaign hero.jpg"
    assert ours.source_type == COMPOSITE and ours.generator == "sd-turbo"
    assert ours.signer == "AssetLoom C2PA signer" and ours.problems == []

    # Another library's root does not vouch for ours.
    stranger = credentials.issue("another library").root_pem
    other = c2pa.read(signed, media_type, stranger)
    assert other is not None and other.state == "Valid"

    edited = bytearray(signed)
    edited[-(len(data) // 3)] ^= 0xFF  # one byte of the signed content, not of the manifest
    broken = c2pa.read(bytes(edited), media_type, creds.root_pem)
    assert broken is not None and broken.state == "Invalid"
    hashed = "assertion.bmffHash.mismatch" if fmt == "MP4" else "assertion.dataHash.mismatch"
    assert broken.problems == [hashed]  # the content hash, not "untrusted": that is no fault


def test_ingredients_name_the_parents_without_their_files(
    tmp_path: Path, creds: credentials.Credentials
) -> None:
    signed = c2pa.sign(_image(tmp_path, "JPEG"), "image/jpeg", _spec(), creds)
    report = c2pa.read(signed, "image/jpeg", creds.root_pem)
    assert report is not None and report.state == "Trusted"
    assert report.ingredients == [
        {
            "title": "product.jpg",
            "relationship": "componentOf",  # placed into the composite
            "asset_id": "a" * 32,
            "role": "subject",
            "sha256": "1" * 64,
        },
        {
            "title": "mood board.png",
            "relationship": "inputTo",  # a style only steers the model
            "asset_id": "b" * 32,
            "role": "style",
            "sha256": "2" * 64,
        },
    ]
    generated = c2pa.sign(
        _image(tmp_path, "PNG"), "image/png", _spec(source_type=TRAINED, ingredients=()), creds
    )
    plain = c2pa.read(generated, "image/png", creds.root_pem)
    assert plain is not None and plain.source_type == TRAINED and plain.ingredients == []


def test_unsigned_and_re_encoded_files_have_no_manifest(
    tmp_path: Path, creds: credentials.Credentials
) -> None:
    data = _image(tmp_path, "JPEG")
    assert c2pa.read(data, "image/jpeg", creds.root_pem) is None
    signed = c2pa.sign(data, "image/jpeg", _spec(), creds)
    again = io.BytesIO()
    Image.open(io.BytesIO(signed)).save(again, "JPEG", quality=85)
    assert c2pa.read(again.getvalue(), "image/jpeg", creds.root_pem) is None


def test_bad_requests_are_clear_errors(tmp_path: Path, creds: credentials.Credentials) -> None:
    with pytest.raises(UnsupportedMediaError, match="not image/gif"):
        c2pa.sign(b"GIF89a", "image/gif", _spec(), creds)
    with pytest.raises(BadInputError, match="digital source type"):
        _spec(source_type="digitalCapture")
    with pytest.raises(BadInputError, match="needs a model"):
        _spec(model="")
    with pytest.raises(c2pa.C2paError, match="could not sign"):
        c2pa.sign(b"not a jpeg at all", "image/jpeg", _spec(), creds)
