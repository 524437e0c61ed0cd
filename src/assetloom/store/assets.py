"""Catalog rows <-> domain assets."""

from __future__ import annotations

from datetime import UTC

from assetloom.core.assets import Asset, Fingerprint, MediaType
from assetloom.store.schema import AssetRow


def to_asset(row: AssetRow) -> Asset:
    registered = row.registered_at
    if registered.tzinfo is None:
        registered = registered.replace(tzinfo=UTC)
    return Asset(
        asset_id=row.asset_id,
        sha256=row.sha256,
        media_type=MediaType(row.media_type),
        mime=row.mime,
        size=row.size,
        original_name=row.original_name,
        registered_at=registered,
        width=row.width,
        height=row.height,
        metadata=dict(row.metadata_json or {}),
        fingerprints=[Fingerprint(f.kind, f.value, f.quality) for f in row.fingerprints],
        source=row.source_path,
    )
