"""Ledger leaf payloads: RFC 8785 canonical JSON, so anyone can rebuild the exact bytes.

A registration leaf is
`{"type": "register", asset_id, sha256, perceptual_hashes: {kind: hex}, media_type, size,
registered_at}`; removing an asset appends `{"type": "tombstone", asset_id, sha256,
removed_at}` instead of changing history. Times are UTC ISO-8601 with a 'Z'. A kind with
several fingerprints (e.g. video key frames) maps to a list of hex strings, in stored order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import rfc8785

from assetloom.core.assets import Asset, Fingerprint
from assetloom.errors import BadInputError

REGISTER = "register"
TOMBSTONE = "tombstone"
_DECODER = json.JSONDecoder()


def format_time(moment: datetime) -> str:
    """UTC ISO-8601 with 'Z'; naive datetimes are taken as UTC (SQLite drops the zone)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def perceptual_hashes(fingerprints: Iterable[Fingerprint]) -> dict[str, str | list[str]]:
    """{kind: hex}, or {kind: [hex, ...]} where an asset has several of one kind."""
    grouped: dict[str, list[str]] = {}
    for fp in fingerprints:
        grouped.setdefault(fp.kind, []).append(fp.hex)
    return {kind: v[0] if len(v) == 1 else v for kind, v in grouped.items()}


def register_leaf(
    *,
    asset_id: str,
    sha256: str,
    perceptual_hashes: Mapping[str, str | Sequence[str]],
    media_type: str,
    size: int,
    registered_at: datetime,
) -> bytes:
    """Canonical bytes of a registration leaf."""
    return rfc8785.dumps(
        {
            "type": REGISTER,
            "asset_id": asset_id,
            "sha256": sha256,
            "perceptual_hashes": {
                k: v if isinstance(v, str) else list(v) for k, v in perceptual_hashes.items()
            },
            "media_type": media_type,
            "size": size,
            "registered_at": format_time(registered_at),
        }
    )


def register_leaf_for(asset: Asset) -> bytes:
    """The registration leaf of a catalog asset (all its fingerprints count as perceptual)."""
    return register_leaf(
        asset_id=asset.asset_id,
        sha256=asset.sha256,
        perceptual_hashes=perceptual_hashes(asset.fingerprints),
        media_type=str(asset.media_type),
        size=asset.size,
        registered_at=asset.registered_at,
    )


def tombstone_leaf(*, asset_id: str, sha256: str, removed_at: datetime) -> bytes:
    """Canonical bytes of a removal leaf."""
    return rfc8785.dumps(
        {
            "type": TOMBSTONE,
            "asset_id": asset_id,
            "sha256": sha256,
            "removed_at": format_time(removed_at),
        }
    )


def parse_leaf(data: bytes) -> dict[str, Any]:
    """Decode a leaf and check it is canonical and of a known type."""
    try:
        payload = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"ledger leaf is not JSON: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("type") not in (REGISTER, TOMBSTONE):
        raise BadInputError("ledger leaf is not a register or tombstone record")
    if rfc8785.dumps(payload) != data:
        raise BadInputError("ledger leaf is not in RFC 8785 canonical form")
    return payload


def leaf_key(data: bytes) -> tuple[str | None, str | None]:
    """(type, asset_id) of a leaf for indexing; (None, None) for any other payload.

    Called for every append and audited leaf, hence the cheaper raw decode.
    """
    if not data.startswith(b"{"):
        return None, None
    try:
        text = data.decode("utf-8")
        payload, end = _DECODER.raw_decode(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, None
    if end != len(text) or not isinstance(payload, dict):
        return None, None
    kind, asset_id = payload.get("type"), payload.get("asset_id")
    return (
        kind if isinstance(kind, str) else None,
        asset_id if isinstance(asset_id, str) else None,
    )


def leaf_differences(signed: bytes, implied: bytes) -> list[str]:
    """What a catalog-implied leaf says differently from the signed one, field by field,
    in words a user can act on ("registered_at is 2020-01-01T00:00:00Z in the catalog but
    2026-12-01T10:00:00Z in the signed leaf")."""
    try:
        ours, theirs = json.loads(signed), json.loads(implied)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ["the signed leaf is not JSON"]
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        return ["the signed leaf is not a JSON object"]
    found = []
    for key in sorted(ours.keys() | theirs.keys()):
        if ours.get(key) != theirs.get(key):
            found.append(
                f"{key} is {_short(theirs.get(key))} in the catalog but "
                f"{_short(ours.get(key))} in the signed leaf"
            )
    return found or ["the leaf bytes differ (not in RFC 8785 canonical form)"]


def _short(value: Any, limit: int = 80) -> str:
    text = "missing" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
