"""Browser tests: Debian's Chromium driven by Playwright against real `facekeeper serve` subprocesses.

The browser is never downloaded: Playwright's Python package drives `/usr/bin/chromium` (Debian's
`chromium` package, which `make test` installs when it can). Without it these tests skip with the reason,
except under CI, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response, expect, sync_playwright

from tests.conftest import SCREENSHOTS
from tests.e2e.conftest import server_factory
from tests.e2e.server import ServerFactory, ServerProcess, clean_env, facekeeper_command

__all__ = ["server_factory"]

CHROMIUM = Path(os.environ.get("FACEKEEPER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    # This machine has no network but the package registries: without these, Chromium keeps trying
    # to reach Google's hosts at every start.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SETUP_CODE = re.compile(r"setup code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})")
OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: while Playwright's sync API is open, its event loop is the thread's running loop, and
    later tests that call `asyncio.run` would fail."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = (
            f"Chromium not found at {CHROMIUM}: `make test` installs Debian's `chromium` package with apt-get "
            "when it can (as root); or set FACEKEEPER_CHROMIUM to a Chromium binary"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    # The first face request loads the models; a shared machine may be slow. Waits end as soon as the
    # expected state appears, so a long limit costs nothing when all is well.
    expect.set_options(timeout=30_000)
    # `launch` gives every browser a fresh, temporary user-data directory of its own.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


class PageProblems:
    """What must never happen on a page: script errors, CSP refusals, UI files that fail to load."""

    def __init__(self, page: Page) -> None:
        self.found: list[str] = []
        page.on("pageerror", lambda error: self.found.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium logs every 4xx answer to fetch(); the UI expects some (401 before sign-in, error bodies).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.found.append(f"console: {message.text}")

    def _response(self, response: Response) -> None:
        if ("/ui/" in response.url or response.url.endswith("/")) and response.status >= 400:
            self.found.append(f"{response.status} for {response.url}")


class Pages:
    """Opens pages in fresh browser contexts (desktop size unless told); at the end, none may have had a
    problem except those a test said it provoked."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.problems: list[PageProblems] = []
        self.provoked: list[str] = []

    def open(self, **options: Any) -> Page:
        context = self.browser.new_context(viewport=options.pop("viewport", DESKTOP), **options)
        context.set_default_timeout(30_000)
        self.contexts.append(context)
        page = context.new_page()
        self.problems.append(PageProblems(page))
        return page

    def provoke(self, text: str) -> None:
        """A problem containing `text` is expected (a test checking that the browser refuses something)."""
        self.provoked.append(text)

    def close(self) -> list[str]:
        for context in self.contexts:
            context.close()
        found = [problem for page_problems in self.problems for problem in page_problems.found]
        return [problem for problem in found if not any(text in problem for text in self.provoked)]


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    opened = Pages(browser)
    yield opened
    problems = opened.close()
    assert not problems, problems


def shoot(page: Page, name: str) -> None:
    """Screenshots the page at desktop and phone width (`test-output/screenshots/<name>-<desktop|phone>.png`
    at the repository's root); at phone width nothing may stick out sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        assert_no_horizontal_overflow(page)
        path = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]


def assert_no_horizontal_overflow(page: Page) -> None:
    wider = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          if (document.documentElement.scrollWidth <= width) return [];
          return [...document.querySelectorAll("body *")]
            .filter((el) => el.getBoundingClientRect().right > width + 1)
            .slice(0, 5)
            .map((el) => `${el.tagName.toLowerCase()}.${el.className}`
              + ` (${Math.round(el.getBoundingClientRect().right)}px)`);
        }"""
    )
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert wider == [], f"wider than the {width}px viewport: {wider}"


def setup_code(server: ServerProcess, timeout_s: float = 10.0) -> str:
    """The one-time code `facekeeper serve` prints while the server has no owner."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = SETUP_CODE.search(server.stdout())
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no setup code in the server's output:\n{server.stdout()}")


class AdminClient:
    """The admin REST API over HTTP, for preparing data the test is not about."""

    def __init__(self, server: ServerProcess) -> None:
        self.url = f"{server.url}/admin"
        self.http = requests.Session()
        self.csrf = ""

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, self.url + path, headers={"X-CSRF-Token": self.csrf}, timeout=60, **kwargs)
        assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def create_owner(self, code: str) -> None:
        body = {"setup_code": code, "email": OWNER_EMAIL, "password": OWNER_PASSWORD, "name": "Owner"}
        self.csrf = self.call("POST", "/setup", json=body)["csrf_token"]

    def sign_in(self, email: str = OWNER_EMAIL, password: str = OWNER_PASSWORD) -> None:
        self.csrf = self.call("POST", "/session", json={"email": email, "password": password})["csrf_token"]


def admin_cli(server: ServerProcess, *args: str, password: str | None = None) -> None:
    """`facekeeper admin ...` on the server's data directory (as the operator)."""
    command = facekeeper_command("admin", *args, "--data-dir", str(server.data_dir))
    if password is not None:
        command.append("--password-stdin")
    done = subprocess.run(
        command, input=password, capture_output=True, text=True, timeout=60, env=clean_env(), check=False
    )
    assert done.returncode == 0, f"facekeeper admin {' '.join(args)}: {done.stderr}"


def sign_in(page: Page, url: str, email: str, password: str) -> None:
    """Signs in on the page (from any route): the applications list follows."""
    page.goto(url)
    expect(page.locator("main h1")).to_have_text("Sign in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main h1")).to_have_text("Applications")


@pytest.fixture(scope="module")
def fresh_server(server_factory: ServerFactory) -> ServerProcess:
    """A server with no owner yet: its start-up output holds a setup code."""
    return server_factory.start()
