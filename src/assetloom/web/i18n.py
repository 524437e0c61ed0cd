"""The web UI in English and Simplified Chinese.

Templates say `{{ _("English text") }}` (with `{name}` placeholders filled from keyword
arguments); the English text is the key, so a string without a translation shows in English
rather than as a blank. Catalogs are JSON files `locales/<locale>/*.json`, every file of a
locale merged, so each area of the UI keeps its own file. The locale comes from the
`assetloom_lang` cookie (the header's switch), else the browser's Accept-Language.
Dates are shown in the locale, to the minute, in UTC (the server does not know the
reader's time zone, and says so).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request

LOCALES_DIR = Path(__file__).parent / "locales"
LOCALES = ("en", "zh-CN")
DEFAULT = "en"
LANG_COOKIE = "assetloom_lang"
NAMES = {"en": "English", "zh-CN": "中文"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@cache
def catalog(locale: str) -> dict[str, str]:
    """Every file of the locale merged (files in name order; a later file wins a clash)."""
    merged: dict[str, str] = {}
    folder = LOCALES_DIR / locale
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def pick(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's locale when it names one we have, else the best of Accept-Language."""
    if cookie in LOCALES:
        return cookie
    choices: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        choices.append((-q, i, tag.strip().lower()))
    for _q, _i, tag in sorted(choices):
        if tag.startswith("zh"):
            return "zh-CN"  # Traditional readers get Simplified rather than English
        if tag.startswith("en") or tag == "*":
            return "en"
    return DEFAULT


def locale_of(request: Request) -> str:
    cached = getattr(request.state, "locale", None)
    if cached:
        return str(cached)
    locale = pick(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    request.state.locale = locale
    return locale


def translate(locale: str, text: str, **values: Any) -> str:
    """The text in the locale; with values, Markup in which plain values are escaped and
    Markup ones (a link) are kept, so a sentence can hold markup wherever the language puts it."""
    out = catalog(locale).get(text, text) if locale != DEFAULT else text
    return Markup(escape(out)).format(**values) if values else out


@pass_context
def gettext(context: Context, text: str, **values: Any) -> str:
    """The Jinja global `_`: the request's locale from the template's context."""
    request = context.get("request")
    locale = locale_of(request) if isinstance(request, Request) else DEFAULT
    return translate(locale, text, **values)


@pass_context
def current_locale(context: Context) -> str:
    request = context.get("request")
    return locale_of(request) if isinstance(request, Request) else DEFAULT


@pass_context
def js_catalog(context: Context) -> dict[str, str]:
    """The locale's catalog for the page's script (static/app.js `t()`); English needs none."""
    return catalog(current_locale(context))


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


@pass_context
def localdate(context: Context, value: Any, time: bool = True) -> str:
    """A catalog time for people: `2 Dec 2026, 14:05` / `2026年12月2日 14:05`, no seconds."""
    when = _as_datetime(value)
    if when is None:
        return "" if value is None else str(value)
    request = context.get("request")
    locale = locale_of(request) if isinstance(request, Request) else DEFAULT
    if locale == "zh-CN":
        day = f"{when.year}年{when.month}月{when.day}日"
        return f"{day} {when:%H:%M}" if time else day
    day = f"{when.day} {MONTHS[when.month - 1]} {when.year}"
    return f"{day}, {when:%H:%M}" if time else day


def install(env: Any) -> None:
    """Put `_`, `locale()` and `localdate` into a Jinja environment."""
    env.globals["_"] = gettext
    env.globals["locale"] = current_locale
    env.globals["locale_names"] = NAMES
    env.globals["js_catalog"] = js_catalog
    env.filters["localdate"] = localdate
