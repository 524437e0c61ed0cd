"""`assetloom trash list|restore|empty`: what `rm` moved aside, and the only way (besides
the expiry) it is removed for good (app/trash.py). Changes go to the audit log."""

from __future__ import annotations

import typer
from rich.markup import escape

from assetloom.cli.audit import audited
from assetloom.cli.common import JsonOpt, emit_json, open_library, out, run

trash_app = typer.Typer(
    help="The trash: `rm` moves assets here; restore them, or empty it for good.",
    no_args_is_help=True,
)


@trash_app.command("list")
def trash_list(
    limit: int = typer.Option(100, min=1, help="How many to show."),
    offset: int = typer.Option(0, min=0, help="Skip this many first."),
    as_json: bool = JsonOpt,
) -> None:
    """What is in the trash, most recently removed first."""

    def body() -> None:
        from rich.table import Table

        from assetloom.app import trash

        with open_library() as lib:
            listed = trash.trash_list(lib, limit=limit, offset=offset)
        if as_json:
            emit_json(listed.to_json())
            return
        table = Table("id", "type", "name", "trashed", "removed for good after")
        for a in listed.assets:
            table.add_row(
                a.asset_id[:12],
                a.media_type,
                escape(a.original_name),
                a.trashed_at[:16].replace("T", " "),
                (a.purge_after or "never (until emptied)")[:21].replace("T", " "),
            )
        out.print(table)
        out.print(f"{len(listed.assets)} of {listed.total} in the trash")

    run(as_json, body)


@trash_app.command("restore")
def trash_restore(
    asset_ids: list[str] = typer.Argument(..., help="Asset ids (or unique prefixes)."),
    as_json: bool = JsonOpt,
) -> None:
    """Bring assets back from the trash, everywhere they were (collections, search, links)."""

    def body() -> None:
        from assetloom.app import trash

        with open_library() as lib, audited(lib, "trash.restore", _target(asset_ids)) as detail:
            restored = trash.restore(lib, asset_ids)
            detail.update(ids=[a.asset_id for a in restored.restored])
        if as_json:
            emit_json(restored.to_json())
        else:
            for a in restored.restored:
                out.print(f"restored {a.asset_id}  {a.original_name}", markup=False)

    run(as_json, body)


@trash_app.command("empty")
def trash_empty(
    expired: bool = typer.Option(
        False, "--expired", help="Only what has been in the trash longer than trash_days."
    ),
    asset_ids: list[str] = typer.Argument(
        None, help="Only these trashed assets (default: everything in the trash)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Remove trashed assets for good: blobs, thumbnails, index entries, and a removal leaf
    in the ledger for each (what `rm` did at once before the trash)."""

    def body() -> None:
        from assetloom.app import trash

        what = "expired" if expired else _target(asset_ids) if asset_ids else "all"
        with open_library() as lib, audited(lib, "trash.empty", what) as detail:
            emptied = trash.empty(lib, expired=expired, asset_ids=asset_ids or None)
            detail.update(ids=[a.asset_id for a in emptied.removed])
        if as_json:
            emit_json(emptied.to_json())
        else:
            for a in emptied.removed:
                out.print(f"removed {a.asset_id}  {a.original_name}", markup=False)
            out.print(f"{len(emptied.removed)} removed for good")

    run(as_json, body)


def _target(asset_ids: list[str]) -> str:
    """The audit log's target for a list of ids: the id, or how many."""
    return asset_ids[0] if len(asset_ids) == 1 else f"{len(asset_ids)} assets"
