"""The studio's plan (rule-based, zh/en) and the offline `image=compose` backend."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from assetloom.create.errors import GenerationError
from assetloom.create.generators.image_compose import contrast_ratio, luminance
from assetloom.create.generators.registry import get_generator
from assetloom.create.plan import MAX_BRIEF_CHARS, english, make_plan
from assetloom.errors import BadInputError


def test_a_chinese_brief_plans_in_chinese_with_english_prompts_for_models() -> None:
    plan = make_plan("为一款新型环保水瓶创作社交媒体内容")
    assert plan.language == "zh" and plan.tone == "eco"
    assert plan.visual_subject == "新型环保水瓶"
    assert plan.channels == ["social"]
    assert "eco-friendly water bottle" in plan.prompts["image"]["prompt"]
    assert plan.prompts["image"]["search"] == "新型环保水瓶"  # retrieval reads zh as it is
    assert "subject: 新型环保水瓶" in plan.prompts["text"]["prompt"]


def test_an_english_brief_finds_subject_audience_scene_and_channel() -> None:
    plan = make_plan("Launch our new trail bottle for hikers on Instagram, in a mountain setting")
    assert (plan.language, plan.visual_subject, plan.audience, plan.scene) == (
        "en",
        "new trail bottle",
        "hikers",
        "mountain",
    )
    assert plan.channels == ["instagram"]


def test_a_repurpose_instruction_gives_the_scene() -> None:
    plan = make_plan("Eco bottle", instruction="将产品置于热带雨林背景中，强调环保主题")
    assert plan.scene == "热带雨林" and plan.tone == "eco"
    assert english(plan.scene) == "tropical rainforest"


@pytest.mark.parametrize(
    ("brief", "kw", "message"),
    [
        ("   ", {}, "empty"),
        ("x" * (MAX_BRIEF_CHARS + 1), {}, "characters"),
        ("A bottle", {"outputs": ["hologram"]}, "unknown output"),
        ("A bottle", {"formats": ["4:3"]}, "unknown format"),
    ],
)
def test_bad_briefs_are_refused_clearly(brief: str, kw: dict, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        make_plan(brief, **kw)


def _png(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def _bottle() -> bytes:
    """A product shot with a transparent background: the alpha is the cut-out."""
    im = Image.new("RGBA", (200, 400), (0, 0, 0, 0))
    im.paste((30, 140, 60, 255), (60, 40, 140, 380))
    return _png(im)


@pytest.mark.parametrize(("w", "h"), [(540, 540), (360, 640), (640, 360)])
def test_compose_makes_each_format_with_readable_type(w: int, h: int) -> None:
    grey = _png(Image.new("RGB", (800, 800), (128, 128, 128)))  # white on it: only 3.9:1
    out = get_generator("image=compose").generate(
        "eco bottle",
        width=w,
        height=h,
        seed=3,
        references={"subject": _bottle(), "background": grey},
        overlay="新型环保水瓶 清新之选",
    )
    im = Image.open(io.BytesIO(out.data))
    assert out.media_type == "image/png" and im.size == (w, h)
    assert out.recipe.parameters["cutout"] == "alpha"
    assert out.recipe.parameters["text_contrast"] >= 4.5  # a panel lifted it
    assert out.recipe.parameters["roles"] == ["background", "subject"]
    # The product is there, in its own green, inside the safe area.
    arr = np.asarray(im.convert("RGB")).astype(int)
    green = (abs(arr[..., 0] - 30) < 20) & (abs(arr[..., 1] - 140) < 20) & (arr[..., 2] < 90)
    _, xs = np.nonzero(green)
    assert green.sum() > 0.02 * w * h
    margin = int(0.06 * min(w, h))
    assert xs.min() >= margin - 2 and xs.max() <= w - margin + 2


def test_compose_matches_the_style_reference_and_is_reproducible() -> None:
    scene = _png(Image.new("RGB", (400, 400), (90, 160, 220)))
    warm = _png(Image.new("RGB", (300, 300), (230, 120, 40)))
    gen = get_generator("image=compose")
    styled = gen.generate(
        "x", width=256, height=256, seed=9, references={"background": scene, "style": warm}
    )
    plain = gen.generate("x", width=256, height=256, seed=9, references={"background": scene})
    again = gen.generate(
        "x", width=256, height=256, seed=9, references={"background": scene, "style": warm}
    )
    mean = lambda g: np.asarray(Image.open(io.BytesIO(g.data))).reshape(-1, 3).mean(0)  # noqa: E731
    assert mean(styled)[0] > mean(plain)[0] + 60  # redder: the warm reference's colour
    assert styled.data == again.data


def test_a_reference_that_is_not_an_image_is_a_clear_error() -> None:
    with pytest.raises(GenerationError, match="style reference is not a readable image"):
        get_generator("image=compose").generate("x", references={"style": b"%PDF-1.7 nope"})


def test_contrast_ratio_is_wcag() -> None:
    assert (
        round(contrast_ratio(luminance(np.array([255, 255, 255])), luminance(np.zeros(3))), 1)
        == 21.0
    )
