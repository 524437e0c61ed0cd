"""Inline metadata editing on the asset page in a real browser (Debian's Chromium through
Playwright): an editor edits and saves, adds and rejects tags and sees a bad value explained;
a viewer sees the values without a form. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.accounts import AccountService, Role
from assetloom.app.library import Library
from assetloom.server.app import create_app
from tests.api.conftest import PASSWORD
from tests.api.test_api_browser import ARGS, CHROMIUM, LAPTOP, SHOTS
from tests.live_app import serving
from tests.media import make_photo

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    work = tmp_path_factory.mktemp("meta-browser")
    root = work / "lib"
    with Library.create(root) as lib:
        AccountService.of(lib).add_user("erin", Role.EDITOR, PASSWORD)
        AccountService.of(lib).add_user("vic", Role.VIEWER, PASSWORD)
        (added,) = lib.add([make_photo(work / "harbour.jpg", 77)]).added
        with lib.catalog.unit_of_work() as uow:  # an auto-tag, as the tagger writes it
            uow.add_tags(added.asset_id, [("sky", 0.8, "zero-shot")])
        lib.define_metadata_field("price", "number", [], "Price", actor="test")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serving(create_app(root)) as url:
        yield url, root, added.asset_id


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _signed_in(browser: object, url: str, user: str) -> object:
    context = browser.new_context(viewport=LAPTOP)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_editor_edits_inline(site: tuple[str, Path, str], browser: object) -> None:
    url, root, asset_id = site
    page = _signed_in(browser, url, "erin")
    page.goto(f"{url}/assets/{asset_id}")
    form = page.locator("[data-meta-form]")
    form.locator("input[name=title]").fill("港口黎明 Harbour at dawn")
    form.locator("textarea[name=description]").fill("First light over the harbour")
    form.locator("input[name=keywords]").fill("harbour, 港口")
    form.locator("input[name=expires]").fill("2027-01-31")
    form.locator("select[name=rating]").select_option("4")
    form.locator("select[name=status]").select_option("approved")
    form.locator("input[name='field.price']").fill("12.5")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"**/assets/{asset_id}#metadata")
    assert form.locator("input[name=title]").input_value() == "港口黎明 Harbour at dawn"
    assert form.locator("select[name=status]").input_value() == "approved"
    assert page.locator("[data-history]").count() == 1
    with Library.open(root) as lib:
        meta = lib.metadata([asset_id])[0]
        assert (meta.title, meta.rating, meta.status, meta.fields) == (
            "港口黎明 Harbour at dawn",
            4,
            "approved",
            {"price": 12.5},
        )
        assert meta.keywords == ["harbour", "港口"] and meta.usage.expires == "2027-01-31"
        assert meta.updated_by == "erin"
        # Fields the form sent unchanged stay "from the file".
        assert "creator" not in meta.edited and "licence" not in meta.edited
        history = {e.field for e in lib.metadata_history(asset_id).entries}
        assert {"title", "rating", "status", "fields.price"} <= history

    # A bad value comes back as a message above the form; nothing is saved.
    form.locator("input[name='field.price']").fill("cheap")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "is not a number" in page.locator("[data-meta-error]").inner_text()

    # Tags: add one by hand, reject the auto-tag.
    page.locator("[data-add-tag] input[name=tag]").fill("SKU-1234")
    page.locator("[data-add-tag] button[type=submit]").click()
    page.wait_for_selector("[data-meta-tags] li[data-tag='sku-1234']")
    page.locator("[data-meta-tags] li[data-tag='sky'] [data-reject]").click()
    page.wait_for_load_state()
    assert page.locator("[data-meta-tags] li[data-tag='sky']").count() == 0
    assert page.locator("[data-export]").count() == 1
    page.screenshot(path=str(SHOTS / "20-asset-metadata.png"), full_page=True)
    with Library.open(root) as lib:
        meta = lib.metadata([asset_id])[0]
        assert meta.rejected_tags == ["sky"]
        assert {t.key: t.source for t in meta.tags} == {"sku-1234": "manual"}
    page.context.close()


def test_viewer_sees_values_without_a_form(site: tuple[str, Path, str], browser: object) -> None:
    url, _, asset_id = site
    page = _signed_in(browser, url, "vic")
    page.goto(f"{url}/assets/{asset_id}")
    assert page.locator("[data-meta-form]").count() == 0
    assert "港口黎明 Harbour at dawn" in page.locator("#metadata").inner_text()
    assert page.locator("[data-add-tag]").count() == 0
    page.context.close()
