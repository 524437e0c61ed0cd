"""`assetloom` command line: parse, call the Library, render (human or --json).

Commands import what they need in their bodies: parsing a command line (and `--help`) costs
typer and Rich only, not models, hashing or the catalog's engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.markup import escape

from assetloom.cli.accounts import audit_log, token_app, user_app
from assetloom.cli.align import align_app
from assetloom.cli.audit import audited
from assetloom.cli.collections import collection_app
from assetloom.cli.common import (
    JsonOpt,
    emit_json,
    err,
    open_library,
    out,
    parse_date,
    progress_bar,
    run,
    run_app,
    state,
)
from assetloom.cli.ledger import ledger_app
from assetloom.cli.metadata import export, meta_app, tag_app
from assetloom.cli.review import review_app
from assetloom.cli.serve import serve
from assetloom.cli.share import share_app
from assetloom.cli.studio import create, lineage, repurpose
from assetloom.cli.trash import trash_app
from assetloom.cli.understand import eval_app, index_app, search, similar, tags_app
from assetloom.core.assets import MediaType
from assetloom.errors import BadInputError, IntegrityError

EXIT_CODES = "\n".join(
    [
        "Exit codes (details in README):",
        "0 done",
        "1 bad input (a named path that does not exist, a library or user already there),"
        " or an unexpected error (logged)",
        "2 usage: a wrong option or argument; no library given, or not a library",
        "3 not found",
        "4 library busy (another writer)",
        "5 integrity: a ledger proof or audit failed, or the catalog is damaged",
        "6 auth: not signed in or not allowed",
        "130 interrupted",
    ]
)


class AssetLoomApp(typer.Typer):
    """The Typer app whose console entry point sends every failure through one handler
    (`common.run_app`), usage errors included; tests may still drive it with CliRunner."""

    def __call__(self, args: Sequence[str] | None = None, **_: Any) -> NoReturn:
        run_app(self, args)


app = AssetLoomApp(
    name="assetloom",
    help="AssetLoom: a self-hosted multimodal asset library with provenance.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


app.add_typer(ledger_app, name="ledger")
app.add_typer(align_app, name="align")
app.add_typer(index_app, name="index")
app.add_typer(eval_app, name="eval")
app.add_typer(tags_app, name="tags")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(review_app, name="review")
app.add_typer(collection_app, name="collection")
app.add_typer(share_app, name="share")
app.add_typer(trash_app, name="trash")
app.add_typer(meta_app, name="meta")
app.add_typer(tag_app, name="tag")
app.command()(export)
app.command("audit-log")(audit_log)
app.command()(serve)
app.command()(create)
app.command()(repurpose)
app.command()(lineage)
app.command()(search)
app.command()(similar)


def _print_version(value: bool) -> None:
    if value:
        from assetloom import __version__

        out.print(f"assetloom {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def main(
    library: Path | None = typer.Option(
        None,
        "--library",
        "-L",
        help="Library folder (or set ASSETLOOM_LIBRARY).",
        file_okay=False,
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Print the traceback of an unexpected error (else: a log file)."
    ),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version."
    ),
) -> None:
    state.library = library
    state.debug = debug


@app.command("version")
def version_cmd(as_json: bool = JsonOpt) -> None:
    """Print the version (as `assetloom --version`)."""
    from assetloom import __version__

    if as_json:
        emit_json({"version": __version__})
    else:
        out.print(f"assetloom {__version__}", markup=False)


@app.command()
def init(
    path: Path = typer.Argument(..., help="Folder to create the library in (new or empty)."),
    catalog: str = typer.Option(
        "",
        "--catalog",
        help="Keep the catalog in PostgreSQL: postgresql://USER@HOST:PORT/DB "
        "(a database of its own; password from PGPASSWORD or ~/.pgpass).",
    ),
    blobs: str = typer.Option(
        "",
        "--blobs",
        help="Keep originals and derived files in S3: s3://BUCKET/PREFIX "
        "(credentials and endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
        "AWS_ENDPOINT_URL_S3).",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Create a new, empty library (embedded by default: SQLite and files in the folder)."""

    def body() -> None:
        from assetloom.app.library import Library

        with Library.create(path, catalog=catalog, blobs=blobs) as lib:
            if as_json:
                doc = {"library": str(lib.root), "created": True}
                if catalog or blobs:
                    doc |= {"catalog": lib.settings.catalog, "blobs": lib.settings.blobs}
                emit_json(doc)
            else:
                out.print(f"Created library at {lib.root}", markup=False)
                out.print(
                    f"Next: assetloom --library {lib.root} add FOLDER --recursive", markup=False
                )

    run(as_json, body)


@app.command()
def add(
    paths: list[Path] = typer.Argument(..., help="Files and folders to add."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Descend into sub-folders."),
    as_json: bool = JsonOpt,
) -> None:
    """Add files and folders. Safe to re-run: known files are reported as present."""

    def body() -> None:
        from assetloom.cli import render
        from assetloom.ingest.discover import missing_paths, subfolders_not_descended

        missing = missing_paths(paths)
        with (
            open_library() as lib,
            audited(lib, "asset.add", _paths_target(paths)) as detail,
            progress_bar("Adding", not as_json) as progress,
        ):
            report = lib.add(paths, recursive=recursive, progress=progress)
            detail.update(
                added=[a.asset_id for a in report.added],
                present=len(report.present),
                skipped=len(report.skipped),
            )
        if as_json:
            emit_json(report.to_json())
        else:
            render.add_report(report)
        left_out = [] if recursive else subfolders_not_descended(paths)
        if left_out:
            n = len(left_out)
            err.print(
                f"{n} sub-folder{'s' if n > 1 else ''} not descended into "
                f"({render.some_names(left_out)}): add --recursive (-r) to include them",
                markup=False,
            )
        if missing:
            raise _missing_error(missing)

    run(as_json, body)


@app.command("list")
def list_assets(
    media_type: MediaType | None = typer.Option(None, "--type", help="Only this media type."),
    tags: list[str] = typer.Option([], "--tag", help="Only assets with this tag (repeatable)."),
    since: str | None = typer.Option(None, "--since", help="Registered on or after (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, "--until", help="Registered on or before."),
    name: str | None = typer.Option(None, "--name", help="File name contains this (any case)."),
    newest: bool = typer.Option(False, "--newest", help="Newest first (default: oldest)."),
    sort: str = typer.Option(
        "registered", "--sort", help="registered, captured, name, size or rating."
    ),
    desc: bool = typer.Option(False, "--desc", help="Descending (as --newest)."),
    status: str | None = typer.Option(
        None, "--status", help="Only this status: draft, in_review, approved, archived."
    ),
    limit: int = typer.Option(50, min=1, help="How many to show."),
    cursor: str | None = typer.Option(
        None, "--cursor", help="Start after this (the next page's cursor from the last list)."
    ),
    offset: int = typer.Option(0, min=0, help="Skip this many first (after --cursor)."),
    as_json: bool = JsonOpt,
) -> None:
    """List assets, oldest first (or --sort KEY [--desc]), filtered; page on with --cursor."""

    def body() -> None:
        from rich.table import Table

        from assetloom.app.listing import list_result
        from assetloom.cli import render
        from assetloom.core.listing import ListQuery, sort_key, status_filter

        q = ListQuery(
            media_type=media_type,
            tags=tags,
            since=parse_date(since, "--since"),
            until=parse_date(until, "--until"),
            name=name or None,
            newest_first=newest or desc,
            sort=sort_key(sort),
            status=status_filter(status),
            limit=limit,
            offset=offset,
            cursor=cursor or None,
        )
        with open_library() as lib:
            q.tags = lib.filter_tags(q.tags)  # zh or en names too; unknown: close ones
            page = lib.list(q)
            total = lib.count(q)
        if as_json:
            emit_json(list_result(page, total, q).to_json())
            return
        table = Table("id", "type", "name", "size", "dimensions", "registered")
        for a in page.assets:
            dims = f"{a.width}×{a.height}" if a.width else ""
            table.add_row(
                a.asset_id[:12],
                a.media_type.value,
                escape(a.original_name),
                render.human_bytes(a.size),
                dims,
                a.registered_at.strftime("%Y-%m-%d %H:%M"),
            )
        out.print(table)
        out.print(f"{len(page.assets)} of {total} assets shown")
        if page.next_cursor:
            out.print(f"Next page: the same command with --cursor {page.next_cursor}")

    run(as_json, body)


@app.command()
def show(
    asset_id: str = typer.Argument(..., help="Asset id or a unique prefix of it."),
    as_json: bool = JsonOpt,
) -> None:
    """Show one asset: metadata, fingerprints and where its files are."""

    def body() -> None:
        from assetloom.app.results import ShownAssetOut
        from assetloom.cli import render

        with open_library() as lib:
            asset = lib.get(asset_id)
            doc = ShownAssetOut.of(
                asset,
                passages=lib.passages(asset.asset_id),
                blob_path=lib.blob_location(asset),
                thumbnail_path=lib.thumbnail_location(asset),
            ).to_json()
        if as_json:
            emit_json(doc)
        else:
            render.asset_detail(doc)

    run(as_json, body)


@app.command()
def rm(
    asset_ids: list[str] = typer.Argument(..., help="Asset ids (or unique prefixes)."),
    as_json: bool = JsonOpt,
) -> None:
    """Move assets to the trash (all or none): hidden everywhere until `trash restore`;
    `trash empty` (or the trash_days expiry) removes them for good."""

    def body() -> None:
        from assetloom.app.trash import move_to_trash

        target = asset_ids[0] if len(asset_ids) == 1 else f"{len(asset_ids)} assets"
        with open_library() as lib, audited(lib, "asset.remove", target) as detail:
            trashed = move_to_trash(lib, asset_ids)
            detail.update(trashed=[a.asset_id for a in trashed.removed])
        if as_json:
            emit_json(trashed.to_json())
        else:
            for a in trashed.removed:
                out.print(f"moved to the trash: {a.asset_id}  {a.original_name}", markup=False)
            out.print("undo: assetloom trash restore ID...", markup=False)

    run(as_json, body)


@app.command()
def verify(
    files: list[Path] = typer.Argument(..., help="Suspect files to check against the library."),
    as_json: bool = JsonOpt,
) -> None:
    """Is this file (or an edited copy of it) ours? Which asset, since when, with proof."""

    def body() -> None:
        from assetloom.app.results import VerifyOut, VerifyResult
        from assetloom.cli import render
        from assetloom.core.assets import Tier
        from assetloom.ingest.discover import missing_paths
        from assetloom.ingest.paths import display_path

        missing = missing_paths(files)
        with open_library() as lib, progress_bar("Verifying", not as_json) as progress:
            checked = lib.verify([f for f in files if f not in missing], progress=progress)
        found = iter(checked)
        results = [
            VerifyResult(display_path(f), Tier.NONE, error=missing[f])
            if f in missing
            else next(found)
            for f in files
        ]
        if as_json:
            emit_json(VerifyOut(results=[r.out() for r in results]).to_json())
        else:
            render.verify_results(results)
        failed = sum(not p.get("verified", True) for r in results for p in r.proofs)
        if failed:
            raise IntegrityError(
                f"the ledger proof of {failed} matched asset{'s' if failed > 1 else ''} "
                "did not verify: the library's log or catalog was changed",
                hint="`assetloom ledger audit` shows where; restore catalog.db from a backup",
            )
        if missing:
            raise _missing_error(missing)

    run(as_json, body)


@app.command()
def duplicates(
    action: str | None = typer.Argument(
        None,
        help="dismiss ID ID...: remember that these are not duplicates; restore ID ID...: "
        "forget it. Without an action: list the groups.",
        show_default=False,
    ),
    asset_ids: list[str] | None = typer.Argument(
        None, help="Asset ids (or unique prefixes) for dismiss/restore.", show_default=False
    ),
    similar: bool = typer.Option(
        False, "--similar", help="Also list groups of look-alikes (same subject, not copies)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Groups of exact and near-identical assets, each with a suggested keeper.

    Only assets added since the last run are compared; `duplicates dismiss ID ID` keeps
    two assets out of each other's groups from then on."""
    if action is not None:
        from assetloom.cli.duplicates import decide

        decide(action, asset_ids or [], as_json)
        return

    def body() -> None:
        from assetloom.app.results import DuplicatesOut
        from assetloom.cli import render

        with open_library() as lib, progress_bar("Comparing", not as_json) as progress:
            groups = lib.duplicates(similar=similar, progress=progress)
        if as_json:
            emit_json(DuplicatesOut(groups=[g.out() for g in groups]).to_json())
        else:
            render.duplicate_groups(groups)

    run(as_json, body)


@app.command()
def demo(
    path: Path | None = typer.Argument(None, help="Where to build the demo library."),
    as_json: bool = JsonOpt,
) -> None:
    """Build a library from the bundled example photos, verify an edited copy, show the result."""

    def body() -> None:
        from assetloom.app.demo import run_demo
        from assetloom.cli import render

        result = run_demo(path, log=None if as_json else err.print)
        if as_json:
            emit_json(result)
        else:
            render.demo_summary(result)

    run(as_json, body)


@app.command()
def migrate(
    to: str = typer.Option(
        "",
        "--to",
        help="Move the catalog into PostgreSQL: postgresql://USER@HOST:PORT/DB (a new, empty "
        "database; password from PGPASSWORD or ~/.pgpass).",
    ),
    blobs: str = typer.Option(
        "",
        "--blobs",
        help="Move originals and derived files into S3: s3://BUCKET/PREFIX (credentials and "
        "endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3).",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Move this embedded library onto servers. Safe to re-run: a stopped run resumes, and the
    library stays embedded until everything is copied and checked."""

    def body() -> None:
        from assetloom.app.migrate import migrate_library
        from assetloom.cli.common import library_path

        say = None if as_json else (lambda msg: err.print(msg, markup=False))
        with progress_bar("Copying files", not as_json) as progress:
            report = migrate_library(
                library_path(), catalog=to, blobs=blobs, progress=progress, log=say
            )
        if as_json:
            emit_json(report.to_json())
            return
        out.print(f"Moved {report.library} onto servers.", markup=False)
        out.print(f"  catalog  {report.catalog or 'catalog.db (embedded)'}", markup=False)
        out.print(f"  blobs    {report.blobs or 'blobs/ (embedded)'}", markup=False)
        out.print(
            f"  assets   {report.assets}; ledger tree size {report.tree_size}, root "
            f"{report.root_hash}",
            markup=False,
        )
        if blobs:
            out.print(
                f"  files    originals {report.blobs_copied} copied, {report.blobs_skipped} "
                f"already there; derived {report.derived_copied} copied, "
                f"{report.derived_skipped} already there",
                markup=False,
            )
        out.print(
            f"Kept in {report.library}: {', '.join(report.kept)}. Delete them once you are "
            f"satisfied (try `assetloom -L {report.library} ledger audit` and a search).",
            markup=False,
        )

    run(as_json, body)


def _paths_target(paths: Sequence[Path]) -> str:
    """The audit log's target for an `add`: the one path, or how many."""
    return str(paths[0]) if len(paths) == 1 else f"{len(paths)} paths"


def _missing_error(missing: dict[Path, str]) -> BadInputError:
    """Named paths that do not exist: an error (exit 1), raised once the others are done."""
    from assetloom.ingest.paths import display_path

    n = len(missing)
    names = ", ".join(display_path(p) for p in list(missing)[:5]) + (", ..." if n > 5 else "")
    return BadInputError(
        f"{n} named path{'s' if n > 1 else ''} {'do' if n > 1 else 'does'} not exist: {names}",
        hint="nothing was done for them; check the spelling or the current folder",
    )


if __name__ == "__main__":
    app()
