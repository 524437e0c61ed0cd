"""`assetloom meta show|set|history`, `meta field add|list`, `tag add|remove|reject` and
`export`: editing what an asset says about itself, tags by hand, and XMP write-back.

Every write goes to the audit log as `cli:<login name>` from `local` (cli/audit.py) and is
versioned in the asset's history under the same name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from assetloom.cli.audit import audited, cli_actor
from assetloom.cli.common import JsonOpt, emit_json, open_library, out, run
from assetloom.errors import BadInputError

meta_app = typer.Typer(
    help="Edit an asset's title, description, keywords, rights, rating, status, custom fields.",
    no_args_is_help=True,
)
field_app = typer.Typer(help="Custom metadata fields of this library.", no_args_is_help=True)
meta_app.add_typer(field_app, name="field")
tag_app = typer.Typer(
    help="Tags by hand: add or remove on assets, reject an auto-tag for good.",
    no_args_is_help=True,
)
AssetArg = typer.Argument(..., help="Asset id or a unique prefix of it.")
AssetsArg = typer.Argument(..., help="Asset ids (or unique prefixes).")
_LIST_SPLIT = re.compile(r"\s*[,，、]\s*")


def _list(value: str) -> list[str]:
    """`a, b，c` -> [a, b, c] (Chinese commas too)."""
    return [v for v in _LIST_SPLIT.split(value.strip()) if v]


@meta_app.command("show")
def meta_show(asset_id: str = AssetArg, as_json: bool = JsonOpt) -> None:
    """The asset's editable metadata (what was edited, else what its file says)."""

    def body() -> None:
        with open_library() as lib:
            meta = lib.metadata([asset_id])[0]
        if as_json:
            emit_json(meta.to_json())
            return
        _print_meta(meta.to_json())

    run(as_json, body)


def _print_meta(doc: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table("field", "value", show_header=False)
    edited = set(doc["edited"])
    for key in ("title", "description", "keywords", "creator", "copyright", "licence"):
        value = doc[key]
        shown = ", ".join(value) if isinstance(value, list) else value
        table.add_row(key + (" *" if key in edited else ""), escape(shown))
    usage = doc["usage"]
    table.add_row("usage.expires", usage["expires"] or "")
    table.add_row("usage.channels", escape(", ".join(usage["channels"])))
    table.add_row("usage.approved_for", escape(", ".join(usage["approved_for"])))
    table.add_row("rating", "" if doc["rating"] is None else "★" * doc["rating"] or "0")
    table.add_row("status", doc["status"] or "")
    for name, value in sorted(doc["fields"].items()):
        table.add_row(f"fields.{name}", escape(str(value)))
    tags = [t["key"] + ("" if t["source"] != "manual" else " (manual)") for t in doc["tags"]]
    table.add_row("tags", escape(", ".join(tags)))
    if doc["rejected_tags"]:
        table.add_row("rejected tags", escape(", ".join(doc["rejected_tags"])))
    out.print(f"{doc['asset_id']}  {escape(doc['original_name'])}")
    out.print(table)
    if doc["updated_at"]:
        out.print(f"* edited; last by {escape(doc['updated_by'] or '')} at {doc['updated_at']}")


@meta_app.command("set")
def meta_set(
    asset_ids: list[str] = AssetsArg,
    title: str | None = typer.Option(None, "--title"),
    description: str | None = typer.Option(None, "--description"),
    keywords: str | None = typer.Option(None, "--keywords", help="Comma-separated: a,b,c."),
    creator: str | None = typer.Option(None, "--creator"),
    copyright: str | None = typer.Option(None, "--copyright"),
    licence: str | None = typer.Option(None, "--licence", help="Licence name or URL."),
    expires: str | None = typer.Option(None, "--expires", help="Usage rights end (YYYY-MM-DD)."),
    channels: str | None = typer.Option(None, "--channels", help="Comma-separated: web,print."),
    approved_for: str | None = typer.Option(
        None, "--approved-for", help='Comma-separated "approved for" labels.'
    ),
    rating: int | None = typer.Option(None, "--rating", help="0 to 5 stars."),
    status: str | None = typer.Option(
        None, "--status", help="draft, in_review, approved or archived."
    ),
    fields: list[str] = typer.Option(
        [], "--field", help="A custom field: NAME=VALUE (NAME= clears it); repeatable."
    ),
    reset: list[str] = typer.Option(
        [],
        "--reset",
        help="Back to what the file says (texts) or unset (rating, status, usage); repeatable.",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Set metadata on one or many assets (one transaction; each change versioned)."""

    def body() -> None:
        patch: dict[str, Any] = {}
        for key, value in (
            ("title", title),
            ("description", description),
            ("creator", creator),
            ("copyright", copyright),
            ("licence", licence),
            ("rating", rating),
            ("status", status),
        ):
            if value is not None:
                patch[key] = value
        if keywords is not None:
            patch["keywords"] = _list(keywords)
        usage: dict[str, Any] = {}
        if expires is not None:
            usage["expires"] = expires or None
        if channels is not None:
            usage["channels"] = _list(channels)
        if approved_for is not None:
            usage["approved_for"] = _list(approved_for)
        if usage:
            patch["usage"] = usage
        if fields:
            patch["fields"] = {}
            for item in fields:
                name, eq, value = item.partition("=")
                if not eq or not name.strip():
                    raise BadInputError(f"--field {item!r} is not NAME=VALUE")
                patch["fields"][name.strip()] = value if value != "" else None
        for key in reset:
            if key in patch:
                raise BadInputError(f"--reset {key} and a value for {key} at once")
            patch[key] = None
        with open_library() as lib:
            target = asset_ids[0] if len(asset_ids) == 1 else f"{len(asset_ids)} assets"
            with audited(lib, "asset.meta", target) as detail:
                done = lib.set_metadata(asset_ids, patch, actor=cli_actor())
                detail.update(fields=sorted(patch), updated=done.updated)
                if len(done.asset_ids) <= 100:
                    detail["asset_ids"] = done.asset_ids
            shown = lib.metadata(asset_ids)[0] if len(asset_ids) == 1 else None
        if as_json:
            emit_json(shown.to_json() if shown is not None else done.to_json())
        elif shown is not None:
            _print_meta(shown.to_json())
        else:
            out.print(f"updated {done.updated} of {len(asset_ids)} assets")

    run(as_json, body)


@meta_app.command("history")
def meta_history(asset_id: str = AssetArg, as_json: bool = JsonOpt) -> None:
    """Every edit of the asset, newest first: who, when, field, old -> new."""

    def body() -> None:
        from rich.table import Table

        with open_library() as lib:
            found = lib.metadata_history(asset_id)
        if as_json:
            emit_json(found.to_json())
            return
        table = Table("when", "who", "field", "old", "new")
        for e in found.entries:
            table.add_row(
                e.at[:19].replace("T", " "),
                escape(e.actor),
                e.field,
                escape(_short(e.old)),
                escape(_short(e.new)),
            )
        out.print(table)
        out.print(f"{len(found.entries)} edits of {found.asset_id}")

    run(as_json, body)


def _short(value: Any) -> str:
    if value is None:
        return "—"
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 60 else text[:59] + "…"


@field_app.command("add")
def field_add(
    name: str = typer.Argument(..., help="Lowercase letters, digits and '_'."),
    kind: str = typer.Option("text", "--kind", help="text, number, date or choice."),
    choices: str = typer.Option("", "--choices", help="For a choice field: a,b,c."),
    label: str = typer.Option("", "--label", help="How the web page names it."),
    as_json: bool = JsonOpt,
) -> None:
    """Define (or change) a custom field every asset of this library can have."""

    def body() -> None:
        with open_library() as lib, audited(lib, "meta.field", name) as detail:
            made = lib.define_metadata_field(name, kind, _list(choices), label, actor=cli_actor())
            detail.update(kind=made.kind, choices=made.choices)
        if as_json:
            emit_json(made.to_json())
        else:
            extra = f" ({', '.join(made.choices)})" if made.choices else ""
            out.print(f"field {made.name}: {made.kind}{escape(extra)}")

    run(as_json, body)


@field_app.command("list")
def field_list(as_json: bool = JsonOpt) -> None:
    """The custom fields of this library."""

    def body() -> None:
        with open_library() as lib:
            found = lib.metadata_fields()
        if as_json:
            emit_json(found.to_json())
            return
        for f in found.fields:
            extra = f" ({', '.join(f.choices)})" if f.choices else ""
            label = f"  {f.label}" if f.label else ""
            out.print(f"{f.name}: {f.kind}{escape(extra)}{escape(label)}")
        if not found.fields:
            out.print("no custom fields; add one with `assetloom meta field add NAME`")

    run(as_json, body)


def _change_tags(tag: str, asset_ids: list[str], action: str, as_json: bool) -> None:
    def body() -> None:
        with open_library() as lib:
            target = asset_ids[0] if len(asset_ids) == 1 else f"{len(asset_ids)} assets"
            with audited(lib, f"tag.{action}", target) as detail:
                change = {"add": [tag]} if action == "add" else {"remove": [tag]}
                done = lib.change_tags(asset_ids, actor=cli_actor(), **change)
                detail.update(tag=tag, updated=done.updated)
                if len(done.asset_ids) <= 100:
                    detail["asset_ids"] = done.asset_ids
        if as_json:
            emit_json(done.to_json())
        else:
            verb = "tagged" if action == "add" else "untagged"
            out.print(f"{verb} {done.updated} of {len(asset_ids)} assets: {escape(tag)}")

    run(as_json, body)


@tag_app.command("add")
def tag_add(
    tag: str = typer.Argument(..., help="A tag key or name (dog, 狗) or a new one (SKU-1234)."),
    asset_ids: list[str] = AssetsArg,
    as_json: bool = JsonOpt,
) -> None:
    """Put a tag on assets by hand (one transaction)."""
    _change_tags(tag, asset_ids, "add", as_json)


@tag_app.command("remove")
def tag_remove(
    tag: str = typer.Argument(..., help="A tag key or name."),
    asset_ids: list[str] = AssetsArg,
    as_json: bool = JsonOpt,
) -> None:
    """Take a tag off assets (an auto-tag may come back on a re-run: use `tag reject`)."""
    _change_tags(tag, asset_ids, "remove", as_json)


@tag_app.command("reject")
def tag_reject(
    tag: str = typer.Argument(..., help="A tag key or name."),
    asset_id: str = AssetArg,
    as_json: bool = JsonOpt,
) -> None:
    """Reject an auto-tag on an asset: removed, and never put back by the tagger."""

    def body() -> None:
        with open_library() as lib, audited(lib, "tag.reject", asset_id) as detail:
            done = lib.reject_tag(asset_id, tag, actor=cli_actor())
            detail.update(tag=done.tag, asset_id=done.asset_id)
        if as_json:
            emit_json(done.to_json())
        else:
            out.print(f"rejected {escape(done.tag)} on {done.asset_id}")

    run(as_json, body)


def export(
    asset_ids: list[str] = AssetsArg,
    to: Path = typer.Option(..., "--to", help="Folder to write the copies into."),
    as_json: bool = JsonOpt,
) -> None:
    """Copies of originals with their edited metadata embedded as XMP (or a .xmp sidecar)."""

    def body() -> None:
        with open_library() as lib, audited(lib, "asset.export", str(to)) as detail:
            done = lib.export(asset_ids, to)
            detail.update(files=len(done.files))
        if as_json:
            emit_json(done.to_json())
            return
        for f in done.files:
            how = "XMP embedded" if f.embedded else f"sidecar {f.sidecar}"
            out.print(f"{f.asset_id[:12]}  {escape(f.path)}  ({escape(how)})")

    run(as_json, body)
