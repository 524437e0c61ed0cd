"""Search, similar, tags, index and evaluation commands (search and models load in bodies)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from assetloom.cli.audit import audited
from assetloom.cli.common import (
    JsonOpt,
    emit_json,
    err,
    open_library,
    out,
    parse_date,
    progress_bar,
    run,
)
from assetloom.core.assets import MediaType
from assetloom.errors import BadInputError

if TYPE_CHECKING:
    from assetloom.app.search import SearchHit


def _render_hits(hits: list[SearchHit], as_json: bool) -> None:
    if as_json:
        from assetloom.app.results import SearchOut

        emit_json(SearchOut(results=[h.out() for h in hits]).to_json())
        return
    if not hits:
        out.print("No results.")
        return
    from rich.table import Table

    table = Table("score", "id", "type", "name", "why")
    for h in hits:
        why = "; ".join([*(_moment(m) for m in h.matched if "rank" not in m), h.explanation])
        table.add_row(
            f"{h.score:.3f}",
            h.asset.asset_id[:12],
            h.asset.media_type.value,
            escape(h.asset.original_name),
            escape(why),
        )
    out.print(table)


def _moment(m: dict[str, Any]) -> str:
    """Where inside the asset it matched, with the words there; the explanation says why."""
    from assetloom.app.results import clock

    place = clock(m["start"]) if m.get("start") is not None else f"p. {m.get('page', '?')}"
    text = f' "{m["text"][:40]}"' if m.get("text") else ""
    return f"{m['source']} at {place}{text}"


def search(
    query: str | None = typer.Argument(None, help="Words, in Chinese or English."),
    image: Path | None = typer.Option(None, "--image", help="An example image file."),
    like: str | None = typer.Option(None, "--like", help="An asset to find more like."),
    media_type: MediaType | None = typer.Option(None, "--type", help="Only this media type."),
    tags: list[str] = typer.Option([], "--tag", help="Only assets with this tag (repeatable)."),
    since: str | None = typer.Option(None, "--since", help="Registered on or after (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, "--until", help="Registered before (YYYY-MM-DD)."),
    min_width: int | None = typer.Option(None, "--min-width", min=1),
    min_height: int | None = typer.Option(None, "--min-height", min=1),
    status: str | None = typer.Option(
        None, "--status", help="Only this status: draft, in_review, approved, archived."
    ),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    min_score: float = typer.Option(0.0, "--min-score", min=0.0, max=1.0),
    as_json: bool = JsonOpt,
) -> None:
    """Find assets by meaning (zh/en), by an example image, like an asset, or a mix."""

    def body() -> None:
        from assetloom.app.search import SearchQuery
        from assetloom.core.listing import status_filter

        q = SearchQuery(
            text=query,
            image=image,
            like=like,
            media_type=media_type,
            tags=tags,
            since=parse_date(since, "--since"),
            until=parse_date(until, "--until"),
            min_width=min_width,
            min_height=min_height,
            status=status_filter(status),
            limit=limit,
            min_score=min_score,
        )
        with open_library() as lib:
            q.tags = lib.filter_tags(q.tags)  # zh or en names too; unknown: close ones
            hits = lib.search(q)
        _render_hits(hits, as_json)

    run(as_json, body)


def similar(
    asset_id: str = typer.Argument(..., help="Asset id or unique prefix."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    as_json: bool = JsonOpt,
) -> None:
    """Assets that look like (or read like) this one."""

    def body() -> None:
        from assetloom.app.search import SearchQuery

        with open_library() as lib:
            hits = lib.search(SearchQuery(like=asset_id, limit=limit))
        _render_hits(hits, as_json)

    run(as_json, body)


index_app = typer.Typer(help="Search indexes (a cache of the catalog).", no_args_is_help=True)


@index_app.command("rebuild")
def index_rebuild(as_json: bool = JsonOpt) -> None:
    """Rebuild every vector and fingerprint index from the catalog."""

    def body() -> None:
        with open_library() as lib:
            sizes = {
                "fingerprints": lib.fingerprint_index().rebuild(),
                "vectors": lib.vector_spaces().rebuild(),
            }
        if as_json:
            emit_json(sizes)
        else:
            for group, figures in sizes.items():
                for key, n in figures.items():
                    out.print(f"{group}/{key}: {n} entries")

    run(as_json, body)


@index_app.command("embed")
def embed_missing(as_json: bool = JsonOpt) -> None:
    """Embed and tag assets that have no vectors yet (after enabling understanding or
    switching the model backend)."""

    def body() -> None:
        with (
            open_library() as lib,
            audited(lib, "index.embed", "library") as detail,
            progress_bar("Embedding", not as_json) as progress,
        ):
            n = detail["embedded"] = lib.embed_missing(progress=progress)
        if as_json:
            emit_json({"embedded": n})
        else:
            err.print(f"embedded {n} assets")

    run(as_json, body)


eval_app = typer.Typer(help="Measure search quality on labelled data.", no_args_is_help=True)


@eval_app.command("retrieval")
def eval_retrieval_cmd(
    data: Path = typer.Option(..., "--data", help="JSONL: {image, captions_en, captions_zh}."),
    lang: str = typer.Option("en", "--lang", help="Caption language: en or zh."),
    depth: int = typer.Option(100, "--depth", min=10, help="Ranked-list depth (MRR@depth)."),
    mode: str = typer.Option(
        "images",
        "--mode",
        help="images: text→image on a library of the images alone (as users have it), next to "
        "it with the captions as documents too; captions: only the latter (the old report).",
    ),
    library: Path | None = typer.Option(
        None,
        "--library",
        help="Keep the built libraries in this folder and reuse them on later runs.",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """text→image and image→text Recall@1/5/10 and MRR, through the `search` code path."""

    def body() -> None:
        from rich.table import Table

        from assetloom.app.evaluation import MODES, eval_retrieval

        if lang not in ("en", "zh"):
            raise BadInputError(f"--lang {lang!r}: use en or zh")
        if mode not in MODES:
            raise BadInputError(f"--mode {mode!r}: use {' or '.join(MODES)}")
        with progress_bar("Evaluating", not as_json) as progress:
            result = eval_retrieval(
                data, lang, depth=depth, mode=mode, library=library, progress=progress
            )
        if as_json:
            emit_json(result)
            return
        table = Table("direction", "library", "R@1", "R@5", "R@10", f"MRR@{depth}")
        rows = [("text_to_image", mode, result["text_to_image"])]
        if "with_captions" in result:
            rows.append(("text_to_image", "captions", result["with_captions"]["text_to_image"]))
        rows.append(("image_to_text", "captions", result["image_to_text"]))
        for direction, held, m in rows:
            table.add_row(direction, held, *(f"{m[k]:.3f}" for k in ("R@1", "R@5", "R@10", "MRR")))
        out.print(table)
        out.print(f"{result['images']} images, {result['queries']} captions ({lang})")

    run(as_json, body)


tags_app = typer.Typer(help="Zero-shot and user-defined tags (zh/en).", no_args_is_help=True)


@tags_app.command("list")
def tags_list(
    used: bool = typer.Option(False, "--used", help="Only tags that some asset has."),
    as_json: bool = JsonOpt,
) -> None:
    """The tag vocabulary (built-in and your own) with how many assets carry each tag."""

    def body() -> None:
        from rich.table import Table

        from assetloom.app.results import TagsOut

        with open_library() as lib:
            tags = lib.list_tags(used=used)
        if as_json:
            emit_json(TagsOut(tags=tags).to_json())
            return
        table = Table("key", "English", "中文", "assets", "kind")
        for t in tags:
            table.add_row(
                t.key,
                escape(t.name_en),
                escape(t.name_zh),
                str(t.assets),
                "built-in" if t.builtin else "yours",
            )
        out.print(table)

    run(as_json, body)


@tags_app.command("define")
def tags_define(
    key: str = typer.Argument(..., help="Short key, e.g. 'spring-campaign'."),
    name_en: str = typer.Option("", "--en", help="English name."),
    name_zh: str = typer.Option("", "--zh", help="Chinese name."),
    examples: list[str] = typer.Option([], "--example", help="An asset that has this tag."),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        min=-1.0,
        max=1.0,
        help="Cosine an image needs to get the tag (typical 0.05-0.3); default: calibrated.",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Define your own tag and apply it to every image in the library."""

    def body() -> None:
        from assetloom.app.results import TagDefinedOut

        with open_library() as lib, audited(lib, "tag.define", key) as detail:
            n = detail["tagged"] = lib.define_tag(key, name_en, name_zh, examples, threshold)
        if as_json:
            emit_json(TagDefinedOut(key=key, tagged=n).to_json())
        else:
            out.print(f"defined tag {key!r}: {n} images tagged")

    run(as_json, body)


@tags_app.command("show")
def tags_show(
    asset_id: str = typer.Argument(..., help="Asset id or unique prefix."),
    as_json: bool = JsonOpt,
) -> None:
    """The tags of one asset, with scores."""

    def body() -> None:
        from assetloom.app.results import AssetTagsOut

        with open_library() as lib:
            full, tags = lib.tags_of(asset_id)
        if as_json:
            emit_json(AssetTagsOut(asset_id=full, tags=tags).to_json())
            return
        for t in tags:
            out.print(
                f"{t['score']:.3f}  {t['name_en']} / {t['name_zh']}  ({t['source']})", markup=False
            )

    run(as_json, body)
