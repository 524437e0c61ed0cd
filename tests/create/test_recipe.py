"""Recipes are plain data with one canonical JSON form, and refuse what lineage could not use."""

from __future__ import annotations

import hashlib
import json

import pytest

from assetloom.create.generators import Generated, Parent, Recipe
from assetloom.create.generators.base import MAX_SEED, resolve_seed
from assetloom.errors import BadInputError


def _recipe(**changes: object) -> Recipe:
    fields: dict[str, object] = {
        "kind": "image",
        "backend": "diffusers",
        "model": "sd-turbo",
        "prompt": "一只狗在海滩上, golden hour",
        "seed": 42,
        "parameters": {"width": 512, "steps": 4, "guidance": 0.0, "size": (64, 64)},
        "parents": [("a1b2c3", "reference"), ("d4e5f6", "style")],
    }
    fields.update(changes)
    return Recipe(**fields)  # type: ignore[arg-type]


def test_json_round_trip_gives_an_equal_recipe() -> None:
    recipe = _recipe()
    again = Recipe.from_json(recipe.to_json())
    assert again == recipe
    assert again.parents == (Parent("a1b2c3", "reference"), Parent("d4e5f6", "style"))
    assert again.parents[0].role == "reference"
    assert again.parameters["size"] == [64, 64]  # JSON has no tuples: normalised at once


def test_json_is_canonical_and_names_the_recipe() -> None:
    text = _recipe().to_json()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "一只狗" in text  # UTF-8 kept, not \\u-escaped
    assert data["version"] == 1
    assert data["parents"][1] == {"asset_id": "d4e5f6", "role": "style"}
    reordered = _recipe(parameters={"size": [64, 64], "guidance": 0.0, "steps": 4, "width": 512})
    assert reordered.to_json() == text
    assert reordered.digest() == hashlib.sha256(text.encode()).hexdigest()
    assert _recipe(seed=43).digest() != reordered.digest()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "must be an object"),
        ('{"version": 2}', "version 2"),
        ('{"version": 1, "kind": "text"}', "lacks backend, model, parameters, prompt, seed"),
    ],
)
def test_bad_json_is_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        Recipe.from_json(text)


def test_unknown_keys_and_bad_parents_are_refused() -> None:
    data = json.loads(_recipe().to_json())
    with pytest.raises(BadInputError, match="unknown keys colour"):
        Recipe.from_json(json.dumps({**data, "colour": "red"}))
    with pytest.raises(BadInputError, match="parents"):
        Recipe.from_json(json.dumps({**data, "parents": [["a1b2c3", "reference"]]}))


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "hologram"},
        {"backend": ""},
        {"model": None},
        {"prompt": 3},
        {"seed": -1},
        {"seed": MAX_SEED + 1},
        {"seed": True},
        {"seed": 1.5},
        {"parameters": {"strength": float("nan")}},
        {"parameters": {1: "x"}},
        {"parameters": {"mask": b"\x00"}},
        {"parents": [("a1b2c3",)]},
        {"parents": [("", "reference")]},
    ],
)
def test_a_recipe_lineage_could_not_use_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(BadInputError):
        _recipe(**changes)


def test_every_recipe_has_a_seed() -> None:
    assert resolve_seed(7) == 7
    fresh = resolve_seed(None)
    assert isinstance(fresh, int) and 0 <= fresh <= MAX_SEED


def test_generated_carries_bytes_type_and_recipe() -> None:
    out = Generated(b"\x89PNG...", "image/png", _recipe())
    assert (out.data[:4], out.media_type, out.recipe.backend) == (
        b"\x89PNG",
        "image/png",
        "diffusers",
    )
