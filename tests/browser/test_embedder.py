"""Switching a collection's embedder from the web UI (D5): an administrator starts re-embedding a small
collection on the service's Embedder page, the page follows the run to its end and says so, and the face API
then recognises with the new embedder; refusals show the server's message; a reader sees the state only."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from playwright.sync_api import Locator, Page, Route, expect

from tests.browser.conftest import OWNER_EMAIL, OWNER_PASSWORD, AdminClient, Pages, admin_cli, shoot, sign_in
from tests.e2e.server import FACES, ServerFactory, ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.models]

READER = "reader@example.com"
READER_PASSWORD = "only looking, thanks"
SERVICE = "Door"
# A real, cheap switch: SFace (the default) to SFace on the face and its mirror image (docs/models.md).
TARGET = "sface-flip"


@pytest.fixture(scope="module")
def prepared(server_factory: ServerFactory) -> tuple[ServerProcess, dict[str, Any]]:
    """An owner, an application with a recognition service of two people, and a reader member."""
    server = server_factory.start()
    admin_cli(server, "create-owner", "--email", OWNER_EMAIL, password=OWNER_PASSWORD)
    admin_cli(server, "accounts", "create", "--email", READER, "--role", "USER", password=READER_PASSWORD)
    admin_cli(server, "applications", "create", "Lobby")
    admin_cli(server, "applications", "add-member", "Lobby", READER, "USER")
    admin_cli(server, "services", "create", "--application", "Lobby", "--name", SERVICE, "--type", "RECOGNITION")
    admin = AdminClient(server)
    admin.sign_in()
    app = admin.call("GET", "/applications")["applications"][0]
    service: dict[str, Any] = admin.call("GET", f"/applications/{app['id']}/services")["services"][0]
    for person in ("obama", "biden"):
        photo = FACES / f"{person}_1.jpg"
        files = {"file": (photo.name, photo.read_bytes(), "image/jpeg")}
        answer = admin.call("POST", f"/services/{service['id']}/examples", data={"subject": person}, files=files)
        assert answer["results"][0]["status"] == 201, answer
    return server, service


def heading(page: Page) -> Locator:
    return page.locator("main h1")


def panel(page: Page) -> Locator:
    return page.locator("section.migration")


def open_embedder_page(page: Page) -> None:
    page.get_by_role("link", name="Lobby").click()
    card = page.locator(f"li.service[data-service='{SERVICE}']")
    expect(card.locator(".meta").first).to_contain_text("2 examples · embedder sface")
    card.get_by_role("link", name=f"Embedder of {SERVICE}").click()
    expect(heading(page)).to_have_text(f"Embedder of {SERVICE}")


def start(page: Page, embedder: str) -> None:
    form = page.get_by_role("form", name="Re-embed the collection")
    form.get_by_label("Embedder").fill(embedder)
    form.get_by_role("button", name="Start re-embedding").click()


def test_a_migration_started_on_the_page_completes(
    prepared: tuple[ServerProcess, dict[str, Any]], pages: Pages
) -> None:
    server, service = prepared
    owner = pages.open()
    sign_in(owner, server.url, OWNER_EMAIL, OWNER_PASSWORD)
    open_embedder_page(owner)
    expect(owner.locator("main .subtitle")).to_have_text("Built with sface · 2 examples")
    expect(panel(owner)).to_have_attribute("data-state", "idle")
    expect(panel(owner)).to_contain_text("The collection (2 examples) is embedded with sface.")
    form = owner.get_by_role("form", name="Re-embed the collection")
    # What the server has, from GET /admin/embedders, offered as suggestions and named in the hint.
    expect(form.locator("#embedder-hint")).to_contain_text("sface, sface-flip")
    expect(form.locator("#embedder-hint")).to_contain_text("sface+dlib, sface+dlib-flip")
    assert "dlib-flip" in form.locator("#known-embedders option").evaluate_all("options => options.map(o => o.value)")

    # Refusals: the server's message for an unknown name (it lists the known ones), and no run to the
    # embedder the collection already has.
    start(owner, "no-such-model")
    expect(form.locator(".error")).to_contain_text("Unknown embedder no-such-model; known:")
    expect(form.locator(".error")).to_contain_text("(code 0, HTTP 400)")
    expect(form.get_by_label("Embedder")).to_be_focused()
    start(owner, "sface")
    expect(form.locator(".error")).to_have_text("The collection already uses sface.")
    shoot(owner, "embedder")

    # The page keeps asking while the server says "running": its answers are held at 1 of 2 until the
    # screenshots are taken (the real run of two photos is over too fast to be seen), then the server's own
    # answers go through.
    held = {"count": 0, "released": False}

    def hold_running(route: Route) -> None:
        if route.request.method == "GET" and not held["released"]:
            held["count"] += 1
            body = {"service": SERVICE, "embedder": TARGET, "state": "running", "done": 1, "total": 2, "error": None}
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
        else:
            route.continue_()

    owner.route(f"**/admin/services/{service['id']}/migrate", hold_running)
    start(owner, TARGET)
    expect(panel(owner)).to_have_attribute("data-state", "running")
    expect(owner.get_by_role("heading", name="Progress")).to_be_focused()  # the start button is disabled
    expect(panel(owner).get_by_role("progressbar")).to_have_js_property("value", 1)
    expect(panel(owner)).to_contain_text("1 of 2 examples embedded with sface-flip so far")
    expect(form.get_by_role("button", name="Start re-embedding")).to_be_disabled()
    shoot(owner, "embedder-running")
    owner.wait_for_timeout(1500)  # the page asks again while "running"...
    assert held["count"] >= 2, held
    held["released"] = True  # ...and reports the real end once the server's answers go through
    expect(panel(owner)).to_have_attribute("data-state", "done")
    owner.unroute(f"**/admin/services/{service['id']}/migrate")
    expect(panel(owner)).to_contain_text(f"2 examples embedded again with {TARGET}: the collection now uses it")
    expect(owner.locator("main .subtitle")).to_have_text(f"Built with {TARGET} · 2 examples")
    expect(form.get_by_role("button", name="Start re-embedding")).to_be_enabled()
    shoot(owner, "embedder-done")
    owner.emulate_media(color_scheme="dark")
    shoot(owner, "embedder-done-dark")
    owner.emulate_media(color_scheme="light")

    # The face API now answers with the new embedder, and still finds the right person.
    answer = requests.post(
        f"{server.url}/api/v1/recognition/recognize",
        params={"status": "true"},
        files={"file": ("obama_2.jpg", (FACES / "obama_2.jpg").read_bytes(), "image/jpeg")},
        headers={"x-api-key": service["api_key"]},
        timeout=60,
    ).json()
    assert answer["plugins_versions"]["calculator"].endswith("+flip"), answer
    assert answer["result"][0]["subjects"][0]["subject"] == "obama", answer

    # A reader of the application sees the state, and nothing to start.
    reader = pages.open()
    sign_in(reader, server.url, READER, READER_PASSWORD)
    open_embedder_page_as_reader(reader)
    expect(reader.get_by_role("form", name="Re-embed the collection")).to_have_count(0)
    expect(reader.locator("main")).to_contain_text("Administrators of the application can switch")


def open_embedder_page_as_reader(page: Page) -> None:
    page.get_by_role("link", name="Lobby").click()
    page.get_by_role("link", name=f"Embedder of {SERVICE}").click()
    expect(heading(page)).to_have_text(f"Embedder of {SERVICE}")
    expect(page.locator("main .subtitle")).to_have_text(f"Built with {TARGET} · 2 examples")


@pytest.mark.parametrize(
    ("state", "error", "title"),
    [
        ("failed", "Model dlib cannot be loaded: out of memory", "Failed"),
        ("interrupted", None, "Stopped before the end"),
    ],
)
def test_a_run_that_did_not_finish_is_reported_and_can_be_started_again(
    prepared: tuple[ServerProcess, dict[str, Any]], pages: Pages, state: str, error: str | None, title: str
) -> None:
    """How the page reports a run that ended badly (the server's answer is given here: neither can be
    provoked cheaply on a real server): the words, the server's error, and the target back in the field."""
    server, service = prepared
    page = pages.open()
    body = {"service": SERVICE, "embedder": "dlib", "state": state, "done": 1, "total": 2, "error": error}
    page.route(
        f"**/admin/services/{service['id']}/migrate",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(body)),
    )
    sign_in(page, server.url, OWNER_EMAIL, OWNER_PASSWORD)
    page.goto(f"{server.url}/#/services/{service['id']}/embedder")
    expect(panel(page)).to_have_attribute("data-state", state)
    expect(panel(page).locator(".state")).to_have_text(title)
    expect(panel(page)).to_contain_text("1 of 2 examples")
    expect(panel(page).get_by_role("progressbar")).to_have_js_property("value", 1)
    if error:
        expect(panel(page).get_by_role("alert")).to_have_text(error)
    else:
        expect(panel(page).get_by_role("alert")).to_be_hidden()
    form = page.get_by_role("form", name="Re-embed the collection")
    expect(form.get_by_label("Embedder")).to_have_value("dlib")
    expect(form.get_by_role("button", name="Start re-embedding")).to_be_enabled()
    if state == "failed":
        shoot(page, "embedder-failed")
