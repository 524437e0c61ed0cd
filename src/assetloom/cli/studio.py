"""`assetloom create`, `repurpose` and `lineage`: the creation studio on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from assetloom.cli.audit import audited
from assetloom.cli.common import JsonOpt, emit_json, err, open_library, out, run

OUTPUTS_HELP = "Comma-separated: text,image,speech,music,video (default: all for create)."
BACKEND_HELP = (
    "KIND=BACKEND[:ARG], repeatable: text=template, image=compose (offline defaults), "
    "image=diffusers:DIR, image=comfyui:URL, image=openai:URL, speech=piper, music=midi."
)


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def create(
    brief: str = typer.Argument(..., help="What to make, in Chinese or English."),
    style_ref: Path | None = typer.Option(
        None, "--style-ref", help="An image whose look to match."
    ),
    lang: str | None = typer.Option(None, "--lang", help="zh or en (default: the brief's)."),
    outputs: str | None = typer.Option(None, "--outputs", help=OUTPUTS_HELP),
    formats: str | None = typer.Option(None, "--formats", help="1:1,9:16,16:9 (images)."),
    backend: list[str] = typer.Option([], "--backend", help=BACKEND_HELP),
    seed: int | None = typer.Option(None, "--seed", help="Make the same outputs again."),
    as_json: bool = JsonOpt,
) -> None:
    """Make a campaign from a brief; every output lands in the library with its lineage."""
    from assetloom.app.studio import Request

    req = Request(
        brief,
        style_ref=style_ref,
        language=lang,
        outputs=_split(outputs),
        formats=_split(formats),
        backends=backend,
        seed=seed,
    )
    _run(as_json, "studio.create", brief[:200], lambda studio: studio.create(req))


def repurpose(
    asset_id: str = typer.Argument(..., help="The image asset to re-purpose (id or prefix)."),
    instruction: str = typer.Argument(..., help='What to change, e.g. "put it in a rainforest".'),
    outputs: str | None = typer.Option(None, "--outputs", help="Default: text,image."),
    formats: str | None = typer.Option(None, "--formats", help="1:1,9:16,16:9 (images)."),
    backend: list[str] = typer.Option([], "--backend", help=BACKEND_HELP),
    seed: int | None = typer.Option(None, "--seed", help="Make the same outputs again."),
    as_json: bool = JsonOpt,
) -> None:
    """Make new versions of an asset; they derive from it in the lineage."""
    from assetloom.app.studio import Request

    req = Request("", outputs=_split(outputs), formats=_split(formats), backends=backend, seed=seed)
    _run(
        as_json,
        "studio.repurpose",
        asset_id,
        lambda studio: studio.repurpose(asset_id, instruction, req),
    )


def lineage(
    asset_id: str = typer.Argument(..., help="Asset id or a unique prefix of it."),
    as_json: bool = JsonOpt,
) -> None:
    """What an asset was made from, and what was made from it."""

    def body() -> None:
        from assetloom.app.studio import lineage as lineage_of

        with open_library() as lib:
            doc = lineage_of(lib, asset_id)
        if as_json:
            emit_json(doc)
            return
        out.print(f"[bold]{escape(doc['original_name'])}[/]  {doc['asset_id']}")
        if doc["creation"]:
            c = doc["creation"]
            out.print(f"  made by {escape(c['backend'])} in project {c['project_id']}")
        for title, edges, key in (
            ("from", doc["up"], "parent"),
            ("made into", doc["down"], "child"),
        ):
            if edges:
                out.print(f"[cyan]{title}:")
                for e in edges:
                    name = e[f"{key}_name"] or "(no longer in the library)"
                    other = "child" if key == "parent" else "parent"
                    via = (
                        ""
                        if e[f"{other}_id"] == doc["asset_id"]
                        else f"  (of {e[f'{other}_name']})"
                    )
                    out.print(f"  {e['role']:<11} {e[f'{key}_id'][:12]}  {escape(name + via)}")
        if not doc["up"] and not doc["down"]:
            out.print("  no lineage: not made from, or into, another asset")

    run(as_json, body)


def _run(as_json: bool, action: str, target: str, make: Any) -> None:
    def body() -> None:
        from assetloom.app.studio import Studio

        def step(text: str) -> None:
            if not as_json:
                err.print(f"[dim]{escape(text)}…[/]")

        with open_library() as lib, audited(lib, action, target) as detail:
            doc = make(Studio(lib, progress=step))
            detail["project"] = doc.get("project_id")
            detail["assets"] = [o["asset_id"] for o in doc.get("outputs", []) if o.get("asset_id")]
        if as_json:
            emit_json(doc)
        else:
            _render(doc)

    run(as_json, body)


def _render(doc: dict[str, Any]) -> None:
    plan = doc["plan"]
    out.print(f"[bold]Project {doc['project_id']}[/] ({doc['state']})")
    out.print(
        f"  subject: {escape(plan['visual_subject'])}  tone: {plan['tone']}  "
        f"audience: {escape(plan['audience'])}  channels: {', '.join(plan['channels'])}"
    )
    for o in doc["outputs"]:
        if "error" in o:
            out.print(f"  [red]✗ {o['label']}[/]: {escape(o['error'])}")
        else:
            q = ", ".join(f"{k} {v}" for k, v in o["quality"].items())
            out.print(
                f"  [green]✓ {o['label']}[/] {o['asset_id'][:12]} ({o['backend']}) {escape(q)}"
            )
    for flag in doc["report"]["copyright"]:
        out.print(
            f"  [yellow]! {flag['output']} is a {flag['tier']} copy of "
            f"{flag['asset_id'][:12]} ({escape(flag['original_name'])})[/]"
        )
