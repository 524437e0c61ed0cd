"""The web UI in English and Chinese: the locale from the browser or the header's switch,
every catalog file of a locale merged, dates in the locale."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from assetloom.web import i18n
from assetloom.web.routes import templates
from tests.api.conftest import Env, signed_in

CORE_TEMPLATES = [
    "_bulk.html",
    "_filters.html",
    "_lightbox.html",
    "_tile.html",
    "_tiles.html",
    "account.html",
    "admin.html",
    "asset.html",
    "base.html",
    "duplicates.html",
    "error.html",
    "library.html",
    "login.html",
    "map.html",
    "project.html",
    "review.html",
    "search.html",
    "studio.html",
    "timeline.html",
    "upload.html",
    "verify.html",
]
"""The pages core.json translates (the metadata, organise and other pages keep their own)."""


def test_accept_language_picks_the_locale() -> None:
    assert i18n.pick(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert i18n.pick(None, "en-GB,en;q=0.9,zh;q=0.8") == "en"
    assert i18n.pick(None, "fr;q=0.9, zh-TW;q=0.5") == "zh-CN"
    assert i18n.pick(None, "de") == "en"
    assert i18n.pick(None, None) == "en"
    assert i18n.pick("zh-CN", "en") == "zh-CN", "the switch beats the browser"
    assert i18n.pick("xx", "zh") == "zh-CN", "an unknown cookie is ignored"


def test_every_catalog_file_of_a_locale_is_merged() -> None:
    merged = i18n.catalog("zh-CN")
    for path in sorted((i18n.LOCALES_DIR / "zh-CN").glob("*.json")):
        for key in json.loads(path.read_text(encoding="utf-8")):
            assert key in merged
    assert merged["Library"] == "资料库"


def test_every_template_string_has_a_chinese_translation() -> None:
    """A literal `_("...")` in a template without a zh-CN entry would show English to a
    Chinese reader."""
    merged = i18n.catalog("zh-CN")
    folder = i18n.LOCALES_DIR.parent / "templates"
    missing = []
    for path in sorted(folder / name for name in CORE_TEMPLATES):
        for text in re.findall(r'_\("((?:[^"\\]|\\.)*)"', path.read_text(encoding="utf-8")):
            if text not in merged:
                missing.append(f"{path.name}: {text}")
    assert missing == []


def test_dates_in_the_locale() -> None:
    when = datetime(2026, 12, 2, 14, 5, 33, 123456, tzinfo=UTC)
    en = templates.env.from_string("{{ w | localdate }}|{{ w | localdate(time=False) }}")
    assert en.render(w=when) == "2 Dec 2026, 14:05|2 Dec 2026"
    assert en.render(w=when.isoformat()) == "2 Dec 2026, 14:05|2 Dec 2026"
    assert templates.env.from_string("{{ w | localdate }}").render(w=None) == ""


def test_pages_in_chinese_from_the_browser_and_the_switch(env: Env) -> None:
    zh = signed_in(env, "viewer", **{"Accept-Language": "zh-CN,zh;q=0.9"})
    page = zh.get("/")
    assert '<html lang="zh-CN">' in page.text and "资料库" in page.text
    assert 'href="/ui/lang/en?next=/"' in page.text
    en = signed_in(env, "viewer", **{"Accept-Language": "en-US"})
    assert "资料库" not in en.get("/").text
    switched = en.get("/ui/lang/zh-CN?next=/search", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/search"
    assert "搜索" in en.get("/search").text
    assert (
        en.get("/ui/lang/zh-CN?next=//evil.example", follow_redirects=False).headers["location"]
        == "/"
    )
    bad = en.get("/ui/lang/klingon", headers={"Accept": "application/json"})
    assert bad.status_code == 400
    en.get("/ui/lang/en")
    assert "资料库" not in en.get("/").text


def test_every_page_renders_in_chinese(env: Env) -> None:
    zh = signed_in(env, "admin", **{"Accept-Language": "zh-CN"})
    for path, words in [
        ("/", "资料库"),
        ("/search", "搜索"),
        ("/upload", "上传"),
        ("/verify", "核验"),
        ("/duplicates", "重复项审查"),
        ("/admin", "审计日志"),
        ("/account", "API 令牌"),
        ("/studio", "创作室"),
        ("/admin/review", "内容审核"),
    ]:
        page = zh.get(path)
        assert page.status_code == 200 and words in page.text, path
    missing = zh.get("/assets/0000dead", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "出错了" in missing.text
    assert "assetloom " not in missing.text.split("<main>")[1], "no command-line hints"
    login = TestClient(env.app, headers={"Accept-Language": "zh-CN"}).get("/login")
    assert "用户名" in login.text


def test_every_script_string_has_a_chinese_translation() -> None:
    """The page script's `t("...")` strings, as the templates' `_()` ones."""
    merged = i18n.catalog("zh-CN")
    script = (i18n.LOCALES_DIR.parent / "static" / "app.js").read_text(encoding="utf-8")
    strings = re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', script)
    assert len(strings) > 50
    assert [s for s in strings if s not in merged and s != "English text"] == []
