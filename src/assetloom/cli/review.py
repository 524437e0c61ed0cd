"""`assetloom review list|approve|reject`: what moderation flagged or quarantined.

Whoever runs these has the library folder, so they act as an admin (as `user` and `token`
do); each decision goes to the audit log as `cli:<login name>` from `local`.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from assetloom.cli.audit import cli_actor
from assetloom.cli.common import JsonOpt, emit_json, open_library, out, run

review_app = typer.Typer(
    help="Assets moderation flagged or quarantined: list them, approve or reject each.",
    no_args_is_help=True,
)
AssetArg = typer.Argument(..., help="Asset id or a unique prefix of it.")


@review_app.command("list")
def review_list(as_json: bool = JsonOpt) -> None:
    """Assets awaiting review, oldest first (quarantined ones are hidden everywhere else)."""

    def body() -> None:
        from rich.table import Table

        with open_library() as lib:
            queue = lib.review_queue()
        if as_json:
            emit_json(queue.to_json())
            return
        table = Table("id", "state", "nsfw", "type", "name", "registered")
        for item in queue.assets:
            table.add_row(
                item.asset_id[:12],
                item.state,
                "" if item.nsfw is None else f"{item.nsfw:.3f}",
                item.media_type,
                escape(item.original_name),
                item.registered_at[:16].replace("T", " "),
            )
        out.print(table)
        out.print(f"{len(queue.assets)} assets awaiting review")

    run(as_json, body)


def _decide(asset_id: str, action: str, as_json: bool) -> None:
    def body() -> None:
        from assetloom.accounts import AccountService

        with open_library() as lib:
            decided = lib.approve(asset_id) if action == "approve" else lib.reject(asset_id)
            AccountService.of(lib).record(
                cli_actor(),
                f"review.{action}",
                decided.asset_id,
                client="local",
                detail={"was": decided.was, "name": decided.original_name},
            )
        if as_json:
            emit_json(decided.to_json())
        else:
            out.print(
                f"{decided.decision} {decided.asset_id}  {decided.original_name}", markup=False
            )

    run(as_json, body)


@review_app.command("approve")
def review_approve(asset_id: str = AssetArg, as_json: bool = JsonOpt) -> None:
    """Approve an asset: visible again (if quarantined) and out of the queue."""
    _decide(asset_id, "approve", as_json)


@review_app.command("reject")
def review_reject(asset_id: str = AssetArg, as_json: bool = JsonOpt) -> None:
    """Reject an asset: removed as `rm` removes (a removal leaf goes to the ledger)."""
    _decide(asset_id, "reject", as_json)
