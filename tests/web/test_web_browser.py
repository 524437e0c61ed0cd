"""The daily-work UI in a real browser (Debian's Chromium via Playwright): the language
switch, filters and sorts, the lightbox's keys, selection with shift-click and the bulk bar
(zip, tag, status, trash with undo), dark mode, the timeline and map, error pages."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from assetloom.accounts import AccountService, Role
from assetloom.app.library import Library
from assetloom.server.app import create_app
from assetloom.store.schema import AssetRow
from tests.api.conftest import PASSWORD, photo_bytes
from tests.api.test_api_browse import gps_jpeg
from tests.conftest import REPO
from tests.live_app import serving

SHOTS = REPO / "test-artifacts" / "browser"

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


class Site:
    def __init__(self, url: str, root: Path, ids: dict[str, str]) -> None:
        self.url, self.root, self.ids = url, root, ids


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("webui")
    files = work / "files"
    files.mkdir()
    (files / "shanghai.jpg").write_bytes(gps_jpeg(31.25, 121.5, "2023:05:14 10:00:00", 1))
    (files / "lima.jpg").write_bytes(gps_jpeg(-12.0, -77.0, "2023:05:20 08:00:00", 2))
    (files / "oslo.jpg").write_bytes(gps_jpeg(59.9, 10.75, "2024:01:02 12:00:00", 3))
    for i in range(4):
        (files / f"p{i}.jpg").write_bytes(photo_bytes(300 + i, size=(160 + 80 * i, 120)))
    (files / "notes.md").write_text(
        "# 会议纪要\n春季新品的拍摄安排 and the shot list.\n", encoding="utf-8"
    )
    root = work / "lib"
    with Library.create(root) as lib:
        AccountService.of(lib).add_user("dana", Role.EDITOR, PASSWORD)
        report = lib.add(sorted(files.iterdir()))
        ids = {Path(a.file).name: a.asset_id for a in report.added}
        with lib.write_session() as s, s.begin():
            for name in ("p1.jpg", "p2.jpg"):
                s.execute(
                    update(AssetRow).where(AssetRow.asset_id == ids[name]).values(status="approved")
                )
    with serving(create_app(root)) as url:
        yield Site(url, root, ids)


@pytest.fixture(scope="module")
def page(site: Site) -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, locale="en-US", accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("dialog", lambda d: d.accept())
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(site.url + "/login")
        page.fill("input[name=username]", "dana")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(site.url + "/")
        page.errors = errors  # type: ignore[attr-defined]
        yield page
        context.close()
        browser.close()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"webui-{name}.png"), full_page=True)


def _names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("#grid .tile .name").all_inner_texts()


def test_locale_switch(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/")
    assert page.locator("h1").inner_text().startswith("Library")
    page.click("a.lang[hreflang=zh-CN]")
    page.wait_for_url(site.url + "/")
    assert page.locator("h1").inner_text().startswith("资料库")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    _shot(page, "zh")
    page.click("#select-mode")
    page.locator("#grid .tile").first.click()
    assert page.locator("#bulk-count").inner_text() == "已选 1 个", "the script speaks Chinese too"
    assert "打包下载" in page.locator("[data-bulk=zip]").inner_text()
    page.goto(site.url + "/search")
    assert "搜索" in page.locator("h1").inner_text()
    page.click("a.lang[hreflang=en]")
    page.wait_for_url(site.url + "/search")
    assert page.locator("h1").inner_text() == "Search"


def test_sort_and_filters(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/")
    page.select_option("select[name=sort]", "size")
    page.wait_for_url("**/?*sort=size*")
    page.select_option("select[name=order]", "newest")
    page.wait_for_url("**order=newest*")
    with Library.open(site.root) as lib:
        sizes = [a.size for a in lib.list().assets]
        by_size = {a.original_name: a.size for a in lib.list().assets}
    assert [by_size[n] for n in _names(page)] == sorted(sizes, reverse=True), "biggest first"
    page.select_option("select[name=status]", "approved")
    page.wait_for_url("**status=approved*")
    assert sorted(_names(page)) == ["p1.jpg", "p2.jpg"]
    page.goto(site.url + "/search?q=jpg")
    page.select_option("#search-filters select[name=status]", "approved")
    page.click("#search-form button[type=submit]")
    page.wait_for_url("**status=approved*")
    assert sorted(page.locator("#results .tile .name").all_inner_texts()) == ["p1.jpg", "p2.jpg"]
    page.goto(site.url + "/search?q=jpg&type=text")
    assert page.locator("#results .tile").count() == 0


def test_text_assets_show_a_snippet(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/?type=text")
    assert "会议纪要" in page.locator("#grid .tile .snippet").inner_text()


def test_lightbox_keys(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/")
    names = _names(page)
    first = page.locator("#grid .tile").first
    first.hover()
    first.locator(".zoom").click()
    box = page.locator("#lightbox")
    box.wait_for(state="visible")
    assert page.locator("#lb-name").inner_text() == names[0]
    _shot(page, "lightbox")
    page.keyboard.press("ArrowRight")
    assert page.locator("#lb-name").inner_text() == names[1]
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.locator("#lb-name").inner_text() == names[-1], "wraps around"
    page.keyboard.press("Escape")
    box.wait_for(state="hidden")
    page.locator("#grid .tile").nth(2).focus()
    page.keyboard.press(" ")
    box.wait_for(state="visible")
    assert page.locator("#lb-name").inner_text() == names[2]
    page.keyboard.press("Escape")
    assert page.url == site.url + "/", "previewing never left the grid"


def test_selection_shift_click_and_zip(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/")
    names = _names(page)
    page.click("#select-mode")
    tiles = page.locator("#grid .tile")
    tiles.nth(0).click()
    tiles.nth(3).click(modifiers=["Shift"])
    assert page.locator("#grid .tile.selected").count() == 4
    assert page.locator("#bulk-count").inner_text() == "4 selected"
    _shot(page, "selection")
    assert page.url == site.url + "/", "picking is not opening"
    with page.expect_download() as got:
        page.click("[data-bulk=zip]")
    data = Path(got.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == names[:4]
    page.click("[data-bulk=none]")
    assert page.locator("#bulk").is_hidden()
    tiles.nth(1).click()
    page.click("[data-bulk=all]")
    page.locator("#bulk-count", has_text=f"{len(names)} selected").wait_for()


def test_bulk_tag_status_and_trash_with_undo(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/?sort=name")
    page.click("#select-mode")
    page.locator("#grid .tile", has_text="p0.jpg").click()
    page.locator("#grid .tile", has_text="p3.jpg").click()
    page.fill("#bulk-tag", "SKU-1234")
    page.click("[data-bulk=tag]")
    page.locator("#bulk-message", has_text="Tagged 2 assets").wait_for()
    page.select_option("#bulk-status", "archived")
    page.click("[data-bulk=status]")
    page.locator("#bulk-message", has_text="2 assets are now").wait_for()
    page.goto(site.url + "/?status=archived")
    assert sorted(_names(page)) == ["p0.jpg", "p3.jpg"]
    page.click("#select-mode")
    page.locator("#grid .tile", has_text="p3.jpg").click()
    page.click("[data-bulk=trash]")
    page.locator("#bulk-message", has_text="Moved 1 assets to the trash").wait_for()
    assert _names(page) == ["p0.jpg"]
    page.goto(site.url + "/?status=archived")
    assert _names(page) == ["p0.jpg"], "hidden while in the trash"
    page.go_back()
    page.goto(site.url + "/?status=archived")
    page.click("#select-mode")
    page.locator("#grid .tile", has_text="p0.jpg").click()
    page.click("[data-bulk=trash]")
    page.locator("#bulk-message button", has_text="Undo").click()
    page.wait_for_load_state("load")
    page.locator("#grid .tile", has_text="p0.jpg").wait_for()
    page.goto(site.url + "/trash")
    with Library.open(site.root) as lib:
        assert lib.get(site.ids["p0.jpg"]).asset_id == site.ids["p0.jpg"]


def test_add_to_a_new_collection(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/?sort=name")
    page.click("#select-mode")
    page.locator("#grid .tile", has_text="lima.jpg").click()
    page.locator("#grid .tile", has_text="oslo.jpg").click(modifiers=["Shift"])
    picked = page.locator("#grid .tile.selected .name").all_inner_texts()
    assert picked[0] == "lima.jpg" and picked[-1] == "oslo.jpg"
    page.fill("#bulk-collection", "Spring 2024")
    page.click("[data-bulk=collect]")
    page.locator("#bulk-message", has_text="to “Spring 2024”").wait_for()
    doc = page.goto(site.url + "/api/v1/collections/Spring%202024").json()
    assert doc["name"] == "Spring 2024"
    assert sorted(a["original_name"] for a in doc["assets"]) == sorted(picked)


def test_phone_layout(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.goto(site.url + "/")
        header = page.locator("header.top").bounding_box()
        assert header["height"] < 130, header
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "nothing wider than the phone"
        _shot(page, "phone")
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})


def test_dark_mode_toggle(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/")
    html = page.locator("html")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.click("#theme-toggle")
    assert html.get_attribute("data-theme") == "dark"
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert dark != light and dark == "rgb(20, 24, 29)"
    _shot(page, "dark")
    page.reload()
    assert html.get_attribute("data-theme") == "dark", "the server renders the choice"
    page.click("#theme-toggle")
    assert html.get_attribute("data-theme") == "light"


def test_timeline_and_map(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/timeline")
    months = page.locator("#timeline a").all_inner_texts()
    assert len(months) == 2 and "2024-01" in months[0] and "2023-05" in months[1]
    _shot(page, "timeline")
    page.click("#timeline a[data-month='2023-05']")
    page.wait_for_url("**month=2023-05*")
    assert sorted(_names(page)) == ["lima.jpg", "shanghai.jpg"]
    page.goto(site.url + "/map")
    page.locator("#map-points circle").nth(2).wait_for(state="attached")
    assert page.locator("#map-points circle").count() == 3
    page.locator("#map-land path").wait_for(state="attached")
    assert len(page.locator("#map-land path").get_attribute("d")) > 1000, "the world outline"
    _shot(page, "map")


def test_error_pages_are_for_people(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    r = page.goto(site.url + "/assets/00000000nothere")
    assert r.status == 404
    assert "Something went wrong" in page.locator("main").inner_text()
    assert "{" not in page.locator("main").inner_text() and "assetloom " not in page.content()
    r = page.goto(site.url + "/?since=yesterday")
    assert r.status == 400 and page.locator("header.top").count() == 1
    r = page.goto(site.url + "/no/such/page")
    assert r.status == 404 and "Something went wrong" in page.locator("main").inner_text()


def test_no_console_errors(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.errors.clear()  # the error pages' own 404 and 400 are meant
    for path in ("/", "/timeline", "/map", "/search?q=jpg", "/?sort=rating&order=newest"):
        page.goto(site.url + path)
        page.wait_for_load_state("networkidle")
    assert page.errors == []
