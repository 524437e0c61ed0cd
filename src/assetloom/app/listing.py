"""`list --json` and `GET /api/v1/assets`: one page of the library as a document.

The query, cursors and date bounds are rules every interface shares (`core.listing`); the
SQL that pages through the (registered_at, asset_id) index is the catalog's.
"""

from __future__ import annotations

from assetloom.app.results import AssetListOut, AssetOut
from assetloom.core.listing import ListPage, ListQuery


def list_result(page: ListPage, total: int, q: ListQuery) -> AssetListOut:
    return AssetListOut(
        total=total,
        offset=q.offset,
        next_cursor=page.next_cursor,
        assets=[AssetOut.of(a) for a in page.assets],
    )
