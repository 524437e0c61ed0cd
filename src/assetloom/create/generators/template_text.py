"""`text=template`: marketing copy from a brief by rule, with no model at all.

The fallback where no language model is installed, and a baseline to judge one against: a
headline, a body and hashtags, in English, German, French, Spanish or Chinese (simplified or
traditional), from a brief that is either `key: value` lines

    subject: Trail bottle
    audience: hikers
    benefits: keeps drinks cold for 24 hours; weighs 200 g
    cta: Order today
    keywords: outdoor, eco-friendly

or plain sentences, the first naming the subject and the rest its benefits. The seed picks among
the templates that the brief has words for; the choice is a SHA-256 of (seed, slot), so the same
brief, language and seed give the same copy on every machine and Python version.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assetloom.create.errors import GenerationError
from assetloom.create.generators.base import (
    TEXT,
    Generated,
    Parent,
    Recipe,
    TextGenerator,
    resolve_seed,
)
from assetloom.create.generators.registry import register

MODEL = "template-copy-1"
"""The template set; bump it whenever a template changes, so that a recipe names the set that
made its copy."""
MEDIA_TYPE = "text/plain; charset=utf-8"
MAX_HASHTAGS = 5

_KEYS = {
    "subject": "subject",
    "product": "subject",
    "产品": "subject",
    "主题": "subject",
    "audience": "audience",
    "for": "audience",
    "受众": "audience",
    "benefits": "benefits",
    "benefit": "benefits",
    "features": "benefits",
    "卖点": "benefits",
    "cta": "cta",
    "call to action": "cta",
    "号召": "cta",
    "keywords": "keywords",
    "tags": "keywords",
    "hashtags": "keywords",
    "关键词": "keywords",
    "标签": "keywords",
}
_KEY_LINE = re.compile(r"^\s*([^:：]{1,20}?)\s*[:：]\s*(.*)$")
_LIST_SEP = re.compile(r"[,，;；、]")
# Sentence ends, semicolons and colons; "1.5 l" or "10:30" (no space after) do not split.
_CLAUSE_SEP = re.compile(r"(?:[.!?;:](?=\s|$)|[。！？；：\n])+")
_TRAILING = ".,;:!?。，；：！？、 "
_BRIEF_HINT = (
    "write 'subject: <what to promote>' lines (audience, benefits, cta, keywords optional), "
    "or plain sentences whose first names the subject"
)


@dataclass(frozen=True)
class Brief:
    subject: str
    audience: str = ""
    benefits: tuple[str, ...] = ()
    cta: str = ""
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Copy:
    headline: str
    body: str
    hashtags: tuple[str, ...]

    def text(self) -> str:
        parts = [self.headline, self.body, " ".join(self.hashtags)]
        return "\n\n".join(p for p in parts if p) + "\n"

    def generated(
        self,
        generator: TextGenerator,
        prompt: str,
        seed: int,
        parameters: dict[str, Any],
        parents: Sequence[Parent],
    ) -> Generated:
        """This copy as a text backend's output, with the recipe that made it."""
        recipe = Recipe(
            kind=TEXT,
            backend=generator.backend,
            model=generator.model,
            prompt=prompt,
            seed=seed,
            parameters=parameters,
            parents=tuple(parents),
        )
        return Generated(self.text().encode("utf-8"), MEDIA_TYPE, recipe)


@dataclass(frozen=True)
class _Templates:
    headlines: tuple[str, ...]
    bodies: tuple[str, ...]
    ctas: tuple[str, ...]
    separator: str
    last_separator: str
    hashtag: str
    """Format of one hashtag: "#{}" or, as Weibo writes topics, "#{}#"."""
    capitalise: bool
    full_stop: str


_LATIN = {"capitalise": True, "hashtag": "#{}", "full_stop": "."}
_HAN = {
    "separator": "、",
    "last_separator": "、",
    "hashtag": "#{}#",
    "capitalise": False,
    "full_stop": "。",
}
LANGUAGES: dict[str, _Templates] = {
    "en": _Templates(
        headlines=(
            "{subject}: {benefit}",
            "Meet {subject}",
            "{subject}, made for {audience}",
            "Why {audience} love {subject}",
            "{Benefit}, with {subject}",
        ),
        bodies=(
            "{subject}: {benefits}. {cta}",
            "Made for {audience}: {benefits}. {cta}",
            "{Benefits} - all in {subject}. {cta}",
            "{subject}. {cta}",
        ),
        ctas=("Try it today.", "Find out more.", "Get yours now."),
        separator=", ",
        last_separator=" and ",
        **_LATIN,
    ),
    "de": _Templates(
        headlines=(
            "{subject}: {benefit}",
            "Entdecken Sie {subject}",
            "{subject} - gemacht für {audience}",
        ),
        bodies=(
            "{subject}: {benefits}. {cta}",
            "Für {audience}: {benefits}. {cta}",
            "{subject}. {cta}",
        ),
        ctas=("Jetzt entdecken.", "Jetzt bestellen.", "Mehr erfahren."),
        separator=", ",
        last_separator=" und ",
        **_LATIN,
    ),
    "fr": _Templates(
        headlines=("{subject} : {benefit}", "Découvrez {subject}", "{subject}, pour {audience}"),
        bodies=(
            "{subject} : {benefits}. {cta}",
            "Pour {audience} : {benefits}. {cta}",
            "{subject}. {cta}",
        ),
        ctas=("Essayez dès aujourd'hui.", "Découvrez-en plus.", "Commandez maintenant."),
        separator=", ",
        last_separator=" et ",
        **_LATIN,
    ),
    "es": _Templates(
        headlines=("{subject}: {benefit}", "Descubre {subject}", "{subject}, para {audience}"),
        bodies=(
            "{subject}: {benefits}. {cta}",
            "Para {audience}: {benefits}. {cta}",
            "{subject}. {cta}",
        ),
        ctas=("Pruébalo hoy.", "Descubre más.", "Consíguelo ya."),
        separator=", ",
        last_separator=" y ",
        **_LATIN,
    ),
    "zh": _Templates(
        headlines=(
            "{subject}：{benefit}",
            "{subject}，为{audience}而生",
            "遇见{subject}",
            "{benefit}，就选{subject}",
        ),
        bodies=(
            "{subject}，{benefits}。{cta}",
            "专为{audience}打造：{benefits}。{cta}",
            "{subject}。{cta}",
        ),
        ctas=("立即体验！", "马上了解更多。", "现在就入手吧！"),
        **_HAN,
    ),
    "zh-Hant": _Templates(
        headlines=(
            "{subject}：{benefit}",
            "{subject}，為{audience}而生",
            "遇見{subject}",
            "{benefit}，就選{subject}",
        ),
        bodies=(
            "{subject}，{benefits}。{cta}",
            "專為{audience}打造：{benefits}。{cta}",
            "{subject}。{cta}",
        ),
        ctas=("立即體驗！", "馬上了解更多。", "現在就入手吧！"),
        **_HAN,
    ),
}
_TRADITIONAL = {"tw", "hk", "mo"}


def resolve_language(language: str) -> str:
    """A BCP 47 tag ("en-GB", "zh_CN", "zh-Hant-TW") → the template set that writes it."""
    parts = [p.lower() for p in re.split(r"[-_]", language.strip()) if p]
    if parts and parts[0] == "zh":  # a script subtag decides; else the region's usual one
        traditional = "hant" in parts or ("hans" not in parts and bool(_TRADITIONAL & set(parts)))
        return "zh-Hant" if traditional else "zh"
    if parts and parts[0] in LANGUAGES:
        return parts[0]
    raise GenerationError(
        f"the template copy writer has no templates for language {language!r}",
        hint=f"use one of {', '.join(LANGUAGES)}, or a language model backend",
    )


def parse_brief(text: str) -> Brief:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise GenerationError("the brief is empty", hint=_BRIEF_HINT)
    first = _KEY_LINE.match(lines[0])
    if first is None or first.group(1).lower() not in _KEYS:
        clauses = [c for c in map(_clean, _CLAUSE_SEP.split(text)) if c]
        if not clauses:
            raise GenerationError("the brief names no subject", hint=_BRIEF_HINT)
        # Sentences start with a capital that a list of benefits mid-sentence must not keep.
        return Brief(clauses[0], benefits=tuple(map(_lower_first, clauses[1:])))
    fields: dict[str, list[str]] = {}
    for number, line in enumerate(lines, 1):
        match = _KEY_LINE.match(line)
        key = _KEYS.get(match.group(1).lower()) if match else None
        if match is None or key is None:
            raise GenerationError(
                f"brief line {number} ({line!r}) is not 'key: value' with a known key",
                hint=f"keys: subject, audience, benefits, cta, keywords; or {_BRIEF_HINT}",
            )
        value = match.group(2)
        if key == "cta":  # a sentence of its own: its closing "!" stays
            items = [" ".join(value.split())]
        else:
            items = _LIST_SEP.split(value) if key in ("benefits", "keywords") else [value]
            items = list(map(_clean, items))
        fields.setdefault(key, []).extend(c for c in items if c)
    subject = " ".join(fields.get("subject", []))
    if not subject:
        raise GenerationError("the brief names no subject", hint=_BRIEF_HINT)
    return Brief(
        subject=subject,
        audience=", ".join(fields.get("audience", [])),
        benefits=tuple(fields.get("benefits", [])),
        cta=" ".join(fields.get("cta", [])),
        keywords=tuple(fields.get("keywords", [])),
    )


class TemplateTextGenerator:
    """A TextGenerator by rule: deterministic given (brief, language, seed)."""

    backend = "template"
    model = MODEL

    def compose(self, brief: str, *, language: str = "en", seed: int = 0) -> Copy:
        t = LANGUAGES[resolve_language(language)]
        b = parse_brief(brief)
        benefits = _join(b.benefits, t)
        values = {
            "subject": b.subject,
            "audience": b.audience,
            "benefit": b.benefits[0] if b.benefits else "",
            "Benefit": _capital(b.benefits[0], t) if b.benefits else "",
            "benefits": benefits,
            "Benefits": _capital(benefits, t),
            "cta": _sentence(b.cta, t) if b.cta else _pick(t.ctas, seed, "cta"),
        }
        headline = _pick(_usable(t.headlines, values), seed, "headline").format(**values)
        body = _pick(_usable(t.bodies, values), seed, "body").format(**values)
        return Copy(headline, body, _hashtags([*b.keywords, b.subject], t))

    def generate(
        self,
        prompt: str,
        *,
        language: str = "en",
        seed: int | None = None,
        parents: Sequence[Parent] = (),
    ) -> Generated:
        seed = resolve_seed(seed)
        resolved = resolve_language(language)
        copy = self.compose(prompt, language=resolved, seed=seed)
        return copy.generated(self, prompt, seed, {"language": resolved}, parents)


@register(TEXT, "template")
def _template(_argument: str) -> TemplateTextGenerator:
    return TemplateTextGenerator()


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(_TRAILING)


def _sentence(text: str, t: _Templates) -> str:
    return text if text.endswith(tuple(".!?。！？")) else text + t.full_stop


def _lower_first(text: str) -> str:
    """ "Weighs 1.5 kg" → "weighs 1.5 kg"; "USB-C charging" and "iPhone case" stay."""
    return text[:1].lower() + text[1:] if text[:1].isupper() and text[1:2].islower() else text


def _join(items: Sequence[str], t: _Templates) -> str:
    if len(items) <= 1:
        return "".join(items)
    return t.separator.join(items[:-1]) + t.last_separator + items[-1]


def _capital(text: str, t: _Templates) -> str:
    return text[:1].upper() + text[1:] if t.capitalise else text


def _usable(templates: Sequence[str], values: dict[str, str]) -> list[str]:
    """The templates whose every field the brief has words for; those that say only the
    subject (and a call to action) are the fallback, for a brief with nothing more."""
    usable = [(tpl, _fields(tpl)) for tpl in templates]
    usable = [(tpl, fields) for tpl, fields in usable if all(values[f] for f in fields)]
    richer = [tpl for tpl, fields in usable if fields - {"subject", "cta"}]
    return richer or [tpl for tpl, _ in usable]


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def _pick(options: Sequence[str], seed: int, slot: str) -> str:
    digest = hashlib.sha256(f"{seed}:{slot}".encode()).digest()
    return options[int.from_bytes(digest[:8], "big") % len(options)]


def _hashtags(sources: Sequence[str], t: _Templates) -> tuple[str, ...]:
    tags: dict[str, str] = {}
    for source in sources:
        words = re.split(r"[\s\-_/]+", source)
        tag = "".join(w[:1].upper() + w[1:] for w in words)
        tag = "".join(ch for ch in tag if ch.isalnum())
        if tag and tag.lower() not in tags:
            tags[tag.lower()] = t.hashtag.format(tag)
    return tuple(tags.values())[:MAX_HASHTAGS]
