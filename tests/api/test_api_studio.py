"""The studio through the API and the web UI: create as a background job (with an uploaded
style reference), its steps and result, cancelling, lineage, a run a dead server left behind
run again, and the Studio page in a real browser.

Each test serves its own library under a real uvicorn (the job runner lives in the app's
lifespan); runs take seconds each on loaded cores, so the tests poll without timing asserts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assetloom.app.library import Library
from assetloom.server.app import create_app
from assetloom.store.studio import lease_key
from tests.api.conftest import PASSWORD, make_library, photo_bytes
from tests.cli_run import cli
from tests.live_app import serving
from tests.media import make_photo

BRIEF = "为一款新型环保水瓶创作社交媒体内容"
WAIT_S = 600


@dataclass
class Site:
    url: str
    root: Path
    client: TestClient
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def wait(self, job_id: str) -> dict:
        """Poll the job until it has ended; its last document."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            r = self.client.get(f"/api/v1/jobs/{job_id}", headers=self.auth("viewer"))
            assert r.status_code == 200, r.text
            if r.json()["state"] not in ("queued", "running"):
                return r.json()
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} still running after {WAIT_S} s")

    def total(self) -> int:
        r = self.client.get("/api/v1/assets?limit=1", headers=self.auth("viewer"))
        return r.json()["total"]


def _library(root: Path, photos: Path) -> dict[str, str]:
    """Users per role, and photos for the studio to choose a subject and scene from."""
    tokens = make_library(root)
    with Library.open(root) as lib:
        lib.settings = lib.settings.model_copy(update={"workers": 1})
        lib.add([make_photo(photos / f"p{i}.jpg", seed=i) for i in range(4)])
    return tokens


@contextmanager
def _serving(root: Path, tokens: dict[str, str]) -> Iterator[Site]:
    app = create_app(root)
    with serving(app, lifespan="on", start_s=60, stop_s=180) as url:
        yield Site(url, root, TestClient(app, base_url=url), tokens)


@pytest.fixture
def site(tmp_path: Path, understanding: None) -> Iterator[Site]:
    root = tmp_path / "lib"
    tokens = _library(root, tmp_path / "photos")
    with _serving(root, tokens) as served:
        yield served


def test_create_runs_as_a_job_and_a_queued_one_cancels(site: Site) -> None:
    before = site.total()
    editor = site.auth("editor")
    r = site.client.post(
        "/api/v1/create",
        headers=editor,
        data={"brief": BRIEF, "outputs": "text,image", "formats": "1:1", "seed": "7"},
        files={"style_ref": ("style.jpg", photo_bytes(42), "image/jpeg")},
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] in ("queued", "running") and job["request"]["style_ref"] == "style.jpg"
    # One run at a time, and the first takes seconds: the second waits in the queue.
    second = site.client.post(
        "/api/v1/create", headers=editor, json={"brief": "A trail bottle", "outputs": ["text"]}
    ).json()
    r = site.client.delete(f"/api/v1/jobs/{second['job_id']}", headers=editor)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"

    viewer = site.auth("viewer")
    assert (
        site.client.post("/api/v1/create", headers=viewer, json={"brief": "x"}).status_code == 403
    )
    assert site.client.delete(f"/api/v1/jobs/{job['job_id']}", headers=viewer).status_code == 403

    done = site.wait(job["job_id"])
    assert done["state"] == "done", done
    steps = [s["step"] for s in done["steps"]]
    assert steps[0] == "registering the brief and references" and "making the image 1:1" in steps
    assert steps[-1] == "registering the outputs"
    result = done["result"]
    copy, image = result["outputs"]
    assert (copy["kind"], image["kind"]) == ("text", "image")
    for out in (copy, image):
        asset = site.client.get(f"/api/v1/assets/{out['asset_id']}", headers=viewer).json()
        assert asset["source"].startswith(f"created by the studio (project {job['job_id']})")

    r = site.client.get(f"/api/v1/assets/{image['asset_id']}/lineage", headers=viewer)
    assert r.status_code == 200
    up = {(e["role"], e["parent_id"]) for e in r.json()["up"] if e["child_id"] == image["asset_id"]}
    assert ("brief", result["brief_asset_id"]) in up and ("copy", copy["asset_id"]) in up
    assert ("style", result["inputs"]["style"]) in up
    cli_doc = cli("-L", str(site.root), "lineage", image["asset_id"], "--json")
    assert cli_doc.returncode == 0, cli_doc.stderr
    assert r.json() == json.loads(cli_doc.stdout)

    record = site.client.get(f"/api/v1/projects/{job['job_id']}", headers=viewer).json()
    assert record["state"] == "done" and record["report"]["copyright"] == []
    assert record["report"]["request"]["style_ref"] == "style.jpg"  # never the server's path
    assert {o["asset_id"] for o in record["outputs"]} == {copy["asset_id"], image["asset_id"]}

    cancelled = site.client.get(f"/api/v1/jobs/{second['job_id']}", headers=viewer).json()
    assert cancelled["state"] == "cancelled" and cancelled["steps"] == []
    r = site.client.get(f"/api/v1/projects/{second['job_id']}", headers=viewer)
    assert r.status_code == 404 and r.json()["code"] == "project_not_found"
    assert site.total() == before + 4  # the brief, the style reference, copy and picture


def test_bad_requests_are_refused_before_a_job_is_queued(site: Site) -> None:
    editor = site.auth("editor")
    r = site.client.post("/api/v1/create", headers=editor, json={"brief": "   "})
    assert r.status_code == 400 and "empty" in r.json()["message"]
    r = site.client.post(
        "/api/v1/create",
        headers=editor,
        data={"brief": "A bottle"},
        files={"style_ref": ("notes.jpg", b"not a picture", "image/jpeg")},
    )
    assert r.status_code == 400 and "not an image" in r.json()["message"]
    assert str(site.root) not in r.text
    r = site.client.post(
        "/api/v1/create", headers=editor, json={"brief": "A bottle", "outputs": ["poem"]}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][:2] == ["body", "outputs"]
    r = site.client.post(
        "/api/v1/create",
        headers=editor,
        json={"brief": "A bottle", "backend": ["image=comfyui:http://10.1.2.3:8188"]},
    )
    assert r.status_code == 403 and "only admins" in r.json()["message"]
    r = site.client.post(
        "/api/v1/assets/ffffffffff/repurpose", headers=editor, json={"instruction": "in snow"}
    )
    assert r.status_code == 404
    assert not list((site.root / "tmp" / "studio-jobs").glob("*/*"))  # no style kept


def test_a_run_a_dead_server_left_is_interrupted_and_runs_again(
    tmp_path: Path, understanding: None
) -> None:
    root = tmp_path / "lib"
    tokens = make_library(root)
    dead, alive = "d" * 32, "a" * 32
    request = {"brief": "A reusable trail bottle for hikers", "outputs": ["text"], "seed": 3}
    with Library.open(root) as lib:
        with lib.catalog.unit_of_work() as uow:
            for project_id in (dead, alive):
                lib.studio.start_project(
                    uow.session,
                    project_id,
                    "create",
                    request["brief"],
                    "en",
                    datetime.now(UTC),
                    request=request,
                )
        # `alive` is still being made by a live process (its lease is held); `dead` has none.
        assert lib.ports.guard.jobs.start("studio", lease_key(alive)) is not None
    with _serving(root, tokens) as site:
        viewer, editor = site.auth("viewer"), site.auth("editor")
        assert site.client.get(f"/api/v1/jobs/{dead}", headers=viewer).json()["state"] == (
            "interrupted"
        )
        assert site.client.get(f"/api/v1/jobs/{alive}", headers=viewer).json()["state"] == (
            "running"
        )
        r = site.client.post(f"/api/v1/jobs/{alive}/rerun", headers=editor)
        assert r.status_code == 400
        r = site.client.post(f"/api/v1/jobs/{dead}/rerun", headers=editor)
        assert r.status_code == 202 and r.json()["rerun_of"] == dead
        again = site.wait(r.json()["job_id"])
        assert again["state"] == "done" and again["request"]["seed"] == 3
        (copy,) = again["result"]["outputs"]
        assert copy["kind"] == "text" and copy["recipe"]["seed"] == 3


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_the_studio_page_makes_a_campaign_and_links_its_outputs(site: Site, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    from tests.api.test_api_browser import ARGS, LAPTOP, SHOTS

    style = make_photo(tmp_path / "look.jpg", seed=77)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_context(viewport=LAPTOP).new_page()
        page.set_default_timeout(WAIT_S * 1000)
        page.goto(site.url + "/studio")
        page.fill("input[name=username]", "editor")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(site.url + "/studio")
        # From here on (after the first page, whose /favicon.ico the browser finds missing):
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.fill("textarea[name=brief]", "A reusable trail bottle for hikers, fresh and natural")
        page.set_input_files("#style-input", str(style))
        assert page.locator("#style-name").inner_text() == "look.jpg"
        page.click("#studio-run")
        page.locator("#studio-outputs .tile").first.wait_for()
        assert page.locator("#studio-outputs .tile").count() == 2
        assert "making the image 1:1" in page.locator("#job-steps").inner_text()
        page.screenshot(path=str(SHOTS / "10-studio.png"), full_page=True)
        report = page.locator("#studio-report").get_attribute("href")

        page.locator("#studio-outputs .tile", has_text="image 1:1").click()
        page.locator("#lineage:not([hidden])").wait_for()
        made_from = page.locator('#lineage ul[data-direction="up"]').inner_text()
        assert "brief" in made_from and "style" in made_from and "copy" in made_from
        page.screenshot(path=str(SHOTS / "11-asset-lineage.png"), full_page=True)

        page.goto(site.url + report)
        assert page.locator("#project-state").inner_text() == "done"
        assert page.locator("#project-outputs .tile").count() == 2
        assert "text_contrast" in page.locator("#quality").inner_text()
        assert page.locator("#copyright").count() == 1 and page.locator("#plan").count() == 1
        palette = page.locator("#plan .swatch").first.evaluate("s => s.style.background")
        assert palette.startswith("rgb")
        page.screenshot(path=str(SHOTS / "12-studio-report.png"), full_page=True)
        browser.close()
    assert errors == []  # no script errors, nothing the page's CSP refused
