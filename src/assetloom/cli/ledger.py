"""`assetloom ledger ...`: the transparency log's checkpoints, proofs, audit and export."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from assetloom.cli.common import JsonOpt, emit_json, open_library, out, run
from assetloom.errors import BadInputError

ledger_app = typer.Typer(
    help="The tamper-evident registration log (RFC 9162).", no_args_is_help=True
)


@ledger_app.command()
def checkpoint(as_json: bool = JsonOpt) -> None:
    """Sign and print the current checkpoint (C2SP signed note)."""

    def body() -> None:
        with open_library() as lib:
            cp = lib.ledger().checkpoint()
        if as_json:
            emit_json(cp.to_dict())
        else:
            out.print(cp.checkpoint, end="", markup=False)
            out.print(f"public key: {cp.public_key}", markup=False)

    run(as_json, body)


@ledger_app.command()
def proof(
    asset_id: str = typer.Argument(..., help="Asset id or unique prefix."),
    as_json: bool = JsonOpt,
) -> None:
    """The asset's registration leaf, its index, inclusion proof and checkpoint."""

    def body() -> None:
        with open_library() as lib:
            result = lib.registration_proof(asset_id).to_dict()
        if as_json:
            emit_json(result)
            return
        out.print(
            f"asset {result['asset_id']}: leaf {result['leaf_index']} "
            f"of {result['tree_size']} (proof verified)",
            markup=False,
        )
        out.print(f"leaf: {result['leaf']}", markup=False)
        for h in result["inclusion_proof"]:
            out.print(f"  {h}", markup=False)
        out.print(result["checkpoint"], end="", markup=False)

    run(as_json, body)


@ledger_app.command()
def consistency(
    old_size: int = typer.Argument(..., min=1),
    new_size: int | None = typer.Argument(None, min=1),
    as_json: bool = JsonOpt,
) -> None:
    """Proof that the log at OLD_SIZE is a prefix of the log at NEW_SIZE (default: now)."""

    def body() -> None:
        with open_library() as lib:
            result = lib.ledger().consistency(old_size, new_size).to_dict()
        if as_json:
            emit_json(result)
            return
        out.print(f"{result['old_size']} -> {result['new_size']}: consistent (verified)")
        out.print(f"old root {result['old_root']}\nnew root {result['new_root']}")
        for h in result["proof"]:
            out.print(f"  {h}")

    run(as_json, body)


@ledger_app.command()
def audit(as_json: bool = JsonOpt) -> None:
    """Recompute every leaf from the catalog and the root from the leaves; check checkpoints."""

    def body() -> None:
        with open_library() as lib:
            result = lib.audit_ledger()
        if as_json:
            emit_json(result.to_dict())
        elif result.ok:
            out.print(
                f"ok: {result.leaves_checked} leaves, {result.checkpoints_checked} checkpoints, "
                f"tree size {result.tree_size}"
            )
        else:
            where = (
                f" (first bad index {result.first_bad_index})"
                if (result.first_bad_index is not None)
                else ""
            )
            out.print(f"[bold red]ledger audit failed{where}:[/] {escape(result.message)}")
            for p in result.problems[1:20]:
                out.print(f"  {p.message}", markup=False)
        if not result.ok:
            raise typer.Exit(5)

    run(as_json, body)


@ledger_app.command()
def export(
    directory: Path = typer.Argument(..., help="New or empty folder for the bundle."),
    asset_ids: list[str] = typer.Option([], "--asset", help="Include a proof for this asset."),
    as_json: bool = JsonOpt,
) -> None:
    """A self-contained bundle a third party can check with Python and `cryptography`."""

    def body() -> None:
        with open_library() as lib:
            ids = [lib.get(a).asset_id for a in asset_ids]
            result = lib.ledger().export(directory, ids).to_dict()
        if as_json:
            emit_json(result)
        else:
            out.print(
                f"wrote {result['directory']}: {result['leaves']} leaves, "
                f"{result['proofs']} proofs",
                markup=False,
            )
            out.print(f"check it with: python {directory}/verify.py {directory}", markup=False)

    run(as_json, body)


@ledger_app.command("export-root")
def export_root(
    out_file: Path | None = typer.Option(
        None, "--out", help="Write the PEM to this file instead of printing it."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """The root certificate of the library's C2PA signing chain (PEM): add it to a
    verifier's trust anchors and our outputs' manifests read as Trusted."""

    def body() -> None:
        from assetloom.app.provenance import c2pa_root

        with open_library() as lib:
            root = c2pa_root(lib)
        if out_file is not None:
            try:
                out_file.write_text(root.pem, encoding="ascii")
            except OSError as exc:
                raise BadInputError(
                    f"cannot write {out_file}: {exc.strerror or exc}",
                    hint="choose a writable file with --out",
                ) from exc
            root.file = str(out_file)
        if as_json:
            emit_json(root.to_json())
        elif out_file is not None:
            out.print(f"wrote {out_file} (SHA-256 {root.sha256})", markup=False)
        else:
            out.print(root.pem, end="", markup=False)

    run(as_json, body)
