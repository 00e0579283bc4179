"""The whole first-run story in a real browser against a real server with real models.

A fresh `facekeeper serve` prints a one-time setup code; the owner signs up with it, creates an application,
a recognition service and its collection (one photo picked, several dropped at once, with an answer per
file), then recognises a third photo on the test page: the right name must be drawn over the face. Detection
and verification services are tried too, and every main page is screenshotted at desktop and phone width
under `test-output/screenshots/` (see `shoot`).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import OWNER_EMAIL, OWNER_PASSWORD, Pages, setup_code, shoot
from tests.e2e.server import FACES, GROUPS, NONFACE, ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.models]

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
APPLICATION = "Front office"
RECOGNITION = "Door camera"
DETECTION = "Face finder"
VERIFICATION = "ID check"


def accept_dialogs(page: Page) -> None:
    """Deleting asks first (window.confirm): say yes."""
    page.on("dialog", lambda dialog: dialog.accept())


def heading(page: Page) -> Locator:
    return page.locator("main h1")


def drop_files(page: Page, target: str, files: list[Path]) -> None:
    """Drags files from the desktop onto `target`, as a person would: a real DataTransfer with File objects,
    delivered by dragover and drop events."""
    payload = [{"name": path.name, "data": base64.b64encode(path.read_bytes()).decode()} for path in files]
    transfer = page.evaluate_handle(
        """(files) => {
          const transfer = new DataTransfer();
          for (const file of files) {
            const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], file.name, { type: "image/jpeg" }));
          }
          return transfer;
        }""",
        payload,
    )
    page.dispatch_event(target, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(target, "dragover", {"dataTransfer": transfer})
    page.dispatch_event(target, "drop", {"dataTransfer": transfer})


def sign_up_owner(page: Page, base_url: str, code: str) -> None:
    page.goto(base_url)
    expect(heading(page)).to_have_text("Welcome to Facekeeper")
    # The page says where the code is: the server's start-up output.
    expect(page.get_by_text("start-up output")).to_be_visible()
    shoot(page, "setup")
    page.get_by_label("Setup code").fill("WRNG-CODE-0000")
    page.get_by_label("Your name").fill("Olga Owner")
    page.get_by_label("Email").fill(OWNER_EMAIL)
    page.get_by_label("Password", exact=True).fill(OWNER_PASSWORD)
    page.get_by_label("Password again").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Create owner account").click()
    # A wrong code is refused with the server's message, and the form stays.
    expect(page.locator("form .error")).to_be_visible()
    expect(heading(page)).to_have_text("Welcome to Facekeeper")
    page.get_by_label("Setup code").fill(code)
    page.get_by_role("button", name="Create owner account").click()
    expect(heading(page)).to_have_text("Applications")
    expect(page.locator("#nav")).to_contain_text(OWNER_EMAIL)


def create_application(page: Page) -> None:
    page.get_by_label("Name").fill(APPLICATION)
    page.get_by_role("button", name="Create application").click()
    expect(heading(page)).to_have_text(APPLICATION)


def create_service(page: Page, name: str, type_label: str) -> str:
    """Creates a service on the application page; its key as the page shows it."""
    form = page.get_by_role("form", name="New service")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Type").select_option(label=type_label)
    form.get_by_role("button", name="Create service").click()
    card = page.locator(f"li.service[data-service='{name}']")
    expect(card).to_be_visible()
    key = card.locator("code.key").inner_text().strip()
    assert UUID.match(key), f"the key shown is not a lower-case UUID: {key!r}"
    card.get_by_role("button", name=f"Copy API key of {name}").click()
    expect(card.locator(".copied")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    return key


def add_subject(page: Page, name: str) -> None:
    page.get_by_label("New subject (person's name)").fill(name)
    page.get_by_role("button", name="Add subject").click()
    expect(page.locator("#subject-heading")).to_have_text(name)


def upload_results(page: Page) -> Locator:
    return page.locator(".upload-results li")


def build_collection(page: Page) -> None:
    """Two people: Barack Obama from one picked photo; Angelina Jolie from four dropped at once, of which
    two are refused, each with its own reason."""
    add_subject(page, "Barack Obama")
    page.get_by_label("Choose photos of Barack Obama").set_input_files(str(FACES / "obama_1.jpg"))
    expect(upload_results(page)).to_have_count(1)
    expect(upload_results(page).first).to_have_class("ok")
    expect(page.locator("ul.examples li.example")).to_have_count(1)

    add_subject(page, "Angelina Jolie")
    dropped = [
        FACES / "angelina_jolie_1.jpg",
        NONFACE / "no_face.jpg",
        FACES / "angelina_jolie_2.jpg",
        GROUPS / "two_faces.jpg",
    ]
    drop_files(page, ".dropzone", dropped)
    results = upload_results(page)
    expect(results).to_have_count(4)
    expect(page.get_by_role("status").filter(has_text="photos of 4 added")).to_have_text(
        "2 photos of 4 added to Angelina Jolie."
    )
    for line, path, ok in zip(results.all(), dropped, (True, False, True, False), strict=True):
        expect(line.locator(".file-name")).to_have_text(path.name)
        expect(line).to_have_class("ok" if ok else "failed")
    expect(results.nth(1)).to_contain_text("No face is found in the given image")
    expect(results.nth(3)).to_contain_text("More than one face")  # refused, as by the face API
    examples = page.locator("ul.examples li.example")
    expect(examples).to_have_count(2)
    # The thumbnails are the stored photos, served by the admin API.
    for img in examples.locator("img").all():
        img.scroll_into_view_if_needed()
        expect(img).to_have_js_property("complete", True)
        assert img.evaluate("(el) => el.naturalWidth") > 0

    expect(page.locator(".subjects-panel button.subject")).to_have_count(2)
    expect(page.locator("main .subtitle")).to_have_text("2 subjects · 3 examples")


def search_and_delete(page: Page) -> None:
    """Search narrows the list; deleting an example removes it from the grid and the counts."""
    page.get_by_label("Search subjects").fill("jol")
    subjects = page.locator(".subjects-panel button.subject")
    expect(subjects).to_have_count(1)
    expect(subjects.first.locator(".name")).to_have_text("Angelina Jolie")
    page.get_by_label("Search subjects").fill("nobody")
    expect(subjects).to_have_count(0)
    expect(page.locator(".subject-list-area .empty")).to_contain_text("No subject matches")
    page.get_by_label("Search subjects").fill("")
    expect(subjects).to_have_count(2)

    page.get_by_role("button", name="Delete Example 2 of Angelina Jolie").click()
    expect(page.locator("ul.examples li.example")).to_have_count(1)
    expect(page.locator("main .subtitle")).to_have_text("2 subjects · 2 examples")


def drawn_titles(page: Page) -> list[str]:
    """The first line of every label drawn over the photo (subject and similarity, or `face N`)."""
    return page.locator("svg.overlay-layer text.face-label tspan.label-title").all_text_contents()


def recognise(page: Page) -> None:
    page.get_by_label("Photo", exact=True).set_input_files(str(FACES / "obama_2.jpg"))
    for plugin in ("Age", "Gender", "Landmarks"):
        page.get_by_label(plugin, exact=True).check()
    page.get_by_role("button", name="Recognize").click()
    expect(page.locator("svg.overlay-layer g.face")).to_have_count(1, timeout=120_000)
    titles = drawn_titles(page)
    assert len(titles) == 1 and titles[0].startswith("Barack Obama "), titles
    similarity = float(titles[0].removeprefix("Barack Obama "))
    assert similarity >= 0.5, titles
    face = page.locator("svg.overlay-layer g.face").first
    assert "tone-match" in (face.get_attribute("class") or "")
    # Landmarks drawn, and the age and gender words under the name.
    assert face.locator("circle.landmark").count() == 5
    label = face.locator("text.face-label").text_content() or ""
    assert re.search(r"age \d+", label) and re.search(r"\b(male|female)\b", label), label
    # The raw answer beside it says the same.
    raw = page.locator("pre.json").inner_text()
    assert '"subject": "Barack Obama"' in raw and '"age"' in raw and '"landmarks"' in raw


def detect(page: Page) -> None:
    page.get_by_label("Photo", exact=True).set_input_files(str(GROUPS / "five_faces.jpg"))
    for plugin in ("Mask", "Head pose"):
        page.get_by_label(plugin, exact=True).check()
    page.get_by_role("button", name="Detect").click()
    expect(page.locator("svg.overlay-layer g.face")).to_have_count(5, timeout=120_000)
    assert sorted(drawn_titles(page)) == [f"face {n}" for n in range(1, 6)]
    # Every face's mask and pose are listed; on a crowded photo some labels keep only their title.
    for item in page.locator("ol.face-list > li").all():
        expect(item.locator("dt")).to_contain_text(["Box", "Mask", "Pose"])
    labels = page.locator("svg.overlay-layer text.face-label").all_text_contents()
    assert any("mask" in label and "yaw" in label for label in labels), labels
    assert_labels_apart(page)


def assert_labels_apart(page: Page) -> None:
    """No two labels drawn over a photo overlap (as the browser lays them out)."""
    boxes = page.evaluate(
        """() => [...document.querySelectorAll("svg.overlay-layer")].map((svg) =>
             [...svg.querySelectorAll("text.face-label")].map((text) => {
               const box = text.getBBox();
               return [box.x, box.y, box.width, box.height];
             }))"""
    )
    for photo in boxes:
        for i, a in enumerate(photo):
            for b in photo[i + 1 :]:
                apart = a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
                assert apart, f"labels overlap: {a} and {b}"


def verify(page: Page) -> None:
    page.get_by_label("Source photo (one face)").set_input_files(str(FACES / "biden_1.jpg"))
    page.get_by_label("Target photo").set_input_files(str(FACES / "biden_2.jpg"))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("svg.overlay-layer g.face")).to_have_count(2, timeout=120_000)
    titles = drawn_titles(page)
    assert titles[0] == "source face"
    assert re.fullmatch(r"similarity 0\.\d\d|similarity 1\.00", titles[1]), titles


def follows_dark_setting(page: Page, name: str) -> None:
    """The colours follow the system's light or dark setting (prefers-color-scheme), nothing to click."""
    background = "() => getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate(background)
    shoot(page, f"{name}-dark")
    page.emulate_media(color_scheme="light")
    assert light != dark, (light, dark)


def open_test_page(page: Page, service: str) -> None:
    page.get_by_role("link", name=f"Test {service}").click()
    expect(heading(page)).to_have_text(f"Test {service}")


def back_to_application(page: Page) -> None:
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=APPLICATION).click()
    expect(heading(page)).to_have_text(APPLICATION)


def sign_out_and_in_by_keyboard(page: Page) -> None:
    """Sign out, then sign in again with the keyboard only: focus starts on the heading after navigation."""
    page.get_by_role("button", name="Sign out").click()
    expect(heading(page)).to_have_text("Sign in")
    shoot(page, "signin")
    page.keyboard.press("Tab")
    page.keyboard.type(OWNER_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(OWNER_PASSWORD)
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("Applications")


def walk_first_run(page: Page, base_url: str, code: str) -> None:
    """The story of the module docstring, screenshots included."""
    accept_dialogs(page)
    sign_up_owner(page, base_url, code)
    shoot(page, "applications-empty")
    create_application(page)
    create_service(page, RECOGNITION, "Recognition")
    create_service(page, DETECTION, "Detection")
    create_service(page, VERIFICATION, "Verification")

    page.get_by_role("link", name=f"Collection of {RECOGNITION}").click()
    expect(heading(page)).to_have_text(f"Collection of {RECOGNITION}")
    build_collection(page)
    shoot(page, "collection")
    search_and_delete(page)

    page.get_by_role("link", name="Test this service").click()
    expect(heading(page)).to_have_text(f"Test {RECOGNITION}")
    recognise(page)
    shoot(page, "test-recognition")
    follows_dark_setting(page, "test-recognition")

    back_to_application(page)
    open_test_page(page, DETECTION)
    detect(page)
    shoot(page, "test-detection")

    back_to_application(page)
    open_test_page(page, VERIFICATION)
    verify(page)
    shoot(page, "test-verification")

    # Back on the application: the requests just made are counted per service.
    back_to_application(page)
    expect(page.locator(f"li.service[data-service='{DETECTION}'] .usage")).to_contain_text("1 request in the last")
    shoot(page, "application")

    page.get_by_role("link", name="Applications", exact=True).first.click()
    expect(page.locator("table.list")).to_contain_text(APPLICATION)
    shoot(page, "applications")
    sign_out_and_in_by_keyboard(page)


def test_owner_signs_up_builds_a_collection_and_recognises_a_face(fresh_server: ServerProcess, pages: Pages) -> None:
    code = setup_code(fresh_server)
    # What a person reads in the terminal: where the UI is, and what to do there with the code.
    printed = fresh_server.stdout()
    assert f"Web UI: {fresh_server.url}/" in printed, printed
    assert f"open {fresh_server.url}/ and sign up with the setup code {code}" in printed, printed
    page = pages.open(permissions=["clipboard-read", "clipboard-write"])
    walk_first_run(page, fresh_server.url, code)
