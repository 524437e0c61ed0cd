"""text=gemma: real copy from the packaged Gemma 3 270M on the CPU (each load costs seconds,
so the generations are few and short)."""

from __future__ import annotations

import importlib.util

import pytest

from assetloom.create.generators import get_generator
from assetloom.create.generators.base import TextGenerator
from assetloom.create.generators.template_text import MEDIA_TYPE
from assetloom.create.generators.text_gemma import ATTEMPTS, MAX_NEW_TOKENS, MODEL, PACKAGE
from assetloom.create.generators.text_openai import check_copy

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec(PACKAGE) is None or importlib.util.find_spec("gguf") is None,
    reason="the Gemma 3 270M model package (requirements/models.txt) or gguf is not installed",
)


def parts(data: bytes) -> dict[str, str | list[str]]:
    """The copy's headline, body and hashtags as template_text lays them out."""
    text = data.decode("utf-8")
    assert text.endswith("\n")
    head, body, tags = text.rstrip("\n").split("\n\n")
    return {"headline": head, "body": body, "hashtags": tags.split()}


def test_chinese_copy_passes_the_checks_and_the_recipe_says_how() -> None:
    generator = get_generator("text=gemma")
    assert isinstance(generator, TextGenerator)
    out = generator.generate("产品：智能台灯\n卖点：护眼；自动调光", language="zh-CN", seed=7)
    assert out.media_type == MEDIA_TYPE
    copy = parts(out.data)
    check_copy(copy, "zh")  # in Chinese, within the lengths, no repeated lines
    assert all(t.startswith("#") and t.endswith("#") for t in copy["hashtags"])  # Weibo's
    recipe = out.recipe
    assert (recipe.kind, recipe.backend, recipe.model, recipe.seed) == ("text", "gemma", MODEL, 7)
    params = recipe.parameters
    assert params["language"] == "zh" and params["max_new_tokens"] == MAX_NEW_TOKENS
    assert 1 <= params["attempt"] <= ATTEMPTS
    assert params["sampling"] == ("greedy" if params["attempt"] == ATTEMPTS else "seeded")


def test_english_copy_passes_the_checks() -> None:
    out = get_generator("text=gemma").generate(
        "A solar power bank for campers. Charges two phones a day.", language="en", seed=1
    )
    copy = parts(out.data)
    check_copy(copy, "en")
    assert out.recipe.parameters["language"] == "en"


def test_the_same_seed_gives_the_same_copy() -> None:
    generator = get_generator("text=gemma")
    brief = "subject: Trail running shoes\naudience: beginners\nbenefits: light; grippy soles"
    first = generator.generate(brief, language="en", seed=3)
    again = generator.generate(brief, language="en", seed=3)
    assert first.data == again.data
    assert first.recipe.parameters == again.recipe.parameters
