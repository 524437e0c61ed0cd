"""From a brief to a plan: who it is for, what to say, in what tone, on which channels, what to
show, and one enhanced prompt per output.

Rule-based prompt engineering, so the plan is the same on every machine and needs no model:
the brief's subject and scene are found by patterns (zh and en), tone, palette and channels by
vocabularies, and each output's prompt is the subject and scene plus the tone's style
modifiers (and a negative prompt for image models). Backends that read only English get the
English side of every phrase the vocabularies know (`english`); the rest of a Chinese brief is
passed through, since the shared zh/en space that retrieval uses needs no translation.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from assetloom.errors import BadInputError

MAX_BRIEF_CHARS = 4000
"""Longer briefs are refused: a brief is a paragraph, and every prompt repeats parts of it."""
OUTPUT_KINDS = ("text", "image", "speech", "music", "video")
FORMATS = {"1:1": (1080, 1080), "9:16": (1080, 1920), "16:9": (1920, 1080)}

_CJK = re.compile(r"[\u3400-\u9fff]")
_ZH_SUBJECT = re.compile(
    r"(?:为|给|帮)?(?:一款|一个|一件|一套|我们的|新款)?(?P<s>[^，。,.；;]{2,24}?)"
    r"(?:创作|制作|设计|撰写|写|策划|打造|生成|做)"
)
_EN_SUBJECT = re.compile(
    r"\b(?:for|about|promote|promoting|launch(?:ing)?|introduc(?:e|ing))\s+"
    r"(?:a|an|the|our)?\s*(?P<s>[\w\s'-]{2,60}?)(?=\s+(?:to|on|for|with|in|across)\b|[,.;]|$)",
    re.IGNORECASE,
)
_ZH_SCENE = re.compile(
    r"(?:置于|放在|放到|位于|在)(?P<s>[^，。,.；;]{2,16}?)(?:背景|场景|中|里|上)"
)
_EN_SCENE = re.compile(
    r"\b(?:in|on|at|against)\s+(?:a|an|the)?\s*(?P<s>[\w\s-]{3,40}?)(?:\s+(?:background|"
    r"setting|scene))?(?=[,.;]|$|\s+(?:to|with|and)\b)",
    re.IGNORECASE,
)

# (zh, en) phrase pairs: tone words, channels, palettes, scenes and subjects the studio knows.
TONES: dict[str, dict[str, Any]] = {
    "eco": {
        "words": ("环保", "绿色", "可持续", "天然", "eco", "green", "sustainable", "natural"),
        "en": "fresh, natural, sustainable",
        "zh": "清新、自然、可持续",
        "palette": ["#2e7d32", "#a5d6a7", "#f1f8e9"],
        "music": "calm",
    },
    "tech": {
        "words": ("科技", "智能", "未来", "tech", "smart", "futuristic", "innovative"),
        "en": "modern, sleek, innovative",
        "zh": "现代、简洁、创新",
        "palette": ["#0d47a1", "#42a5f5", "#e3f2fd"],
        "music": "energetic",
    },
    "luxury": {
        "words": ("奢华", "高端", "尊贵", "luxury", "premium", "elegant"),
        "en": "elegant, premium, refined",
        "zh": "优雅、高端、精致",
        "palette": ["#212121", "#c9a227", "#fafafa"],
        "music": "luxury",
    },
    "playful": {
        "words": ("活泼", "有趣", "可爱", "童趣", "fun", "playful", "cute", "kids"),
        "en": "playful, bright, cheerful",
        "zh": "活泼、明亮、欢快",
        "palette": ["#ff7043", "#ffca28", "#fff8e1"],
        "music": "playful",
    },
    "warm": {
        "words": ("温暖", "温馨", "家庭", "warm", "cozy", "family"),
        "en": "warm, cozy, inviting",
        "zh": "温暖、温馨、亲切",
        "palette": ["#bf360c", "#ffab91", "#fff3e0"],
        "music": "warm",
    },
}
DEFAULT_TONE = "warm"
CHANNELS = {
    "social": ("社交媒体", "社媒", "social"),
    "xiaohongshu": ("小红书", "xiaohongshu", "rednote"),
    "weibo": ("微博", "weibo"),
    "wechat": ("微信", "公众号", "wechat"),
    "douyin": ("抖音", "douyin", "tiktok"),
    "instagram": ("instagram", "ins"),
    "ecommerce": ("电商", "淘宝", "天猫", "京东", "e-commerce", "ecommerce", "product page"),
}
GLOSSARY = {
    "热带雨林": "tropical rainforest",
    "雨林": "rainforest",
    "森林": "forest",
    "海边": "seaside",
    "海滩": "beach",
    "山": "mountains",
    "城市": "city",
    "街头": "street",
    "厨房": "kitchen",
    "办公室": "office",
    "草地": "meadow",
    "雪山": "snowy mountains",
    "沙漠": "desert",
    "水瓶": "water bottle",
    "环保水瓶": "eco-friendly water bottle",
    "咖啡": "coffee",
    "耳机": "headphones",
    "手表": "watch",
    "运动鞋": "sneakers",
    "背包": "backpack",
    "护肤品": "skincare product",
    "新型": "new",
    "新款": "new",
    "环保": "eco-friendly",
    "产品": "product",
    "年轻人": "young adults",
    "学生": "students",
    "妈妈": "mothers",
    "户外": "outdoor",
}
_AUDIENCE_ZH = re.compile(r"(?:面向|针对|给|适合)(?P<s>[^，。,.；;]{2,12}?)(?:的|，|。|$)")
_AUDIENCE_EN = re.compile(
    r"\b(?:for|targeting|aimed at)\s+(?P<s>[\w\s-]{3,40}?)"
    r"(?=\s+(?:on|in|at|with|across)\b|[,.;]|$)",
    re.IGNORECASE,
)
NEGATIVE = "blurry, low quality, distorted, watermark, text artifacts, extra limbs, deformed"


@dataclass(frozen=True)
class Plan:
    """What the studio will make, and why: stored with the project and shown in the report."""

    brief: str
    language: str
    audience: str
    key_message: str
    tone: str
    tone_words: str
    channels: list[str]
    visual_subject: str
    scene: str
    palette: list[str]
    outputs: list[str]
    formats: list[str]
    prompts: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def make_plan(
    brief: str,
    *,
    language: str | None = None,
    outputs: list[str] | None = None,
    formats: list[str] | None = None,
    instruction: str | None = None,
) -> Plan:
    """The plan for a brief (or, with `instruction`, for re-purposing an asset)."""
    text = " ".join(brief.split())
    if not text:
        raise BadInputError("the brief is empty", hint="describe what to promote, to whom, how")
    if len(text) > MAX_BRIEF_CHARS:
        raise BadInputError(
            f"the brief is {len(text)} characters; at most {MAX_BRIEF_CHARS}",
            hint="a brief is a paragraph: the subject, the audience, the message, the tone",
        )
    outputs = outputs or list(OUTPUT_KINDS)
    for kind in outputs:
        if kind not in OUTPUT_KINDS:
            raise BadInputError(
                f"unknown output {kind!r}", hint=f"choose from {', '.join(OUTPUT_KINDS)}"
            )
    formats = formats or ["1:1", "9:16", "16:9"]
    for f in formats:
        if f not in FORMATS:
            raise BadInputError(f"unknown format {f!r}", hint=f"choose from {', '.join(FORMATS)}")
    lang = language or ("zh" if is_chinese(text) else "en")
    if lang not in ("zh", "en"):
        raise BadInputError(f"language {lang!r} is not zh or en")
    source = f"{text} {instruction}" if instruction else text
    tone = detect_tone(source)
    subject = find_subject(text)
    scene = find_scene(source)
    plan = Plan(
        brief=text,
        language=lang,
        audience=find_audience(text) or ("年轻消费者" if lang == "zh" else "young consumers"),
        key_message=key_message(text, subject, tone, lang),
        tone=tone,
        tone_words=TONES[tone][lang],
        channels=detect_channels(source) or ["social"],
        visual_subject=subject,
        scene=scene,
        palette=list(TONES[tone]["palette"]),
        outputs=outputs,
        formats=formats,
    )
    return _with_prompts(plan)


def is_chinese(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(bool(_CJK.match(c)) for c in letters) / len(letters) > 0.3


def detect_tone(text: str) -> str:
    low = text.lower()
    scores = {name: sum(w in low for w in t["words"]) for name, t in TONES.items()}
    best = max(scores, key=lambda n: scores[n])
    return best if scores[best] else DEFAULT_TONE


def detect_channels(text: str) -> list[str]:
    low = text.lower()
    return [name for name, words in CHANNELS.items() if any(w in low for w in words)]


def find_subject(text: str) -> str:
    for pattern in (_ZH_SUBJECT, _EN_SUBJECT):
        m = pattern.search(text)
        if m and m.group("s").strip():
            return m.group("s").strip()
    first = re.split(r"[，。,.;；!?！？]", text, maxsplit=1)[0]
    return first.strip()[:40]


def find_scene(text: str) -> str:
    """Where to show the subject ("热带雨林", "mountain"); a channel ("on Instagram") is not a
    place."""
    channel_words = {w for words in CHANNELS.values() for w in words}
    for pattern in (_ZH_SCENE, _EN_SCENE):
        for m in pattern.finditer(text):
            scene = m.group("s").strip()
            if scene and scene.lower() not in channel_words:
                return scene
    return ""


def find_audience(text: str) -> str:
    for pattern in (_AUDIENCE_ZH, _AUDIENCE_EN):
        m = pattern.search(text)
        if m:
            return m.group("s").strip()
    return ""


def key_message(text: str, subject: str, tone: str, lang: str) -> str:
    if lang == "zh":
        return f"{subject}：{TONES[tone]['zh'].split('、')[0]}之选"
    return f"{subject}: the {TONES[tone]['en'].split(', ')[0]} choice"


def english(phrase: str) -> str:
    """The English of a phrase, as far as the glossary knows it (longest terms first);
    English text is returned as it is."""
    if not is_chinese(phrase):
        return phrase
    out = phrase
    for zh in sorted(GLOSSARY, key=len, reverse=True):
        out = out.replace(zh, f" {GLOSSARY[zh]} ")
    out = _CJK.sub("", out)
    return " ".join(out.replace("的", " ").split()) or phrase


def _keywords(plan: Plan) -> str:
    """Hashtag material: the tone's first word and the named platforms (not "social")."""
    sep = "、" if plan.language == "zh" else ", "
    words = [plan.tone_words.split(sep)[0]]
    words += [c for c in plan.channels if c != "social"]
    return ", ".join(words)


def _with_prompts(plan: Plan) -> Plan:
    subject_en, scene_en = english(plan.visual_subject), english(plan.scene)
    style_en = TONES[plan.tone]["en"]
    image = ", ".join(
        p
        for p in (
            f"product photo of {subject_en}",
            f"in a {scene_en} setting" if scene_en else "studio background",
            style_en,
            "soft natural light, high detail, commercial photography",
        )
        if p
    )
    prompts: dict[str, dict[str, str]] = {
        "text": {
            "prompt": "\n".join(
                [
                    f"subject: {plan.visual_subject}",
                    f"audience: {plan.audience}",
                    f"benefits: {plan.tone_words}",
                    f"keywords: {_keywords(plan)}",
                ]
            )
        },
        "image": {"prompt": image, "negative": NEGATIVE, "search": plan.visual_subject},
        "speech": {"voice": "zh" if plan.language == "zh" else "en"},
        "music": {"tone": TONES[plan.tone]["music"]},
        "video": {"formats": "9:16,16:9"},
    }
    if plan.scene:
        prompts["image"]["scene"] = plan.scene
    return Plan(**{**asdict(plan), "prompts": {k: prompts[k] for k in plan.outputs}})
