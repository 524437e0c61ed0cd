"""Collections, the trash's undo and a share link's visitor page in a real browser (Debian's
Chromium driven by Playwright, as tests/api/test_api_browser.py does). Screenshots go to
test-artifacts/browser/organise-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assetloom.accounts import AccountService, Role
from assetloom.app import collections
from assetloom.app.library import Library
from assetloom.server.app import create_app
from tests.api.conftest import PASSWORD, photo_bytes
from tests.api.test_api_browser import ARGS, CHROMIUM, LAPTOP, SHOTS
from tests.live_app import serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


@dataclass
class Site:
    url: str
    root: Path
    ids: dict[str, str]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("organise-browser")
    root = work / "lib"
    files = []
    for i, name in enumerate(("pier.jpg", "lighthouse.jpg", "secret-b.jpg")):
        (work / name).write_bytes(photo_bytes(800 + i, size=(480, 360)))
        files.append(work / name)
    with Library.create(root) as lib:
        AccountService.of(lib).add_user("erin", Role.EDITOR, PASSWORD)
        lib.add(files)
        ids = {a.original_name: a.asset_id for a in lib.list().assets}
        collections.create(lib, "Harbour", by="erin")
        collections.add(lib, "Harbour", [ids["pier.jpg"], ids["lighthouse.jpg"]])
        collections.create(lib, "Private", by="erin")
        collections.add(lib, "Private", [ids["secret-b.jpg"]])
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serving(create_app(root)) as url:
        yield Site(url, root, ids)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(site: Site, browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(site.url + "/login?next=/collections")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site.url + "/collections")
    yield page
    context.close()


def _trashed(site: Site, asset_id: str) -> bool:
    with Library.open(site.root) as lib:
        return lib.organise.trashed_at(asset_id) is not None


def test_collections_list_and_grid(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    assert page.locator("#collections .tile").count() == 2
    page.click('[data-collection="Harbour"]')
    page.wait_for_url("**/collections/Harbour")
    assert page.locator("#items .item").count() == 2
    page.screenshot(path=str(SHOTS / "organise-collection.png"), full_page=True)


def test_trash_asks_first_and_undo_restores(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    pier = site.ids["pier.jpg"]
    item = page.locator(f'[data-item="{pier}"]')
    answers: list[str] = []

    def decline(dialog) -> None:  # type: ignore[no-untyped-def]
        answers.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    item.locator("[data-trash]").click()
    page.wait_for_timeout(300)
    assert answers and "pier.jpg" in answers[0], "it asks before moving"
    assert item.is_visible() and not _trashed(site, pier), "saying no moves nothing"

    page.once("dialog", lambda d: d.accept())
    item.locator("[data-trash]").click()
    toast = page.locator(".toast")
    toast.wait_for()
    assert "Moved to the trash" in toast.inner_text()
    item.wait_for(state="hidden")
    assert _trashed(site, pier)
    page.screenshot(path=str(SHOTS / "organise-undo-toast.png"))

    toast.locator("button.undo").click()
    page.locator(".toast", has_text="Restored").wait_for()
    item.wait_for(state="visible")
    assert not _trashed(site, pier)
    page.reload()
    assert page.locator(f'[data-item="{pier}"]').is_visible(), "back for good after a reload"


def test_trash_page_restores(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    lighthouse = site.ids["lighthouse.jpg"]
    page.once("dialog", lambda d: d.accept())
    page.locator(f'[data-item="{lighthouse}"] [data-trash]').click()
    page.locator(".toast").wait_for()
    page.goto(site.url + "/trash")
    row = page.locator(f'#trash tr[data-asset="{lighthouse}"]')
    assert row.is_visible()
    page.screenshot(path=str(SHOTS / "organise-trash.png"), full_page=True)
    row.locator("input[type=checkbox]").check()
    page.click("#restore-form button[type=submit]")
    page.wait_for_url(site.url + "/trash")
    assert page.locator(f'#trash tr[data-asset="{lighthouse}"]').count() == 0
    assert not _trashed(site, lighthouse)


def test_a_visitor_sees_the_shared_collection_only(site: Site, page, browser) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/collections/Harbour")
    page.fill("#share input[name=password]", "harbour-2027")
    page.click("#share button[type=submit]")
    url = page.locator("#share-url").input_value()
    assert "/s/als_" in url
    token = url.rsplit("/s/", 1)[1]

    visitor_context = browser.new_context(viewport=LAPTOP)
    visitor = visitor_context.new_page()
    visitor.goto(url)
    visitor.fill("input[name=password]", "harbour-2027")
    visitor.click("button[type=submit]")
    visitor.locator("#shared .tile").first.wait_for()
    names = visitor.locator("#shared .tile .name").all_inner_texts()
    assert sorted(names) == ["lighthouse.jpg", "pier.jpg"]
    loaded = visitor.evaluate(
        "[...document.querySelectorAll('#shared img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert loaded, "the thumbnails load for a visitor"
    visitor.screenshot(path=str(SHOTS / "organise-visitor.png"), full_page=True)
    visitor.click("#shared .tile >> nth=0")
    visitor.locator("#shared-asset").wait_for()
    assert visitor.locator("#download").count() == 0, "no downloads unless allowed"

    secret = site.ids["secret-b.jpg"]
    for path in (
        f"/s/{token}/a/{secret}",
        f"/s/{token}/a/{secret}/thumbnail",
        "/collections/Private",
    ):
        response = visitor.goto(site.url + path)
        assert response is not None
        assert response.status in (404, 200) and "secret-b" not in visitor.content()
        if path.startswith("/collections"):
            assert "/login" in visitor.url, "the library itself needs signing in"
        else:
            assert response.status == 404
    visitor_context.close()


def test_the_asset_page_moves_to_the_trash_with_undo(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    pier = site.ids["pier.jpg"]
    page.goto(f"{site.url}/assets/{pier}")
    page.once("dialog", lambda d: d.accept())
    page.click("#trash-asset")
    page.locator(".toast").wait_for()
    assert _trashed(site, pier)
    page.click(".toast button.undo")
    page.locator(".toast", has_text="Restored").wait_for()
    assert not _trashed(site, pier)
