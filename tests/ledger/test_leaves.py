"""Leaf payloads: canonical JSON an outsider can rebuild byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from assetloom.core.assets import Asset, Fingerprint, MediaType
from assetloom.errors import BadInputError
from assetloom.provenance import leaves


def test_register_leaf_is_canonical() -> None:
    data = leaves.register_leaf(
        asset_id="a1",
        sha256="ab" * 32,
        perceptual_hashes={"phash": "0f" * 8, "pdq": "ff" * 32},
        media_type="image",
        size=12345,
        registered_at=datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC),
    )
    assert data == (
        b'{"asset_id":"a1","media_type":"image","perceptual_hashes":{"pdq":"'
        + b"ff" * 32
        + b'","phash":"'
        + b"0f" * 8
        + b'"},"registered_at":"2026-01-02T03:04:05.000600Z","sha256":"'
        + b"ab" * 32
        + b'","size":12345,"type":"register"}'
    )
    assert leaves.parse_leaf(data)["asset_id"] == "a1"
    assert leaves.leaf_key(data) == ("register", "a1")


def test_times_are_utc_with_z() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert leaves.format_time(datetime(2026, 1, 2, 5, 0, tzinfo=plus2)) == "2026-01-02T03:00:00Z"
    assert leaves.format_time(datetime(2026, 1, 2, 3, 0)) == "2026-01-02T03:00:00Z"


def test_tombstone_and_asset_helper() -> None:
    asset = Asset(
        asset_id="a2",
        sha256="cd" * 32,
        media_type=MediaType.VIDEO,
        mime="video/mp4",
        size=9,
        original_name="x.mp4",
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),
        fingerprints=[Fingerprint("pdq", b"\x01"), Fingerprint("pdq", b"\x02")],
    )
    payload = leaves.parse_leaf(leaves.register_leaf_for(asset))
    assert payload["perceptual_hashes"] == {"pdq": ["01", "02"]}
    assert payload["media_type"] == "video"
    tomb = leaves.tombstone_leaf(asset_id="a2", sha256="cd" * 32, removed_at=asset.registered_at)
    assert leaves.parse_leaf(tomb) == {
        "asset_id": "a2",
        "removed_at": "2026-01-01T00:00:00Z",
        "sha256": "cd" * 32,
        "type": "tombstone",
    }


@pytest.mark.parametrize(
    "data", [b"not json", b"[1]", b'{"type":"other"}', b'{"type": "tombstone"}', b"\xff"]
)
def test_parse_rejects(data: bytes) -> None:
    with pytest.raises(BadInputError):
        leaves.parse_leaf(data)
    assert leaves.leaf_key(b"\x00raw") == (None, None)
