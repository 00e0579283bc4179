"""The page's security headers as Chromium applies them: the UI's own modules run, injected script does not."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Pages
from tests.e2e.server import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_modules_run_and_injected_inline_script_is_refused(fresh_server: ServerProcess, pages: Pages) -> None:
    page = pages.open()
    page.goto(fresh_server.url)
    # main.js replaces the "Loading…" placeholder: the module graph loaded under the policy.
    page.wait_for_function("() => !document.querySelector('main .loading')")
    pages.provoke("inline script violates the following Content Security Policy directive 'script-src 'self''")
    ran = page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.injected = true";
          document.head.append(script);
          return window.injected === true;
        }"""
    )
    assert ran is False
    styles = page.evaluate("() => getComputedStyle(document.querySelector('.topbar')).display")
    assert styles == "flex", "the stylesheet did not load"
