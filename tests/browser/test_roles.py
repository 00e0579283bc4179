"""Roles as the web UI shows them: a member with the application role USER reads but is offered nothing to
change, and loses the application the moment its owner removes them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OWNER_EMAIL, OWNER_PASSWORD, Pages, admin_cli, sign_in
from tests.e2e.server import ServerFactory, ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MEMBER_EMAIL = "reader@example.com"
MEMBER_PASSWORD = "reading only, please"


@pytest.fixture(scope="module")
def prepared(server_factory: ServerFactory) -> ServerProcess:
    """An owner, an application with a recognition service, and a second account: all made by the CLI."""
    server = server_factory.start()
    admin_cli(server, "create-owner", "--email", OWNER_EMAIL, password=OWNER_PASSWORD)
    admin_cli(server, "accounts", "create", "--email", MEMBER_EMAIL, "--role", "USER", password=MEMBER_PASSWORD)
    admin_cli(server, "applications", "create", "Lobby")
    admin_cli(server, "services", "create", "--application", "Lobby", "--name", "Lobby door", "--type", "RECOGNITION")
    return server


def test_a_reader_sees_no_controls_and_is_removed_at_once(prepared: ServerProcess, pages: Pages) -> None:
    owner = pages.open()
    owner.on("dialog", lambda dialog: dialog.accept())
    sign_in(owner, prepared.url, OWNER_EMAIL, OWNER_PASSWORD)
    owner.get_by_role("link", name="Lobby").click()
    members = owner.get_by_role("form", name="Add a member")
    members.get_by_label("Email of an existing account").fill(MEMBER_EMAIL)
    members.get_by_label("Role").select_option("USER")
    members.get_by_role("button", name="Add member").click()
    expect(owner.get_by_role("button", name=f"Remove {MEMBER_EMAIL}")).to_be_visible()

    reader = pages.open()
    sign_in(reader, prepared.url, MEMBER_EMAIL, MEMBER_PASSWORD)
    # A global USER cannot create applications, and sees only those they belong to.
    expect(reader.get_by_role("form", name="New application")).to_have_count(0)
    expect(reader.locator("table.list tbody tr")).to_have_count(1)
    reader.get_by_role("link", name="Lobby").click()
    expect(reader.locator("main .subtitle")).to_contain_text("your role: user")
    card = reader.locator("li.service[data-service='Lobby door']")
    expect(card.locator("code.key")).to_be_visible()  # a reader may read keys (§9.2)
    for control in ("Rename", "New key", "Delete"):
        expect(card.get_by_role("button", name=control)).to_have_count(0)
    expect(reader.get_by_role("form", name="New service")).to_have_count(0)
    expect(reader.get_by_role("form", name="Add a member")).to_have_count(0)
    expect(reader.get_by_role("button", name="Delete application")).to_have_count(0)

    card.get_by_role("link", name="Collection of Lobby door").click()
    expect(reader.locator("main h1")).to_have_text("Collection of Lobby door")
    expect(reader.get_by_role("form", name="Add a subject")).to_have_count(0)
    expect(reader.locator(".dropzone")).to_have_count(0)

    # The owner removes the reader: the reader's very next page load is refused.
    owner.get_by_role("button", name=f"Remove {MEMBER_EMAIL}").click()
    expect(owner.get_by_role("button", name=f"Remove {MEMBER_EMAIL}")).to_have_count(0)
    reader.reload()
    expect(reader.locator("main h1")).to_have_text("No access")
    expect(reader.locator("main .error")).to_contain_text("Access denied")
    reader.get_by_role("link", name="Back to your applications").click()
    expect(reader.locator("main h1")).to_have_text("Applications")
    expect(reader.locator("main .empty")).to_contain_text("No applications")
