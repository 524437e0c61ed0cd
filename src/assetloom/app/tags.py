"""The library's own tags: definitions kept in the catalog, applied to every image."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from assetloom.app.results import AssetTagOut, TagOut
from assetloom.core.assets import Space
from assetloom.errors import BadInputError
from assetloom.tagging import TagDefinition

if TYPE_CHECKING:
    from assetloom.app.library import Library
    from assetloom.store.catalog import SqlCatalog

ASSIGNED = 0.5
"""Tagger scores are calibrated so that 0.5 is each tag's own threshold."""
_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_MANUAL_KEY = re.compile(r"^[\w][\w\-.:#+]{0,63}$")
"""A tag a person types (`SKU-1234`, `春季`): letters of any script, digits and -_.:#+."""


class UnknownTagError(BadInputError):
    code = "unknown_tag"


def user_definitions(catalog: SqlCatalog) -> list[TagDefinition]:
    return [
        TagDefinition(
            key=row.key,
            name_en=row.name_en,
            name_zh=row.name_zh,
            threshold=row.threshold if row.threshold >= 0 else None,
            builtin=False,
            examples=tuple(row.examples or ()),
        )
        for row in catalog.user_tag_rows()
    ]


def visual_vectors(lib: Library, asset_ids: list[str]) -> np.ndarray:
    """The stored visual vectors of these assets (the examples of a user tag)."""
    found = lib.catalog.vectors_in(Space.VISUAL, asset_ids)
    missing = [a for a in asset_ids if a not in found]
    if missing:
        raise BadInputError(
            f"example assets without a visual vector: {', '.join(missing)}",
            hint="examples must be images added with understanding on (`assetloom index embed`)",
        )
    return np.stack([np.frombuffer(found[a], dtype=np.float32) for a in asset_ids])


def define_tag(
    lib: Library,
    key: str,
    name_en: str,
    name_zh: str,
    examples: list[str],
    threshold: float | None,
) -> int:
    """Store a tag and apply it to every image; returns how many images it tagged."""
    key = key.strip().lower()
    if not _KEY.match(key):
        raise BadInputError(
            f"tag key {key!r} is not valid", hint="use lowercase letters, digits, '-' and '_'"
        )
    if not (name_en.strip() or name_zh.strip() or examples):
        raise BadInputError("a tag needs an English or Chinese name, or example assets")
    example_ids = [lib.get(e).asset_id for e in examples]
    if example_ids:
        visual_vectors(lib, example_ids)  # fail early, with the reason, if unusable
    if any(d.key == key and d.builtin for d in lib.tagger().definitions):
        raise BadInputError(f"{key!r} is a built-in tag", hint="choose another key")
    with lib.catalog.unit_of_work() as uow:
        uow.save_tag_definition(
            key,
            name_en.strip(),
            name_zh.strip(),
            -1.0 if threshold is None else threshold,
            example_ids,
        )
    lib.reset_tagger()
    return apply_tag(lib, key)


def apply_tag(lib: Library, key: str) -> int:
    """(Re)score every image for one tag and store the ones above its threshold; an asset
    a person tagged by hand keeps that tag, and one where the tag was rejected never gets it."""
    from assetloom.store.metadata import MetadataWrites

    tagger = lib.tagger()
    column = tagger.keys.index(key)
    tagged = 0
    with lib.catalog.unit_of_work() as uow:
        uow.clear_tag(key)
        rows = uow.visual_vectors()
        writes = MetadataWrites(uow.session)
        for start in range(0, len(rows), 4096):
            part = rows[start : start + 4096]
            ids = [asset_id for asset_id, _ in part]
            held, rejected = writes.tags_of(ids), writes.rejected(ids)
            vectors = np.stack([np.frombuffer(v, dtype=np.float32) for _, v in part])
            scores = tagger.scores(vectors)[:, column]
            for (asset_id, _), score in zip(part, scores, strict=True):
                if key in held[asset_id] or key in rejected.get(asset_id, ()):
                    continue
                if score >= ASSIGNED:
                    # scored by the model: not keyword evidence (docs/search.md)
                    uow.add_tags(asset_id, [(key, float(score), "user")])
                    tagged += 1
    return tagged


def vocabulary(catalog: SqlCatalog) -> list[TagDefinition]:
    """Built-in and user-defined tags without the tagger (no text encoder to load)."""
    return list(_builtin()) + user_definitions(catalog)


@functools.cache
def _builtin() -> tuple[TagDefinition, ...]:
    """The shipped vocabulary, read once per process (every asset page resolves names)."""
    from assetloom.tagging import load_builtin_definitions

    return tuple(load_builtin_definitions())


def tag_names(definitions: Iterable[TagDefinition], keys: Iterable[str]) -> list[str]:
    """English and Chinese names of tags for the keyword index; a tag with no definition (one
    a person made up) is its own name."""
    by_key = {d.key: d for d in definitions}
    names: dict[str, None] = {}
    for key in keys:
        d = by_key.get(key)
        for name in (d.name_en, d.name_zh) if d else (key,):
            if name.strip():
                names.setdefault(name.strip(), None)
    return list(names)


def resolve_tags(
    labels: Iterable[str], definitions: list[TagDefinition], in_use: set[str]
) -> list[str]:
    """Tag keys for what a person typed: a key, an English or a Chinese name (`--tag 狗` and
    `--tag dog` are the same filter), or a tag some asset has; anything else is an
    UnknownTagError naming the close ones."""
    return [_resolve(label, definitions, in_use, strict=True) or "" for label in labels]


def manual_tag_key(label: str, definitions: list[TagDefinition]) -> str:
    """The key a person's tag is stored under: a known tag's key when the label names one
    (`狗` is `dog`), else the label itself, lower case, spaces as '-' (`SKU 1234`: `sku-1234`)."""
    found = _resolve(label, definitions, set(), strict=False)
    if found:
        return found
    key = re.sub(r"\s+", "-", label.strip()).lower()
    if not _MANUAL_KEY.match(key):
        raise BadInputError(
            f"tag {label!r} is not valid",
            hint="use letters, digits and - _ . : # + (at most 64 characters)",
        )
    return key


def _resolve(
    label: str, definitions: list[TagDefinition], in_use: set[str], *, strict: bool
) -> str | None:
    text = label.strip()
    folded = text.casefold()
    if not text:
        raise BadInputError("a tag cannot be empty")
    for d in definitions:
        if folded in (d.key, d.name_en.casefold()) or (d.name_zh and text == d.name_zh):
            return d.key
    normal = re.sub(r"\s+", "-", folded)
    if normal in in_use:
        return normal
    if not strict:
        return None
    names = {d.key for d in definitions} | {d.name_en for d in definitions}
    names |= {d.name_zh for d in definitions if d.name_zh} | in_use
    by_folded = {n.casefold(): n for n in sorted(names)}
    close = [by_folded[n] for n in difflib.get_close_matches(folded, by_folded, n=5, cutoff=0.6)]
    raise UnknownTagError(
        f"no tag {label!r} in this library",
        hint=f"did you mean: {', '.join(close)}?"
        if close
        else "`assetloom tags list` shows the tags",
    )


def list_tags(lib: Library) -> list[TagOut]:
    counts = dict(lib.catalog.tag_counts())
    return [
        TagOut(
            key=d.key,
            name_en=d.name_en,
            name_zh=d.name_zh,
            builtin=d.builtin,
            assets=int(counts.get(d.key, 0)),
        )
        for d in lib.tagger().definitions
    ]


def used_tags(lib: Library, limit: int = 100) -> list[TagOut]:
    """The tags assets have, most used first, with their names; unlike `list_tags` it needs
    no text encoder, so a page can offer them without loading a model."""
    from assetloom.tagging import load_builtin_definitions

    counts = lib.catalog.tag_counts(limit)
    if not counts:
        return []
    names = {d.key: d for d in load_builtin_definitions() + user_definitions(lib.catalog)}
    return [
        TagOut(
            key=key,
            name_en=names[key].name_en if key in names else key,
            name_zh=names[key].name_zh if key in names else "",
            builtin=names[key].builtin if key in names else False,
            assets=int(n),
        )
        for key, n in counts
    ]


def tags_of(lib: Library, asset_id: str) -> list[dict[str, Any]]:
    """The asset's tags as `AssetTagOut` documents (the web page shows them as they are)."""
    tagger = lib.tagger()
    by_key = {d.key: d for d in tagger.definitions}
    rows = lib.catalog.tags_of(asset_id)
    return [
        AssetTagOut(
            key=key,
            name_en=by_key[key].name_en if key in by_key else key,
            name_zh=by_key[key].name_zh if key in by_key else "",
            score=round(float(score), 4),
            source=source,
        ).to_json()
        for key, score, source in rows
    ]
