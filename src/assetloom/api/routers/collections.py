"""Collections: list, create, show one (a page of its members), change, delete; add and
remove items in bulk (up to 10,000 ids, one transaction per call). Like `collection --json`."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from assetloom.api.auth import Editor, Viewer, audited
from assetloom.api.context import Svc
from assetloom.api.schemas import errors
from assetloom.app import collections
from assetloom.app.collections import (
    CollectionListOut,
    CollectionOut,
    CollectionShowOut,
    ItemsChangedOut,
    SavedSearch,
)
from assetloom.app.trash import MAX_IDS

router = APIRouter(
    prefix="/api/v1/collections", tags=["collections"], default_response_class=JSONResponse
)
Name = Annotated[str, PathParam(min_length=1, max_length=200, description="The collection")]


class SavedSearchIn(BaseModel):
    text: str | None = Field(default=None, max_length=1000, description="Words to search for")
    tags: list[str] = Field(default_factory=list, max_length=20)
    media_type: str | None = Field(default=None, max_length=16)


class CollectionCreateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    parent: str | None = Field(default=None, max_length=200, description="Put it inside this")
    description: str = Field(default="", max_length=2000)
    query: SavedSearchIn | None = Field(
        default=None, description="A smart collection: its members are this search's results"
    )


class CollectionPatchIn(BaseModel):
    """Only the fields given change; `parent: null` moves it to the top, `cover: null` makes
    the first item the cover again."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent: str | None = Field(default=None, max_length=200)
    cover: str | None = Field(default=None, max_length=64, description="One of its items")
    description: str | None = Field(default=None, max_length=2000)
    order: list[str] | None = Field(
        default=None, max_length=MAX_IDS, description="These items first, in this order"
    )


class IdsIn(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=MAX_IDS, description="Asset ids")


@router.get(
    "",
    summary="Every collection (like `collection list --json`)",
    response_model=CollectionListOut,
    responses=errors(401),
)
def list_collections(svc: Svc, who: Viewer) -> CollectionListOut:
    return collections.list_all(svc.lib)


@router.post(
    "",
    summary="Make a collection, or a smart one from a saved search",
    response_model=CollectionOut,
    responses=errors(400, 401, 403, 404, 409),
)
def create_collection(
    request: Request, svc: Svc, who: Editor, body: CollectionCreateIn
) -> CollectionOut:
    with audited(request, svc, who, "collection.create", body.name) as detail:
        saved = SavedSearch(**body.query.model_dump()) if body.query is not None else None
        made = collections.create(
            svc.lib,
            body.name,
            by=who.name,
            parent=body.parent,
            query=saved,
            description=body.description,
        )
        detail.update(parent=made.parent, query=made.query)
    return made


@router.get(
    "/{name}",
    summary="One collection with a page of its members (like `collection show --json`)",
    response_model=CollectionShowOut,
    responses=errors(400, 401, 404),
)
async def show_collection(
    svc: Svc,
    who: Viewer,
    name: Name,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CollectionShowOut:
    # A smart collection runs its search: in a compute slot, like the search routes.
    return await svc.compute(partial(collections.show, limit=limit, offset=offset), svc.lib, name)


@router.patch(
    "/{name}",
    summary="Rename, move, set the cover, describe or reorder a collection",
    response_model=CollectionOut,
    responses=errors(400, 401, 403, 404, 409),
)
def change_collection(
    request: Request, svc: Svc, who: Editor, name: Name, body: CollectionPatchIn
) -> CollectionOut:
    given = body.model_fields_set
    change: dict[str, Any] = {
        "new_name": body.name,
        "description": body.description,
        "order": body.order,
    }
    if "parent" in given:
        change.update(parent=body.parent, move=True)
    if "cover" in given:
        change.update(cover=body.cover, set_cover=True)
    with audited(request, svc, who, "collection.update", name) as detail:
        changed = collections.update(svc.lib, name, **change)
        detail.update(fields=sorted(given))
    return changed


@router.delete(
    "/{name}",
    summary="Delete a collection and its share links (its assets stay)",
    response_model=CollectionOut,
    responses=errors(401, 403, 404),
)
def delete_collection(request: Request, svc: Svc, who: Editor, name: Name) -> CollectionOut:
    with audited(request, svc, who, "collection.delete", name):
        return collections.delete(svc.lib, name)


@router.post(
    "/{name}/items",
    summary="Add assets, in the order given (one transaction, up to 10,000 ids)",
    response_model=ItemsChangedOut,
    responses=errors(400, 401, 403, 404),
)
def add_items(request: Request, svc: Svc, who: Editor, name: Name, body: IdsIn) -> ItemsChangedOut:
    with audited(request, svc, who, "collection.add", name) as detail:
        changed = collections.add(svc.lib, name, body.ids)
        detail.update(ids=len(body.ids), added=changed.added)
    return changed


@router.delete(
    "/{name}/items",
    summary="Take assets out (they stay in the library)",
    response_model=ItemsChangedOut,
    responses=errors(400, 401, 403, 404),
)
def remove_items(
    request: Request, svc: Svc, who: Editor, name: Name, body: IdsIn
) -> ItemsChangedOut:
    with audited(request, svc, who, "collection.remove", name) as detail:
        changed = collections.remove(svc.lib, name, body.ids)
        detail.update(ids=len(body.ids), removed=changed.removed)
    return changed
