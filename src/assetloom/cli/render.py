"""Human renderings of library results (the --json renderings live on the results)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from assetloom.app.results import AddReport, DuplicateGroup, VerifyResult, clock, iso
from assetloom.cli.common import out
from assetloom.core.assets import Tier
from assetloom.ingest.paths import display_path

_TIER_STYLE = {
    Tier.EXACT: "bold green",
    Tier.NEAR_IDENTICAL: "green",
    Tier.SIMILAR: "yellow",
    Tier.NONE: "dim",
}


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def add_report(report: AddReport) -> None:
    if report.skipped:
        table = Table("skipped file", "reason", title="Skipped", title_justify="left")
        for s in report.skipped:
            table.add_row(escape(s.file), escape(s.reason))
        out.print(table)
    out.print(
        f"[bold]{len(report.added)} added[/], {len(report.present)} already present, "
        f"{len(report.skipped)} skipped"
    )


def asset_detail(doc: dict[str, Any]) -> None:
    from assetloom.core.lookups import is_lookup  # numpy: not for `list`, which imports render

    table = Table(show_header=False, box=None)
    for key in (
        "asset_id",
        "original_name",
        "source",
        "media_type",
        "mime",
        "size",
        "width",
        "height",
        "sha256",
        "registered_at",
        "blob_path",
        "thumbnail_path",
    ):
        if doc.get(key) is not None:
            value = human_bytes(doc[key]) if key == "size" else str(doc[key])
            table.add_row(f"[bold]{key}", escape(value))
    for key, value in sorted(doc.get("metadata", {}).items()):
        if key == "excerpt":
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        table.add_row(f"[cyan]{escape(key)}", escape(shown))
    lookups: dict[str, int] = {}
    for fp in doc.get("fingerprints", []):
        if fp["kind"] == "minhash64":
            continue
        if is_lookup(fp["kind"]):  # hundreds of index keys: a count says enough
            lookups[fp["kind"]] = lookups.get(fp["kind"], 0) + 1
            continue
        quality = f"  (quality {fp['quality']})" if "quality" in fp else ""
        table.add_row(f"[magenta]{fp['kind']}", f"{fp['value']}{quality}")
    for kind, n in lookups.items():
        table.add_row(f"[magenta]{kind}", f"{n} rows")
    out.print(table)
    for p in doc.get("passages", []):
        out.print(f"[cyan]{escape(_place(p))}[/]  {escape(p['text'])}")


def _place(passage: dict[str, Any]) -> str:
    """Where a passage sits: "0:12.4–0:17.9", "page 3", or its source."""
    if passage.get("start") is not None:
        end = passage.get("end")
        return (
            f"{clock(passage['start'])}–{clock(end)}"
            if end is not None
            else clock(passage["start"])
        )
    if passage.get("page") is not None:
        return f"page {passage['page']}"
    return str(passage["source"])


def verify_results(results: list[VerifyResult]) -> None:
    """Per file its verdict and best matches; a match whose ledger proof failed is always
    shown, in red with the reason, since it is not the library's word any more."""
    for r in results:
        style = "red" if r.error else _TIER_STYLE[r.tier]
        verdict = "not checked" if r.error else "no match" if r.tier is Tier.NONE else r.tier.value
        out.print(f"[{style}]{verdict:>15}[/]  {escape(r.file)}")
        if r.error:
            out.print(f"{'':>17}[red]{escape(r.error)}[/]")
        _provenance(r)
        proofs = r.proofs + [{}] * (len(r.matches) - len(r.proofs))
        for i, (m, proof) in enumerate(zip(r.matches, proofs, strict=True)):
            failed = proof.get("verified") is False
            if i >= 5 and not failed:
                continue
            out.print(
                f"{'':>17}{m.tier.value}: {m.asset_id[:12]} {escape(m.original_name)} "
                f"(distance {m.distance:g}, registered {iso(m.registered_at)})"
            )
            if failed:
                reason = proof.get("error") or "no reason given"
                out.print(f"{'':>19}[bold red]ledger proof failed:[/][red] {escape(reason)}[/]")


_C2PA_STYLE = {"Trusted": "green", "Valid": "yellow", "Invalid": "red"}


def _provenance(r: VerifyResult) -> None:
    """What the file's C2PA manifest and our watermark say, when it has either."""
    if r.c2pa:
        c = r.c2pa
        says = f" names asset {c.asset_id[:12]}" if c.asset_id else ""
        why = f" ({escape(', '.join(c.problems))})" if c.problems else ""
        out.print(f"{'':>17}C2PA manifest: [{_C2PA_STYLE[c.state]}]{c.state}[/]{escape(says)}{why}")
    if r.watermark:
        w = r.watermark
        if w.asset_id:
            out.print(
                f"{'':>17}watermark: [green]asset {w.asset_id[:12]}[/] "
                f"({w.bits_ok:.0%} of bits, chance {w.chance:.2g})"
            )
        elif w.bits_ok is not None:
            out.print(f"{'':>17}watermark: none of ours (closest {w.bits_ok:.0%} of bits)")


def some_names(paths: Sequence[Path], most: int = 3) -> str:
    """A few of `paths`' names for a message, "..." for the rest."""
    names = [display_path(p.name) for p in paths[:most]]
    return ", ".join(names) + (", ..." if len(paths) > most else "")


def duplicate_groups(groups: list[DuplicateGroup]) -> None:
    if not groups:
        out.print("No duplicates found.")
        return
    for i, g in enumerate(groups, 1):
        out.print(
            f"[bold]Group {i}[/] ({g.tier.value}) keep [green]{g.keeper[:12]}[/]: "
            f"{escape(g.reason)}"
        )
        for a in g.assets:
            mark = "keep" if a.asset_id == g.keeper else "    "
            dims = f"{a.width}×{a.height}" if a.width else ""
            name = escape(a.original_name)
            out.print(f"  {mark} {a.asset_id[:12]} {name} {dims} {human_bytes(a.size)}")


def demo_summary(result: dict[str, Any]) -> None:
    out.print(f"[bold]Demo library:[/] {escape(str(result['library']))}")
    out.print(f"Added {result['added']} example photos.")
    for check in result["checks"]:
        out.print(f"  {escape(check['file'])}: [bold]{check['tier']}[/] {check.get('asset', '')}")
    for search in result.get("searches", []):
        out.print(f"  search {search['query']!r}: best match [bold]{escape(search['top'])}[/]")
    out.print(f'Try: assetloom --library {result["library"]} search "星空"', markup=False)
