"""The web UI in a real browser: Debian's Chromium driven by Playwright (no browser download).

One server and one signed-in browser for the module; the tests run in order (sign in, upload,
search by text and by image, verify, duplicate review) and leave screenshots in
test-artifacts/browser/ at laptop and phone widths.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from assetloom.accounts import AccountService, Role
from assetloom.app.library import Library
from assetloom.server.app import create_app
from tests.api.conftest import PASSWORD, photo_bytes
from tests.conftest import REPO, shared_dir
from tests.live_app import serving

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = REPO / "test-artifacts" / "browser"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


def _understanding_works(folder: Path) -> bool:
    """Can this machine embed and tag at ingest (models, alignment head, tag calibration)?"""
    os.environ["ASSETLOOM_UNDERSTANDING"] = "true"
    try:
        with Library.create(folder / "probe") as lib:
            photo = folder / "probe.jpg"
            photo.write_bytes(photo_bytes(900))
            return bool(lib.add([photo]).added)
    except Exception:
        return False
    finally:
        os.environ["ASSETLOOM_UNDERSTANDING"] = "false"


class Site:
    def __init__(self, url: str, root: Path, files: Path, understanding: bool) -> None:
        self.url = url
        self.root = root
        self.files = files
        self.understanding = understanding


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("browser")
    understanding = _understanding_works(work)
    previous = os.environ.get("ASSETLOOM_UNDERSTANDING")
    os.environ["ASSETLOOM_UNDERSTANDING"] = "true" if understanding else "false"
    root = work / "lib"
    with Library.create(root) as lib:
        AccountService.of(lib).add_user("dana", Role.EDITOR, PASSWORD)
    files = work / "files"
    files.mkdir()
    _make_files(files)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with serving(create_app(root)) as url:
            yield Site(url, root, files, understanding)
    finally:
        if previous is None:
            os.environ.pop("ASSETLOOM_UNDERSTANDING", None)
        else:
            os.environ["ASSETLOOM_UNDERSTANDING"] = previous


def _make_files(folder: Path) -> None:
    shared = shared_dir() / "data/flickr8k"
    lines = (shared / "dev.jsonl").read_text().splitlines()[:4] if shared.is_dir() else []
    for i, line in enumerate(lines):
        shutil.copy(shared / json.loads(line)["image"], folder / f"flickr{i}.jpg")
    for i in range(len(lines), 4):
        (folder / f"flickr{i}.jpg").write_bytes(photo_bytes(910 + i, size=(500, 375)))
    # An edited copy of flickr0 (smaller, recompressed): the duplicate and the suspect file.
    edited = io.BytesIO()
    original = Image.open(folder / "flickr0.jpg").convert("RGB")
    small = original.resize((original.width * 3 // 4, original.height * 3 // 4))
    small.save(edited, "JPEG", quality=70)
    (folder / "flickr0-small.jpg").write_bytes(edited.getvalue())
    (folder / "suspect.jpg").write_bytes(edited.getvalue())
    (folder / "brief.md").write_text(
        "# 春季新品发布\n蓝色调的科技感产品图，用于电商主图。\n"
        "Blue tech product shots for the harbour launch.\n",
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def page(site: Site) -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.on("dialog", lambda d: d.accept())
        yield page
        context.close()
        browser.close()


def _shot(page: object, name: str, *, phone: bool = False) -> None:
    if phone:
        page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / f"{name}{'-phone' if phone else ''}.png"), full_page=True)
    if phone:
        page.set_viewport_size(LAPTOP)


def test_sign_in(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/upload")
    assert "/login" in page.url
    page.fill("input[name=username]", "dana")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Wrong user name or password."
    _shot(page, "01-sign-in-error", phone=True)
    page.fill("input[name=username]", "dana")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site.url + "/upload")
    assert page.locator(".me a").inner_text() == "dana"


def test_upload_with_per_file_progress(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/upload")
    names = [
        "flickr0.jpg",
        "flickr1.jpg",
        "flickr2.jpg",
        "flickr3.jpg",
        "flickr0-small.jpg",
        "brief.md",
    ]
    page.set_input_files("#upload-input", [str(site.files / n) for n in names])
    for name in names:
        row = page.locator(f'li[data-file="{name}"] .outcome')
        row.locator("a").wait_for()
        assert row.inner_text() == "added"
        assert page.locator(f'li[data-file="{name}"] progress').get_attribute("value") == "1"
    assert page.locator("#upload-status").inner_text().startswith("6 added")
    _shot(page, "02-upload")
    page.set_input_files("#upload-input", [str(site.files / "flickr1.jpg")])
    page.locator(".outcome-present").first.wait_for()
    page.goto(site.url + "/")
    assert page.locator(".tile").count() == 6
    _shot(page, "03-library")
    _shot(page, "03-library", phone=True)


def test_search_by_text(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/search")
    page.fill("#search-form input[name=q]", "新品发布")
    page.click("#search-form button")
    page.wait_for_url("**/search?q=*")
    first = page.locator("#results .tile .name").first
    assert first.inner_text() == "brief.md"
    _shot(page, "04-search-text-zh")
    page.fill("#search-form input[name=q]", "harbour launch")
    page.click("#search-form button")
    page.wait_for_load_state()
    assert page.locator("#results .tile .name").first.inner_text() == "brief.md"
    _shot(page, "04-search-text-en", phone=True)


def test_search_by_image(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    if not site.understanding:
        pytest.skip("image search needs the image encoder, alignment head and tag calibration")
    page.goto(site.url + "/search")
    page.set_input_files("#image-input", str(site.files / "suspect.jpg"))
    status = page.locator("#search-status")
    status.filter(has_text=re.compile(r"^\d+ results? like")).wait_for()
    top = [page.locator("#results .tile .name").nth(i).inner_text() for i in range(2)]
    assert set(top) == {"flickr0.jpg", "flickr0-small.jpg"}
    _shot(page, "05-search-image")


def test_verify_shows_verdict_and_verified_proof(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/verify")
    page.set_input_files("#verify-input", str(site.files / "suspect.jpg"))
    verdict = page.locator(".verdict").first
    verdict.wait_for()
    assert verdict.get_attribute("data-tier") == "exact", (
        "suspect.jpg is byte-identical to flickr0-small.jpg"
    )
    proof = verdict.locator(".proof").first
    page.wait_for_function(
        "el => el.classList.contains('ok') || el.classList.contains('bad')",
        arg=proof.element_handle(),
    )
    text = proof.inner_text()
    assert "proof verified" in text and "signature checked in your browser" in text, text
    near = verdict.locator(".match .tier").nth(1).inner_text()
    assert near == "near-identical", "the full-size original is found too"
    _shot(page, "06-verify")
    _shot(page, "06-verify", phone=True)


def test_asset_detail_shows_provenance_and_copies(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/")
    page.locator(".tile", has_text="flickr0.jpg").first.click()
    page.locator("#provenance.ok").wait_for()
    assert "proof verified" in page.locator("#provenance").inner_text()
    page.locator("#copies .tile").first.wait_for()
    assert page.locator("#copies .tile .name").first.inner_text() == "flickr0-small.jpg"
    _shot(page, "07-asset")
    _shot(page, "07-asset", phone=True)


def test_duplicate_review_not_duplicates_and_undo(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    """ "Not duplicates" keeps the group's assets apart from the next run on; Undo forgets it."""
    page.goto(site.url + "/duplicates")
    page.click("#dup-run")
    group = page.locator(".group").first
    group.wait_for()
    group.locator("button.dismiss").click()
    page.locator(".group.dismissed").wait_for()
    page.click("#dup-run")
    page.locator("#dup-status", has_text="No duplicates found.").wait_for()
    with Library.open(site.root) as lib:
        assert lib.duplicates() == []
    page.reload()
    page.click("#dup-run")
    page.locator("#dup-status", has_text="No duplicates found.").wait_for()
    with Library.open(site.root) as lib:
        ids = [a.asset_id for a in lib.list().assets if a.original_name.startswith("flickr0")]
        lib.dismiss_duplicates(ids, by="test", undo=True)
    page.click("#dup-run")
    page.locator(".group").first.wait_for()
    page.locator(".group").first.locator("button.dismiss").click()
    page.locator(".group.dismissed").wait_for()
    page.locator(".group.dismissed button.dismiss", has_text="Undo").click()
    page.locator(".group:not(.dismissed)").wait_for()
    page.click("#dup-run")
    page.locator(".group").first.wait_for()


def test_duplicate_review_keep_and_delete(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/duplicates")
    page.click("#dup-run")
    group = page.locator(".group").first
    group.wait_for()
    keeper = group.locator(".tile.keeper .name").inner_text()
    assert keeper == "flickr0.jpg", "the larger original is the suggested keeper"
    _shot(page, "08-duplicates")
    group.locator("button.danger").click()
    group.locator(".tile.removed").wait_for()
    assert group.locator(".tile.removed .name").inner_text() == "flickr0-small.jpg"
    _shot(page, "08-duplicates-after-delete", phone=True)
    with Library.open(site.root) as lib:
        assert sorted(a.original_name for a in lib.list().assets) == [
            "brief.md",
            "flickr0.jpg",
            "flickr1.jpg",
            "flickr2.jpg",
            "flickr3.jpg",
        ]


def test_no_console_errors_on_pages(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    for path in (
        "/",
        "/search?q=harbour",
        "/upload",
        "/verify",
        "/duplicates",
        "/account",
        "/docs",
    ):
        page.goto(site.url + path)
        page.wait_for_load_state("networkidle")
    assert errors == []


def test_backdated_catalog_row_shows_a_failed_proof(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    """The page's "registered" claim is only vouched for by the signed leaf."""
    page.goto(site.url + "/")
    page.locator(".tile", has_text="flickr1.jpg").first.click()
    page.locator("#provenance.ok").wait_for()
    ok_text = page.locator("#provenance").inner_text()
    assert "proof verified" in ok_text and "registered 20" in ok_text
    asset_url = page.url
    with sqlite3.connect(site.root / "catalog.db") as con:
        (original,) = con.execute(
            "SELECT registered_at FROM assets WHERE original_name = 'flickr1.jpg'"
        ).fetchone()
        con.execute(
            "UPDATE assets SET registered_at = '2020-01-01 00:00:00' "
            "WHERE original_name = 'flickr1.jpg'"
        )
    try:
        page.goto(asset_url)
        page.locator("#provenance.bad").wait_for()
        text = page.locator("#provenance").inner_text()
        assert "proof verified" not in text
        assert "catalog disagrees with the signed ledger leaf" in text, text
        _shot(page, "09-asset-backdated")
    finally:
        with sqlite3.connect(site.root / "catalog.db") as con:
            con.execute(
                "UPDATE assets SET registered_at = ? WHERE original_name = 'flickr1.jpg'",
                (original,),
            )


def test_a_recording_plays_from_the_moment_a_hit_named(site: Site, page) -> None:  # type: ignore[no-untyped-def]
    """Search hits link to /assets/ID?t=SECONDS; the asset page's player starts there."""
    from tests.media_av import RATE, tone, write_audio

    wav = write_audio(site.files / "jingle.wav", tone(440.0, 8.0).reshape(-1, 1), RATE)
    with Library.open(site.root) as lib:
        (added,) = lib.add([wav]).added
    page.goto(f"{site.url}/assets/{added.asset_id}?t=3.5")
    player = page.locator("audio#player")
    player.wait_for()
    page.wait_for_function(
        "() => { const p = document.querySelector('#player');"
        " return p.readyState >= 1 && Math.abs(p.currentTime - 3.5) < 0.05; }"
    )
    _shot(page, "09-audio-asset")
