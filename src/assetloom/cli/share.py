"""`assetloom share create|list|revoke`: links that show one collection or one asset to
anyone holding them, until they expire or are revoked (app/shares.py).

The token is printed once, at `create`; the library keeps only its hash. Every change is
written to the audit log as `cli:<login>` from `local`.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from assetloom.cli.audit import audited, cli_actor
from assetloom.cli.common import JsonOpt, emit_json, open_library, out, run

share_app = typer.Typer(
    help="Share links for a collection or an asset: create, list, revoke.",
    no_args_is_help=True,
)
LOCAL_SERVER = "http://127.0.0.1:8420"
"""Where `assetloom serve` listens by default: the links' address unless public_url is set."""


@share_app.command("create")
def share_create(
    collection: str | None = typer.Option(None, "--collection", help="Share this collection."),
    asset_id: str | None = typer.Option(None, "--asset", help="Share this asset (id or prefix)."),
    expires: str = typer.Option(
        "7d", "--expires", help='How long it works: "7d", "12h", "2w", a date, or "never".'
    ),
    password: bool = typer.Option(
        False, "--password", help="Ask visitors for a password (prompted for here)."
    ),
    allow_download: bool = typer.Option(
        False, "--allow-download", help="Visitors may download the originals."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Make a share link; its URL and token are shown this once."""

    def body() -> None:
        from assetloom.app import shares

        secret = (
            typer.prompt("Password for the link", hide_input=True, confirmation_prompt=True)
            if password
            else None
        )
        target = f"collection {collection}" if collection is not None else f"asset {asset_id}"
        with open_library() as lib, audited(lib, "share.create", target) as detail:
            made = shares.create(
                lib,
                by=cli_actor(),
                base_url=lib.settings.public_url or LOCAL_SERVER,
                collection=collection,
                asset_id=asset_id,
                expires=expires,
                password=secret,
                allow_download=allow_download,
            )
            detail.update(share=made.id, prefix=made.prefix, expires_at=made.expires_at)
        if as_json:
            emit_json(made.to_json())
        else:
            out.print(made.url, markup=False)
            until = made.expires_at or "never"
            out.print(f"expires: {until}  (shown once: the library keeps only its hash)")

    run(as_json, body)


@share_app.command("list")
def share_list(as_json: bool = JsonOpt) -> None:
    """Every link, newest first, with its state and how often it was used."""

    def body() -> None:
        from rich.table import Table

        from assetloom.app import shares

        with open_library() as lib:
            listed = shares.list_all(lib)
        if as_json:
            emit_json(listed.to_json())
            return
        table = Table("id", "token", "of", "state", "expires", "uses", "by")
        for s in listed.shares:
            what = f"collection {s.collection}" if s.collection else f"asset {s.asset_id or ''}"
            table.add_row(
                str(s.id),
                s.prefix + "…",
                escape(what),
                s.state,
                (s.expires_at or "never")[:16].replace("T", " "),
                str(s.uses),
                escape(s.created_by),
            )
        out.print(table)

    run(as_json, body)


@share_app.command("revoke")
def share_revoke(
    token: str = typer.Argument(..., help="The link's token (or its URL), or its id from `list`."),
    as_json: bool = JsonOpt,
) -> None:
    """Revoke a link: it answers 404 from now on."""

    def body() -> None:
        from assetloom.app import shares

        given = token.rstrip("/").rsplit("/s/", 1)[-1]
        shown = given if given.isdigit() else given[: shares.SHOWN_PREFIX]
        with open_library() as lib, audited(lib, "share.revoke", shown) as detail:
            revoked = shares.revoke(lib, given)
            detail.update(share=revoked.id, prefix=revoked.prefix)
        if as_json:
            emit_json(revoked.to_json())
        else:
            out.print(f"revoked {revoked.prefix}… (id {revoked.id})", markup=False)

    run(as_json, body)
