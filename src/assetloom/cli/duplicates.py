"""`assetloom duplicates dismiss|restore ID ID...`: remember that assets are not duplicates.

Every pair among the named assets is decided at once; `duplicates` then no longer links them.
Each decision goes to the audit log as `cli:<login name>` from `local`.
"""

from __future__ import annotations

from assetloom.cli.audit import audited, cli_actor
from assetloom.cli.common import emit_json, open_library, out, run
from assetloom.errors import BadInputError

ACTIONS = ("dismiss", "restore")


def decide(action: str, asset_ids: list[str], as_json: bool) -> None:
    def body() -> None:
        if action not in ACTIONS:
            raise BadInputError(
                f"unknown duplicates action {action!r}",
                hint="`assetloom duplicates` lists groups; `duplicates dismiss ID ID` "
                "remembers that two assets are not duplicates, `duplicates restore ID ID` "
                "forgets it",
            )
        undo = action == "restore"
        with open_library() as lib:
            target = " ".join(asset_ids)
            with audited(lib, f"duplicates.{action}", target) as detail:
                result = lib.dismiss_duplicates(asset_ids, by=cli_actor(), undo=undo)
                detail.update(pairs=result.pairs, changed=result.changed)
        if as_json:
            emit_json(result.to_json())
            return
        ids = ", ".join(a[:12] for a in result.asset_ids)
        verb = "no longer remembered as distinct" if undo else "remembered as not duplicates"
        out.print(f"{result.changed} of {result.pairs} pair(s) {verb}: {ids}")

    run(as_json, body)
