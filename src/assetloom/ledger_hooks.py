"""Where the library tells the provenance log about registrations and removals.

Kept in one place so the ingest pipeline and `rm` stay free of ledger details.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from assetloom.core.assets import Asset
    from assetloom.library import Library
    from assetloom.store.schema import AssetRow


def on_library_created(lib: Library) -> None:
    """Create the ledger signing key."""


def on_assets_registered(lib: Library, s: Session, rows: list[AssetRow]) -> None:
    """Append one leaf per new asset, in the caller's transaction."""


def on_asset_removed(lib: Library, s: Session, asset: Asset) -> None:
    """Append a tombstone leaf, in the caller's transaction."""
