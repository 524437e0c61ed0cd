"""Metadata a person edits: title, description, keywords, creator, rights, usage, rating,
status and the library's custom fields; tags by hand (add, remove, reject an auto-tag).

Every call takes many ids at once and runs as one transaction: the new values, one history row
per changed field (who, when, field, old, new), the tags and the keyword rows commit together.
An edited title or description is searchable both ways: by keyword (the asset's `asset_text`
row gets the edited title, description and keywords) and by meaning (the text encoder embeds
"title + description" into the shared text space as a segment vector of source "metadata",
as ingest embeds passages; only with understanding on).

What the file itself said (the extractor's title, description, keywords, creator, copyright)
is the starting point: `asset_meta` holds only what was edited, so a field never edited keeps
showing the file's value and "reset" (null) goes back to it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from assetloom.app.results import AssetTagOut, Shape, iso
from assetloom.app.tags import manual_tag_key, resolve_tags, tag_names, vocabulary
from assetloom.core.assets import Asset, Segment, Space
from assetloom.errors import BadInputError
from assetloom.store.base import NewVector, UnitOfWork
from assetloom.store.catalog import MANUAL
from assetloom.store.metadata import (
    AssetBrief,
    FieldDefinition,
    MetadataWrites,
    MetaState,
    SqlMetadataStore,
)

if TYPE_CHECKING:
    from assetloom.app.library import Library
    from assetloom.app.wiring import Ports
    from assetloom.settings import Settings
    from assetloom.tagging import TagDefinition

STATUSES = ("draft", "in_review", "approved", "archived")
FIELD_KINDS = ("text", "number", "date", "choice")
TEXTS = ("title", "description", "creator", "copyright", "licence")
MAX_IDS = 10_000
"""Ids one call may change (one transaction; the contract between the #13 interfaces)."""
METADATA_SOURCE = "metadata"
"""The segment source of the edited title + description's vector in the text space."""
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MAX_TEXT = 20_000
_MAX_LIST = 500
_FROM_FILE = {
    "title": ("title",),
    "description": ("description",),
    "creator": ("creator", "artist", "author"),
    "copyright": ("copyright",),
}


class UnknownFieldError(BadInputError):
    code = "unknown_field"


class MetadataValueError(BadInputError):
    code = "bad_metadata"


# ---------------------------------------------------------------------- shapes
class UsageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires: str | None = None
    """YYYY-MM-DD, or null for no expiry."""
    channels: list[str] | None = None
    approved_for: list[str] | None = None


class MetaPatch(BaseModel):
    """What an edit may set (`PATCH /api/v1/assets/{id}`, `meta set`); only the keys given
    change. null resets a text to what the file says, a rating or status to unset, a custom
    field to no value."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    description: str | None = None
    keywords: list[str] | None = None
    creator: str | None = None
    copyright: str | None = None
    licence: str | None = None
    usage: UsageIn | None = None
    rating: int | None = None
    status: str | None = None
    fields: dict[str, Any] | None = None


class UsageOut(Shape):
    expires: str | None
    channels: list[str]
    approved_for: list[str]


class MetaOut(Shape):
    """`meta show --json` and `GET /api/v1/assets/{id}/meta`: the asset's editable metadata."""

    asset_id: str
    original_name: str
    title: str
    description: str
    keywords: list[str]
    creator: str
    copyright: str
    licence: str
    usage: UsageOut
    rating: int | None
    status: str | None
    fields: dict[str, Any]
    tags: list[AssetTagOut]
    rejected_tags: list[str]
    edited: list[str]
    """The fields a person set (the others show what the file says)."""
    updated_at: str | None
    updated_by: str | None


class UpdatedOut(Shape):
    """`POST /api/v1/assets/meta` and `/tags`, `meta set`/`tag add|remove` on many ids."""

    updated: int
    asset_ids: list[str]


class HistoryEntryOut(Shape):
    id: int
    field: str
    old: Any
    new: Any
    actor: str
    at: str


class HistoryOut(Shape):
    """`meta history --json` and `GET /api/v1/assets/{id}/history`: newest first."""

    asset_id: str
    entries: list[HistoryEntryOut]


class FieldOut(Shape):
    name: str
    kind: Literal["text", "number", "date", "choice"]
    choices: list[str]
    label: str


class FieldsOut(Shape):
    """`meta field list --json` and `GET /api/v1/meta/fields`."""

    fields: list[FieldOut]


class RejectedOut(Shape):
    """`tag reject --json` and `POST /api/v1/assets/{id}/tags/{tag}/reject`."""

    asset_id: str
    tag: str
    was_present: bool


# ---------------------------------------------------------------------- reading
def metadata(lib: Library, asset_ids: Sequence[str]) -> list[MetaOut]:
    """The editable metadata of assets (ids or unique prefixes), in the order given."""
    assets = resolve_assets(lib, asset_ids)
    store = SqlMetadataStore(lib.catalog.read_session)
    ids = [a.asset_id for a in assets]
    states, rejected = store.states(ids), store.rejected(ids)
    definitions = vocabulary(lib.catalog)
    return [
        _out(
            a,
            states[a.asset_id],
            lib.catalog.tags_of(a.asset_id),
            rejected.get(a.asset_id, set()),
            definitions,
        )
        for a in assets
    ]


def history(lib: Library, asset_id: str, limit: int = 1000) -> HistoryOut:
    asset = lib.get(asset_id)
    entries = SqlMetadataStore(lib.catalog.read_session).history(asset.asset_id, limit)
    return HistoryOut(
        asset_id=asset.asset_id,
        entries=[
            HistoryEntryOut(
                id=e.id, field=e.field, old=e.old, new=e.new, actor=e.actor, at=iso(e.at)
            )
            for e in entries
        ],
    )


def fields(lib: Library) -> FieldsOut:
    return FieldsOut(
        fields=[_field_out(f) for f in SqlMetadataStore(lib.catalog.read_session).fields()]
    )


# ---------------------------------------------------------------------- editing
def set_metadata(
    lib: Library, asset_ids: Sequence[str], patch: MetaPatch | Mapping[str, Any], actor: str
) -> UpdatedOut:
    """Apply one patch to every asset (one transaction); `updated` counts the assets where
    something changed (setting what is there already writes no history)."""
    if not isinstance(patch, MetaPatch):
        patch = parse_patch(patch)
    by_id = resolve_ids(lib, asset_ids)
    given = patch.model_fields_set
    if not given:
        raise BadInputError("nothing to set", hint="give at least one field, e.g. --title")
    definitions = {f.name: f for f in SqlMetadataStore(lib.catalog.read_session).fields()}
    changes = _validated(patch, definitions)
    now = datetime.now(UTC)
    # Slow work outside the write transaction: embed the texts the edit will make.
    before = SqlMetadataStore(lib.catalog.read_session).states(by_id)
    texts = {
        _search_text(by_id[a], _apply(s, changes))
        for a, s in before.items()
        if {"title", "description"} & set(changes)
    }
    vectors = _embed(lib, texts - {""})
    updated: list[str] = []
    old_rows: list[tuple[int, str]] = []
    new_rows: list[tuple[int, str, bytes]] = []
    with lib.catalog.unit_of_work() as uow:
        writes = MetadataWrites(uow.session)
        states = writes.states(by_id)
        changed_states: list[MetaState] = []
        rows: list[tuple[str, str, Any, Any]] = []
        keyword_docs: dict[str, dict[str, str]] = {}
        embed: dict[str, str] = {}
        for aid, asset in by_id.items():  # in the order given
            state = states[aid]
            old_eff = _effective(asset, state.values)
            new_values = _apply(state, changes)
            new_eff = _effective(asset, new_values)
            diffs = _diff(old_eff, new_eff)
            if not diffs:
                continue
            rows += [(aid, f, old, new) for f, old, new in diffs]
            state.values = new_values
            changed_states.append(state)
            updated.append(aid)
            if any(f in ("title", "description", "keywords") for f, _, _ in diffs):
                keyword_docs[aid] = {
                    "title": new_eff["title"],
                    "description": new_eff["description"],
                    "keywords": " ".join(new_eff["keywords"]),
                }
            if any(f in ("title", "description") for f, _, _ in diffs):
                embed[aid] = _search_text(asset, new_values)
        writes.save(changed_states, rows, actor, now)
        uow.set_keyword_fields(keyword_docs)
        if embed and lib.settings.understanding:
            missing = {t for t in embed.values() if t and t not in vectors}
            vectors.update(_embed(lib, missing))
            old_rows, new_rows = _replace_vectors(uow, writes, embed, vectors)
    _reindex(lib, old_rows, new_rows)
    return UpdatedOut(updated=len(updated), asset_ids=updated)


def define_field(
    lib: Library, name: str, kind: str, choices: Sequence[str], label: str, actor: str
) -> FieldOut:
    """Create (or change) a custom field of this library."""
    name = name.strip().lower()
    if not _FIELD_NAME.match(name):
        raise BadInputError(
            f"field name {name!r} is not valid",
            hint="start with a letter; lowercase letters, digits and '_' (at most 64)",
        )
    if name in MetaPatch.model_fields:
        raise BadInputError(f"{name!r} is a built-in field", hint="choose another name")
    if kind not in FIELD_KINDS:
        raise BadInputError(f"field kind {kind!r} is not one of {', '.join(FIELD_KINDS)}")
    options = list(dict.fromkeys(c.strip() for c in choices if c.strip()))
    if kind == "choice" and not options:
        raise BadInputError("a choice field needs its choices", hint="e.g. --choices web,print")
    if kind != "choice" and options:
        raise BadInputError(f"only choice fields have choices, not {kind} ones")
    with lib.catalog.unit_of_work() as uow:
        MetadataWrites(uow.session).define_field(
            name, kind, options, label.strip(), datetime.now(UTC)
        )
    return FieldOut(name=name, kind=kind, choices=options, label=label.strip())  # type: ignore[arg-type]


# ---------------------------------------------------------------------- tags
def change_tags(
    lib: Library,
    asset_ids: Sequence[str],
    add: Iterable[str],
    remove: Iterable[str],
    actor: str,
) -> UpdatedOut:
    """Add and remove tags by hand on many assets in one transaction. An added tag that
    names a known one (`狗`, `dog`) is that tag; a new label (`SKU-1234`) becomes a tag of its
    own. Removing takes the tag off now; the tagger may put an auto-tag back on a later run
    (`reject_tag` keeps it off)."""
    definitions = vocabulary(lib.catalog)
    add_keys = list(dict.fromkeys(manual_tag_key(t, definitions) for t in add))
    in_use = SqlMetadataStore(lib.catalog.read_session).tag_keys_in_use()
    remove_keys = list(dict.fromkeys(resolve_tags(remove, definitions, in_use | set(add_keys))))
    if not add_keys and not remove_keys:
        raise BadInputError("no tags to add or remove")
    if both := set(add_keys) & set(remove_keys):
        raise BadInputError(f"{', '.join(sorted(both))}: both added and removed")
    ids = list(resolve_ids(lib, asset_ids))
    now = datetime.now(UTC)
    updated: list[str] = []
    with lib.catalog.unit_of_work() as uow:
        writes = MetadataWrites(uow.session)
        held = writes.tags_of(ids)
        adds = [(a, k) for a in ids for k in add_keys if held[a].get(k) != MANUAL]
        removes = [(a, k) for a in ids for k in remove_keys if k in held[a]]
        writes.add_manual_tags(adds, held=held)
        writes.remove_tags(removes)
        touched = list(dict.fromkeys([a for a, _ in adds] + [a for a, _ in removes]))
        after = {a: set(held[a]) | set(add_keys) for a in touched}
        for a in touched:
            after[a] -= set(remove_keys)
        writes.add_history(
            [(a, "tags", sorted(held[a]), sorted(after[a])) for a in touched], actor, now
        )
        # Only a person's tags are keyword evidence (revision 0016, docs/search.md).
        manual = {
            a: [k for k in after[a] if k in add_keys or held[a].get(k) == MANUAL] for a in touched
        }
        uow.set_keyword_fields(
            {a: {"tags": " ".join(tag_names(definitions, sorted(manual[a])))} for a in touched}
        )
        updated = touched
    return UpdatedOut(updated=len(updated), asset_ids=updated)


def reject_tag(lib: Library, asset_id: str, label: str, actor: str) -> RejectedOut:
    """Take an auto-tag off an asset for good: the tagger's later runs (`tags define`,
    `index embed`) never put it back on this asset. A person may still add it by hand."""
    asset = lib.get(asset_id)
    definitions = vocabulary(lib.catalog)
    store = SqlMetadataStore(lib.catalog.read_session)
    key = resolve_tags([label], definitions, store.tag_keys_in_use())[0]
    now = datetime.now(UTC)
    with lib.catalog.unit_of_work() as uow:
        writes = MetadataWrites(uow.session)
        held = writes.tags_of([asset.asset_id])[asset.asset_id]
        writes.reject_tags([(asset.asset_id, key)], actor, now)
        after = writes.tags_of([asset.asset_id])[asset.asset_id]
        writes.add_history([(asset.asset_id, "tags.rejected", None, key)], actor, now)
        manual = sorted(k for k, source in after.items() if source == MANUAL)
        uow.set_keyword_fields({asset.asset_id: {"tags": " ".join(tag_names(definitions, manual))}})
    return RejectedOut(asset_id=asset.asset_id, tag=key, was_present=key in held)


def filter_tags(lib: Library, labels: Sequence[str]) -> list[str]:
    """Tag keys for filter labels (key, en or zh name); an unknown one is an UnknownTagError
    suggesting close ones. The CLI's `search --tag` and `list --tag` resolve through this."""
    if not labels:
        return []
    in_use = SqlMetadataStore(lib.catalog.read_session).tag_keys_in_use()
    return list(dict.fromkeys(resolve_tags(labels, vocabulary(lib.catalog), in_use)))


def edited_keyword_fields(states: Mapping[str, MetaState]) -> dict[str, dict[str, str]]:
    """The keyword fields a person edited, per asset: re-embedding rewrites an asset's
    keyword row from its file and must keep these."""
    out: dict[str, dict[str, str]] = {}
    for aid, state in states.items():
        doc = {
            k: state.values[k] for k in ("title", "description") if state.values.get(k) is not None
        }
        if state.values.get("keywords") is not None:
            doc["keywords"] = " ".join(state.values["keywords"])
        if doc:
            out[aid] = doc
    return out


# ---------------------------------------------------------------------- ids
def resolve_assets(lib: Library, asset_ids: Sequence[str]) -> list[Asset]:
    """Whole assets (for reading and exporting a few), in the order given, duplicates
    dropped; unknown ids fail before anything is done."""
    briefs = resolve_ids(lib, asset_ids)
    found = lib.get_many(briefs)
    return [found[a] for a in briefs]


def resolve_ids(lib: Library, asset_ids: Sequence[str]) -> dict[str, AssetBrief]:
    """Full ids in one query per chunk; prefixes one by one (like `show`). Unknown ones fail
    the whole call before anything is written."""
    wanted = list(dict.fromkeys(a.strip().lower() for a in asset_ids if a.strip()))
    if not wanted:
        raise BadInputError("no asset ids given")
    if len(wanted) > MAX_IDS:
        raise BadInputError(
            f"{len(wanted)} ids in one call; at most {MAX_IDS}", hint="split the ids into calls"
        )
    found = SqlMetadataStore(lib.catalog.read_session).briefs(wanted)
    out: dict[str, AssetBrief] = {}
    for aid in wanted:
        brief = found.get(aid)
        if brief is None:
            asset = lib.get(aid)
            brief = AssetBrief(asset.asset_id, asset.original_name, asset.metadata or {})
        out.setdefault(brief.asset_id, brief)
    return out


# ---------------------------------------------------------------------- rules
def parse_patch(doc: Mapping[str, Any]) -> MetaPatch:
    """A patch from a plain dict (the CLI's), with our error for an unknown key."""
    unknown = sorted(set(doc) - set(MetaPatch.model_fields))
    if unknown:
        raise UnknownFieldError(
            f"unknown metadata field {unknown[0]!r}",
            hint=f"the fields are {', '.join(MetaPatch.model_fields)}; custom ones go under fields",
        )
    try:
        return MetaPatch.model_validate(dict(doc))
    except ValueError as exc:
        raise MetadataValueError(f"bad metadata: {exc}".splitlines()[0][:300]) from exc


def _validated(patch: MetaPatch, definitions: Mapping[str, FieldDefinition]) -> dict[str, Any]:
    """The patch's keys with checked, normalised values (what `_apply` stores)."""
    out: dict[str, Any] = {}
    for key in patch.model_fields_set:
        value = getattr(patch, key)
        if key in TEXTS:
            out[key] = None if value is None else _text(key, value)
        elif key == "keywords":
            out[key] = None if value is None else _labels("keywords", value)
        elif key == "rating":
            if value is not None and not 0 <= value <= 5:
                raise MetadataValueError(
                    f"rating {value} is out of range", hint="a rating is 0 to 5 stars (null: none)"
                )
            out[key] = value
        elif key == "status":
            if value is not None and value not in STATUSES:
                raise MetadataValueError(
                    f"unknown status {value!r}", hint=f"use one of {', '.join(STATUSES)}"
                )
            out[key] = value
        elif key == "usage":
            if value is None:
                out[key] = None
                continue
            usage: dict[str, Any] = {}
            for sub in value.model_fields_set:
                v = getattr(value, sub)
                if sub == "expires":
                    usage[sub] = None if v is None else _date("usage.expires", v)
                else:
                    usage[sub] = [] if v is None else _labels(f"usage.{sub}", v)
            out[key] = usage
        elif key == "fields":
            checked = {}
            for name, v in (value or {}).items():
                field = definitions.get(name)
                if field is None:
                    raise UnknownFieldError(
                        f"unknown custom field {name!r}",
                        hint=(
                            f"defined fields: {', '.join(sorted(definitions))}"
                            if definitions
                            else "define one first: `assetloom meta field add NAME --kind text`"
                        ),
                    )
                checked[name] = None if v is None else _field_value(field, v)
            out[key] = checked
    return out


def _text(key: str, value: str) -> str:
    value = value.strip()
    if len(value) > _MAX_TEXT:
        raise MetadataValueError(f"{key} is longer than {_MAX_TEXT} characters")
    return value


def _labels(key: str, values: Iterable[str]) -> list[str]:
    out = list(dict.fromkeys(str(v).strip() for v in values if str(v).strip()))
    if len(out) > _MAX_LIST:
        raise MetadataValueError(f"{key}: at most {_MAX_LIST} values")
    return out


def _date(key: str, value: str) -> str:
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise MetadataValueError(
            f"{key}: {value!r} is not a date", hint="write dates as YYYY-MM-DD"
        ) from None


def _field_value(field: FieldDefinition, value: Any) -> Any:
    name = f"fields.{field.name}"
    if field.kind == "text":
        return _text(name, str(value))
    if field.kind == "number":
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise MetadataValueError(f"{name}: {value!r} is not a number")
        return int(number) if number.is_integer() and not isinstance(value, float) else number
    if field.kind == "date":
        return _date(name, value)
    if str(value) not in field.choices:
        raise MetadataValueError(
            f"{name}: {value!r} is not one of its choices",
            hint=f"choose one of {', '.join(field.choices)}",
        )
    return str(value)


def _apply(state: MetaState, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The stored values after the change (usage and fields merge key by key)."""
    values = dict(state.values)
    for key, value in changes.items():
        if key == "usage" and value is not None:
            merged = {
                "expires": None,
                "channels": [],
                "approved_for": [],
                **(values.get("usage") or {}),
            }
            merged.update(value)
            values[key] = merged
        elif key == "fields":
            merged = dict(values.get("fields") or {})
            for name, v in value.items():
                if v is None:
                    merged.pop(name, None)
                else:
                    merged[name] = v
            values[key] = merged or None
        else:
            values[key] = value
    return values


def _effective(asset: Asset | AssetBrief, values: Mapping[str, Any]) -> dict[str, Any]:
    """What the asset shows: the edited value, else what its file said."""
    meta = asset.metadata or {}
    out: dict[str, Any] = {}
    for key in TEXTS:
        stored = values.get(key)
        if stored is None:
            stored = next((str(meta[k]) for k in _FROM_FILE.get(key, ()) if meta.get(k)), "")
        out[key] = stored
    keywords = values.get("keywords")
    if keywords is None:
        found = meta.get("keywords") or []
        keywords = [str(k) for k in found] if isinstance(found, list) else [str(found)]
    out["keywords"] = list(keywords)
    usage = values.get("usage") or {}
    out["usage.expires"] = usage.get("expires")
    out["usage.channels"] = list(usage.get("channels") or [])
    out["usage.approved_for"] = list(usage.get("approved_for") or [])
    out["rating"] = values.get("rating")
    out["status"] = values.get("status")
    for name, v in (values.get("fields") or {}).items():
        out[f"fields.{name}"] = v
    return out


def _diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    return [
        (k, old.get(k), new.get(k)) for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)
    ]


def _search_text(asset: Asset | AssetBrief, values: Mapping[str, Any]) -> str:
    shown = _effective(asset, values)
    return "\n".join(t for t in (shown["title"], shown["description"]) if t).strip()


def _embed(lib: Library, texts: set[str]) -> dict[str, tuple[bytes, str]]:
    """text -> (float32 vector bytes, model) in the shared text space; nothing when
    understanding is off (no encoder is loaded)."""
    if not texts or not lib.settings.understanding:
        return {}
    return _encode(lib.settings, texts)


def _encode(settings: Settings, texts: set[str]) -> dict[str, tuple[bytes, str]]:
    from assetloom.models.registry import get_text_encoder

    encoder = get_text_encoder(settings.model, settings.model_cache)
    ordered = sorted(texts)
    vectors = encoder.encode_passages(ordered)
    return {
        t: (np.asarray(vectors[i], dtype=np.float32).tobytes(), encoder.name)
        for i, t in enumerate(ordered)
    }


def embed_edited(ports: Ports, asset_ids: Sequence[str]) -> int:
    """The text-space vectors of edited titles and descriptions again, after re-embedding
    (`index embed`) replaced these assets' vectors; how many were made. The caller rebuilds
    the vector index, as `index embed` does."""
    store = SqlMetadataStore(ports.catalog.read_session)
    states, briefs = store.states(asset_ids), store.briefs(asset_ids)
    texts = {
        aid: _search_text(briefs[aid], state.values)
        for aid, state in states.items()
        if aid in briefs
        and (state.values["title"] is not None or state.values["description"] is not None)
    }
    texts = {aid: t for aid, t in texts.items() if t}
    if not texts:
        return 0
    vectors = _encode(ports.settings, set(texts.values()))
    with ports.catalog.unit_of_work() as uow:
        _replace_vectors(uow, MetadataWrites(uow.session), texts, vectors)
    return len(texts)


def _replace_vectors(
    uow: UnitOfWork,
    writes: MetadataWrites,
    texts: Mapping[str, str],
    vectors: Mapping[str, tuple[bytes, str]],
) -> tuple[list[tuple[int, str]], list[tuple[int, str, bytes]]]:
    """Each asset's one `metadata` text-space vector replaced by its edited text's (none for
    an empty text): the rows taken out and those put in, for the vector index."""
    old_rows = writes.metadata_vector_rows(texts, METADATA_SOURCE)
    writes.delete_vectors(r for r, _ in old_rows)
    new_rows = uow.add_vectors(
        NewVector(
            aid,
            Space.TEXT.value,
            model=vectors[text][1],
            vector=vectors[text][0],
            segment=Segment(METADATA_SOURCE, text=text),
        )
        for aid, text in texts.items()
        if text
    )
    return old_rows, new_rows


def _reindex(lib: Library, old: list[tuple[int, str]], new: list[tuple[int, str, bytes]]) -> None:
    if not old and not new:
        return
    with lib.index_lock.writing():
        index = lib.vector_spaces()
        if old:
            index.remove_rows(old)
        if new:
            index.add_rows(new)
    lib.indexes.changed()


def _out(
    asset: Asset,
    state: MetaState,
    tags: list[tuple[str, float, str]],
    rejected: set[str],
    definitions: list[TagDefinition],
) -> MetaOut:
    shown = _effective(asset, state.values)
    by_key = {d.key: d for d in definitions}
    edited = [k for k in (*TEXTS, "keywords", "usage", "fields") if state.values.get(k) is not None]
    edited += [k for k in ("rating", "status") if state.values.get(k) is not None]
    return MetaOut(
        asset_id=asset.asset_id,
        original_name=asset.original_name,
        title=shown["title"],
        description=shown["description"],
        keywords=shown["keywords"],
        creator=shown["creator"],
        copyright=shown["copyright"],
        licence=shown["licence"],
        usage=UsageOut(
            expires=shown["usage.expires"],
            channels=shown["usage.channels"],
            approved_for=shown["usage.approved_for"],
        ),
        rating=shown["rating"],
        status=shown["status"],
        fields=dict(state.values.get("fields") or {}),
        tags=[
            AssetTagOut(
                key=k,
                name_en=by_key[k].name_en if k in by_key else k,
                name_zh=by_key[k].name_zh if k in by_key else "",
                score=round(score, 4),
                source=source,
            )
            for k, score, source in tags
        ],
        rejected_tags=sorted(rejected),
        edited=edited,
        updated_at=iso(state.updated_at) if state.updated_at else None,
        updated_by=state.updated_by,
    )


def _field_out(f: FieldDefinition) -> FieldOut:
    return FieldOut(name=f.name, kind=f.kind, choices=list(f.choices), label=f.label)  # type: ignore[arg-type]
