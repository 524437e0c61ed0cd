"""Moderation review: the queue of flagged and quarantined assets, and an admin's decision.

Ingest scores each picture (ingest/enrich/moderate.py); an asset at or over the library's
`moderation_threshold` starts "flagged" (visible, queued) or, under the quarantine policy,
"quarantined" (hidden from lists, counts, searches and similar: store/catalog.py). An admin
then approves it ("approved": visible, out of the queue) or rejects it, which removes it as
`rm` does (original, derived files, a removal leaf in the ledger): the library has no trash.
The interfaces record each decision in the audit log, as they do every other write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from assetloom.app.results import Shape, iso
from assetloom.core.assets import Asset
from assetloom.errors import BadInputError
from assetloom.store.catalog import SqlCatalog

FLAGGED, QUARANTINED, APPROVED = "flagged", "quarantined", "approved"
PENDING = (FLAGGED, QUARANTINED)


class NotUnderReviewError(BadInputError):
    code = "not_under_review"


class ReviewItemOut(Shape):
    asset_id: str
    original_name: str
    media_type: str
    registered_at: str
    state: str
    """"flagged" (visible) or "quarantined" (hidden until reviewed)."""
    nsfw: float | None
    model: str | None

    @classmethod
    def of(cls, asset: Asset, state: str) -> ReviewItemOut:
        found = asset.metadata.get("moderation")
        scored = found if isinstance(found, dict) else {}
        return cls(
            asset_id=asset.asset_id,
            original_name=asset.original_name,
            media_type=asset.media_type.value,
            registered_at=iso(asset.registered_at),
            state=state,
            nsfw=scored.get("nsfw"),
            model=scored.get("model"),
        )


class ReviewQueueOut(Shape):
    """`review list --json` and `GET /api/v1/review`: oldest first."""

    assets: list[ReviewItemOut]


class ReviewDecisionOut(Shape):
    """`review approve|reject --json` and `POST /api/v1/review/{id}/approve|reject`."""

    asset_id: str
    original_name: str
    decision: Literal["approved", "rejected"]
    was: str
    """The state it was in: "flagged" or "quarantined"."""


def review_queue(catalog: SqlCatalog) -> ReviewQueueOut:
    return ReviewQueueOut(
        assets=[ReviewItemOut.of(a, state) for a, state in catalog.in_review(PENDING)]
    )


def approve(catalog: SqlCatalog, asset_id: str) -> ReviewDecisionOut:
    """Make a flagged or quarantined asset (id or unique prefix) an approved one."""
    with catalog.unit_of_work() as uow:
        asset, was = uow.set_review(asset_id, APPROVED, only_from=PENDING)
    if was is None or was not in PENDING:
        raise _not_pending(asset, was)
    return ReviewDecisionOut(
        asset_id=asset.asset_id, original_name=asset.original_name, decision="approved", was=was
    )


def reject(catalog: SqlCatalog, asset_id: str, remove: Callable[[str], Asset]) -> ReviewDecisionOut:
    """Remove a flagged or quarantined asset with `remove` (the library's `rm`)."""
    asset = catalog.get(asset_id)
    was = catalog.review_state(asset.asset_id)
    if was is None or was not in PENDING:
        raise _not_pending(asset, was)
    remove(asset.asset_id)
    return ReviewDecisionOut(
        asset_id=asset.asset_id, original_name=asset.original_name, decision="rejected", was=was
    )


def _not_pending(asset: Asset, state: str | None) -> NotUnderReviewError:
    why = "was approved already" if state == APPROVED else "was never flagged by moderation"
    return NotUnderReviewError(
        f"asset {asset.asset_id} is not awaiting review: it {why}",
        hint="`assetloom review list` shows the assets awaiting review",
    )
