"""`assetloom collection create|rename|move|cover|add|remove|list|show|delete`: albums.

Every change is written to the audit log as `cli:<login>` from `local` (cli/audit.py).
"""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape

from assetloom.cli.audit import audited, cli_actor
from assetloom.cli.common import JsonOpt, emit_json, open_library, out, run
from assetloom.core.assets import MediaType

collection_app = typer.Typer(
    help="Collections (albums): hand-picked and ordered, or smart ones from a saved search.",
    no_args_is_help=True,
)
NameArg = typer.Argument(..., help="The collection's name.")
IdsArg = typer.Argument(..., help="Asset ids (or unique prefixes), in the order wanted.")


@collection_app.command("create")
def collection_create(
    name: str = NameArg,
    query: str | None = typer.Option(
        None, "--query", "-q", help="A smart collection: its members are this search's results."
    ),
    tags: list[str] = typer.Option([], "--tag", help="Smart: only assets with this tag."),
    media_type: MediaType | None = typer.Option(None, "--type", help="Smart: only this type."),
    parent: str | None = typer.Option(None, "--in", help="Put it inside this collection."),
    description: str = typer.Option("", "--description", help="What it is for."),
    as_json: bool = JsonOpt,
) -> None:
    """Make a collection; with --query, --tag or --type a smart one (a saved search)."""

    def body() -> None:
        from assetloom.app import collections

        smart = query is not None or bool(tags) or media_type is not None
        saved = (
            collections.SavedSearch(
                text=query, tags=tags, media_type=media_type.value if media_type else None
            )
            if smart
            else None
        )
        with open_library() as lib, audited(lib, "collection.create", name) as detail:
            made = collections.create(
                lib, name, by=cli_actor(), parent=parent, query=saved, description=description
            )
            detail.update(parent=made.parent, query=made.query)
        if as_json:
            emit_json(made.to_json())
        else:
            kind = "smart collection" if made.smart else "collection"
            out.print(f"created {kind} {made.name}", markup=False)

    run(as_json, body)


@collection_app.command("rename")
def collection_rename(
    name: str = NameArg,
    new_name: str = typer.Argument(..., help="Its new name."),
    as_json: bool = JsonOpt,
) -> None:
    """Rename a collection (its share links keep working)."""
    _update(name, as_json, "collection.rename", new_name=new_name)


@collection_app.command("move")
def collection_move(
    name: str = NameArg,
    parent: str | None = typer.Option(
        None, "--in", help="The collection to put it in; leave out to move it to the top."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Put a collection inside another (one level deep), or back at the top."""
    _update(name, as_json, "collection.move", parent=parent, move=True)


@collection_app.command("cover")
def collection_cover(
    name: str = NameArg,
    asset_id: str | None = typer.Argument(None, help="One of its items; leave out: the first."),
    as_json: bool = JsonOpt,
) -> None:
    """Choose the item shown as the collection's cover."""
    _update(name, as_json, "collection.cover", cover=asset_id, set_cover=True)


@collection_app.command("order")
def collection_order(
    name: str = NameArg, asset_ids: list[str] = IdsArg, as_json: bool = JsonOpt
) -> None:
    """Move these items (full ids) to the front, in this order; the rest keep theirs."""
    _update(name, as_json, "collection.order", order=asset_ids)


def _update(name: str, as_json: bool, action: str, **change: Any) -> None:
    def body() -> None:
        from assetloom.app import collections

        with open_library() as lib, audited(lib, action, name) as detail:
            changed = collections.update(lib, name, **change)
            detail.update({k: v for k, v in change.items() if k != "set_cover"})
        if as_json:
            emit_json(changed.to_json())
        else:
            out.print(f"{action.split('.')[1]}: {changed.name}", markup=False)

    run(as_json, body)


@collection_app.command("add")
def collection_add(
    name: str = NameArg, asset_ids: list[str] = IdsArg, as_json: bool = JsonOpt
) -> None:
    """Add assets to a collection (one transaction, up to 10,000 ids)."""

    def body() -> None:
        from assetloom.app import collections

        with open_library() as lib, audited(lib, "collection.add", name) as detail:
            changed = collections.add(lib, name, asset_ids)
            detail.update(ids=len(asset_ids), added=changed.added)
        if as_json:
            emit_json(changed.to_json())
        else:
            out.print(
                f"{changed.added} added to {changed.collection} ({changed.already} already in it; "
                f"{changed.items} items)",
                markup=False,
            )

    run(as_json, body)


@collection_app.command("remove")
def collection_remove(
    name: str = NameArg, asset_ids: list[str] = IdsArg, as_json: bool = JsonOpt
) -> None:
    """Take assets out of a collection (they stay in the library)."""

    def body() -> None:
        from assetloom.app import collections

        with open_library() as lib, audited(lib, "collection.remove", name) as detail:
            changed = collections.remove(lib, name, asset_ids)
            detail.update(ids=len(asset_ids), removed=changed.removed)
        if as_json:
            emit_json(changed.to_json())
        else:
            out.print(
                f"{changed.removed} removed from {changed.collection} ({changed.items} items)",
                markup=False,
            )

    run(as_json, body)


@collection_app.command("delete")
def collection_delete(name: str = NameArg, as_json: bool = JsonOpt) -> None:
    """Delete a collection and its share links; its assets stay in the library."""

    def body() -> None:
        from assetloom.app import collections

        with open_library() as lib, audited(lib, "collection.delete", name):
            gone = collections.delete(lib, name)
        if as_json:
            emit_json(gone.to_json())
        else:
            out.print(f"deleted collection {gone.name}", markup=False)

    run(as_json, body)


@collection_app.command("list")
def collection_list(as_json: bool = JsonOpt) -> None:
    """Every collection, those inside another under it."""

    def body() -> None:
        from rich.table import Table

        from assetloom.app import collections

        with open_library() as lib:
            listed = collections.list_all(lib)
        if as_json:
            emit_json(listed.to_json())
            return
        table = Table("name", "items", "kind", "created by")
        for c in listed.collections:
            shown = f"  └ {c.name}" if c.parent else c.name
            kind = "smart: " + _describe(c.query or {}) if c.smart else ""
            items = "" if c.items is None else str(c.items)
            table.add_row(escape(shown), items, escape(kind), escape(c.created_by))
        out.print(table)
        out.print(f"{len(listed.collections)} collections")

    run(as_json, body)


@collection_app.command("show")
def collection_show(
    name: str = NameArg,
    limit: int = typer.Option(100, min=1, help="How many items to show."),
    offset: int = typer.Option(0, min=0, help="Skip this many first."),
    as_json: bool = JsonOpt,
) -> None:
    """A collection's items in order (a smart one's: its search's results now)."""

    def body() -> None:
        from rich.table import Table

        from assetloom.app import collections

        with open_library() as lib:
            shown = collections.show(lib, name, limit=limit, offset=offset)
        if as_json:
            emit_json(shown.to_json())
            return
        out.print(f"{shown.name}: {shown.total} items", markup=False)
        table = Table("id", "type", "name")
        for a in shown.assets:
            table.add_row(a.asset_id[:12], a.media_type, escape(a.original_name))
        out.print(table)

    run(as_json, body)


def _describe(query: dict[str, Any]) -> str:
    parts = [f'"{query["text"]}"'] if query.get("text") else []
    parts += [f"tag {t}" for t in query.get("tags") or []]
    if query.get("media_type"):
        parts.append(str(query["media_type"]))
    return ", ".join(parts)
