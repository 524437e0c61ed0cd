"""The trash: `rm` moves assets here (`assets.trashed_at`), `restore` brings them back, and
only emptying it removes them for good (blobs, derived files, index rows, the ledger's
removal leaf), as `rm` used to at once.

A trashed asset keeps every row (fingerprints, vectors, tags, keyword row, collection items,
share links) and its entries in the in-memory indexes, so moving 10,000 assets either way is
one UPDATE per 500 ids and restoring needs no re-indexing. Reads hide it instead, through
`store.catalog.visible` (lists, counts, searches, similar, collections, share links) and
`CopyFinder` (verify, copies, duplicates), the way moderation's quarantine hides assets.

Expiry: assets trashed more than `trash_days` ago are removed by `trash empty --expired`
(`DELETE /api/v1/trash?expired=true`) and by the server's periodic sweep; nothing removes
them as a side effect of opening the library, so a read never deletes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import Field

from assetloom.app.results import AssetOut, RemovedOut, Shape, TrashedOut, iso
from assetloom.core.assets import Asset
from assetloom.errors import BadInputError

if TYPE_CHECKING:
    from assetloom.app.library import Library

MAX_IDS = 10_000
"""Ids one bulk call takes (the API contract's limit, one transaction each)."""
RESTORE_PATH = "/api/v1/trash/restore"


class TrashedAssetOut(AssetOut):
    trashed_at: str
    purge_after: str | None


class TrashListOut(Shape):
    """`trash list --json` and `GET /api/v1/trash`."""

    total: int
    keep_days: float = Field(description="trash_days: how long an asset stays; 0: until emptied")
    assets: list[TrashedAssetOut]


class RestoredOut(Shape):
    """`trash restore --json` and `POST /api/v1/trash/restore`."""

    restored: list[RemovedOut.Item]


def check_ids(ids: Sequence[str]) -> list[str]:
    """The ids of one bulk call: at least one, at most MAX_IDS."""
    if not ids:
        raise BadInputError("no asset ids given")
    if len(ids) > MAX_IDS:
        raise BadInputError(
            f"{len(ids)} ids in one call; at most {MAX_IDS}", hint="send them in several calls"
        )
    return list(ids)


def move_to_trash(lib: Library, asset_ids: Sequence[str]) -> TrashedOut:
    """Hide these assets everywhere until restored or purged (one transaction)."""
    at = _now()
    trashed = lib.organise.trash(check_ids(asset_ids), at=at)
    return TrashedOut(
        removed=[_item(a) for a in trashed],
        trashed_at=iso(at),
        purge_after=_purge_after(lib, at),
        restore={"method": "POST", "path": RESTORE_PATH, "ids": [a.asset_id for a in trashed]},
    )


def restore(lib: Library, asset_ids: Sequence[str]) -> RestoredOut:
    """Bring trashed assets back everywhere (their rows and index entries never left)."""
    restored = lib.organise.restore(check_ids(asset_ids))
    return RestoredOut(restored=[_item(a) for a in restored])


def trash_list(lib: Library, *, limit: int = 100, offset: int = 0) -> TrashListOut:
    if limit < 1 or offset < 0:
        raise BadInputError("limit must be at least 1 and offset not negative")
    total, rows = lib.organise.trashed(limit=limit, offset=offset)
    return TrashListOut(
        total=total,
        keep_days=lib.settings.trash_days,
        assets=[
            TrashedAssetOut.of(a, trashed_at=iso(at), purge_after=_purge_after(lib, at))
            for a, at in rows
        ],
    )


def empty(
    lib: Library, *, expired: bool = False, asset_ids: Sequence[str] | None = None
) -> RemovedOut:
    """Remove trashed assets for good: all of them, those past `trash_days` (`expired`), or
    these (which must be in the trash). Each goes as `rm` used to remove: its blob and derived
    files once no asset uses them, its index rows, and a removal leaf in the ledger."""
    if asset_ids is not None:
        ids = [a.asset_id for a in lib.organise.trashed_assets(check_ids(asset_ids))]
    elif expired:
        days = lib.settings.trash_days
        if days <= 0:
            return RemovedOut(removed=[])
        _, rows = lib.organise.trashed(before=_now() - timedelta(days=days))
        ids = [a.asset_id for a, _ in rows]
    else:
        _, rows = lib.organise.trashed()
        ids = [a.asset_id for a, _ in rows]
    return RemovedOut.of([lib.remove(a) for a in ids])


def trashed_asset(lib: Library, asset_id: str) -> Asset:
    """An asset in the trash (the trash page shows its thumbnail); not found otherwise."""
    return lib.organise.trashed_assets([asset_id])[0]


def _item(a: Asset) -> RemovedOut.Item:
    return RemovedOut.Item(asset_id=a.asset_id, original_name=a.original_name)


def _purge_after(lib: Library, at: datetime) -> str | None:
    days = lib.settings.trash_days
    return iso(at + timedelta(days=days)) if days > 0 else None


def _now() -> datetime:
    return datetime.now(UTC)
