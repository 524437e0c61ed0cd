"""Where the library tells the provenance log about registrations and removals.

Kept in one place so the ingest pipeline and `rm` stay free of ledger details. Leaves are
appended in the caller's transaction: an asset is never registered without its leaf.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from assetloom.provenance.leaves import register_leaf_for, tombstone_leaf
from assetloom.provenance.log_store import SqlLedger

if TYPE_CHECKING:
    from assetloom.core.assets import Asset

_store = SqlLedger()


def new_origin() -> str:
    """A log origin unique to this library (C2SP checkpoints name their log by origin)."""
    return f"assetloom.local/{uuid.uuid4().hex[:16]}"


def on_library_created(keys_dir: Path, origin: str) -> None:
    from assetloom.provenance.ledger_service import LedgerService

    LedgerService.create_key(keys_dir, origin)


def on_assets_registered(s: Session, assets: list[Asset]) -> None:
    """Append the registration leaves of new assets in the transaction that adds them."""
    if assets:
        _store.append_many(s, [register_leaf_for(a) for a in assets])


def on_asset_removed(s: Session, asset: Asset) -> None:
    _store.append(
        s,
        tombstone_leaf(asset_id=asset.asset_id, sha256=asset.sha256, removed_at=datetime.now(UTC)),
    )
