"""Accounts in the web UI (§9.2): the owner creates accounts with a role, the new account signs in and changes
its password (by keyboard), the old password stops working and its other sessions end; an administrator is
offered less than the owner, a user nothing; deleting an account (another's, or one's own) signs it out."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import OWNER_EMAIL, OWNER_PASSWORD, Pages, admin_cli, shoot, sign_in
from tests.e2e.server import ServerFactory, ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ANN = "ann@example.com"
ANN_FIRST = "first password for Ann"
ANN_NEW = "Ann's own new password"
BOB = "bob@example.com"
BOB_PASSWORD = "bob administers things"
CLEO = "cleo@example.com"
CLEO_PASSWORD = "cleo will own it all"


@pytest.fixture(scope="module")
def server(server_factory: ServerFactory) -> ServerProcess:
    server = server_factory.start()
    admin_cli(server, "create-owner", "--email", OWNER_EMAIL, password=OWNER_PASSWORD)
    return server


def heading(page: Page) -> Locator:
    return page.locator("main h1")


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def row(page: Page, email: str) -> Locator:
    return page.locator(f"table.accounts tr[data-account='{email}']")


def create_account(page: Page, email: str, name: str, password: str, role: str) -> None:
    form = page.get_by_role("form", name="New account")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Name (optional)").fill(name)
    form.get_by_label("First password").fill(password)
    form.get_by_label("Role").select_option(role)
    form.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status").filter(has_text="created")).to_have_text(
        f"Account {email} created as {role.lower()}."
    )
    expect(row(page, email)).to_be_visible()


def open_accounts(page: Page) -> None:
    nav(page).get_by_role("link", name="Accounts").click()
    expect(heading(page)).to_have_text("Accounts")


def open_own_account(page: Page) -> None:
    nav(page).get_by_role("link", name="Your account").click()
    expect(heading(page)).to_have_text("Your account")


def change_password_by_keyboard(page: Page, old: str, new: str) -> None:
    """Focus starts on the heading: Tab leads to the current password, then the new one twice, Enter sends."""
    expect(heading(page)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Current password")).to_be_focused()
    page.keyboard.type(old)
    page.keyboard.press("Tab")
    page.keyboard.type(new)
    page.keyboard.press("Tab")
    page.keyboard.type(new)
    page.keyboard.press("Enter")


def test_owner_creates_an_account_that_changes_its_password(server: ServerProcess, pages: Pages) -> None:
    owner = pages.open()
    owner.on("dialog", lambda dialog: dialog.accept())
    sign_in(owner, server.url, OWNER_EMAIL, OWNER_PASSWORD)
    open_accounts(owner)
    # The owner's own row: no role to change, nothing to delete.
    mine = row(owner, OWNER_EMAIL)
    expect(mine.get_by_role("cell").first).to_have_text("owner (you)")
    expect(mine.locator("select, button")).to_have_count(0)
    # The owner may give every role, OWNER included (a transfer).
    options = owner.get_by_role("form", name="New account").get_by_label("Role").locator("option")
    expect(options).to_have_text(["user", "administrator", "owner"])
    create_account(owner, ANN, "Ann Analyst", ANN_FIRST, "USER")
    expect(row(owner, ANN).get_by_role("rowheader")).to_have_text(f"Ann Analyst <{ANN}>")
    create_account(owner, BOB, "", BOB_PASSWORD, "ADMINISTRATOR")
    expect(row(owner, BOB).get_by_label(f"Role of {BOB}")).to_have_value("ADMINISTRATOR")
    # A refused account: the server's message, and the form keeps what was typed.
    form = owner.get_by_role("form", name="New account")
    form.get_by_label("Email").fill(ANN)
    form.get_by_label("First password").fill("long enough password")
    form.get_by_role("button", name="Create account").click()
    expect(form.locator(".error")).to_contain_text("This email already registered (code 4, HTTP 400)")
    expect(form.get_by_label("Email")).to_have_value(ANN)
    shoot(owner, "accounts")
    owner.emulate_media(color_scheme="dark")
    shoot(owner, "accounts-dark")
    owner.emulate_media(color_scheme="light")

    # Ann, a user, signed in twice (two browsers); she sees no accounts list.
    elsewhere = pages.open()
    sign_in(elsewhere, server.url, ANN, ANN_FIRST)
    ann = pages.open()
    sign_in(ann, server.url, ANN, ANN_FIRST)
    expect(nav(ann).get_by_role("link", name="Accounts")).to_have_count(0)
    ann.goto(f"{server.url}/#/accounts")
    expect(heading(ann)).to_have_text("Accounts")
    expect(ann.locator("main")).to_contain_text("Only the owner and administrators of this server manage accounts")
    expect(ann.locator("table.accounts")).to_have_count(0)

    open_own_account(ann)
    expect(ann.locator("dl.details")).to_contain_text("user")
    change_password_by_keyboard(ann, "not my password", ANN_NEW)
    expect(ann.get_by_role("form", name="Change password").locator(".error")).to_contain_text(
        "User's password is incorrect (code 18, HTTP 400)"
    )
    expect(ann.get_by_label("Current password")).to_be_focused()
    ann.get_by_label("Current password").fill(ANN_FIRST)
    ann.get_by_label("New password", exact=True).fill(ANN_NEW)
    ann.get_by_label("New password again").fill(ANN_NEW + "x")
    ann.get_by_role("button", name="Change password").click()
    expect(ann.get_by_role("form", name="Change password").locator(".error")).to_have_text(
        "The two new passwords differ."
    )
    ann.get_by_label("New password again").fill(ANN_NEW)
    ann.get_by_role("button", name="Change password").click()
    expect(ann.get_by_role("status").filter(has_text="Password changed")).to_be_visible()
    expect(ann.get_by_label("Current password")).to_have_value("")
    shoot(ann, "account")
    # This browser stays signed in (with a new session); the other one was signed out.
    ann.reload()
    expect(heading(ann)).to_have_text("Your account")
    elsewhere.reload()
    expect(heading(elsewhere)).to_have_text("Sign in")

    # The old password no longer opens the account; the new one does.
    ann.get_by_role("button", name="Sign out").click()
    expect(heading(ann)).to_have_text("Sign in")
    ann.get_by_label("Email").fill(ANN)
    ann.get_by_label("Password").fill(ANN_FIRST)
    ann.get_by_role("button", name="Sign in").click()
    expect(ann.locator("form .error")).to_contain_text("Wrong email or password (code 18, HTTP 401)")
    ann.get_by_label("Password").fill(ANN_NEW)
    ann.get_by_role("button", name="Sign in").click()
    expect(heading(ann)).to_have_text("Applications")

    # Bob, an administrator: neither changes nor deletes the owner, and cannot make anyone owner.
    bob = pages.open()
    bob.on("dialog", lambda dialog: dialog.accept())
    sign_in(bob, server.url, BOB, BOB_PASSWORD)
    open_accounts(bob)
    expect(row(bob, OWNER_EMAIL).locator("select, button")).to_have_count(0)
    expect(row(bob, BOB).get_by_role("cell").first).to_have_text("administrator (you)")
    expect(row(bob, BOB).locator("select, button")).to_have_count(0)
    ann_role = row(bob, ANN).get_by_label(f"Role of {ANN}")
    expect(ann_role.locator("option")).to_have_text(["user", "administrator"])
    expect(bob.get_by_role("form", name="New account").get_by_label("Role").locator("option")).to_have_text(
        ["user", "administrator"]
    )
    ann_role.select_option("ADMINISTRATOR")
    expect(bob.get_by_role("status").filter(has_text="is now")).to_have_text(f"{ANN} is now administrator.")
    expect(ann_role).to_be_focused()  # the row is updated in place: the keyboard focus stays
    shoot(bob, "accounts-administrator")
    # Ann's next page shows the accounts list to her.
    ann.reload()
    expect(nav(ann).get_by_role("link", name="Accounts")).to_be_visible()

    # The owner deletes Ann's account: her very next request is signed out.
    owner.reload()
    expect(row(owner, ANN).get_by_label(f"Role of {ANN}")).to_have_value("ADMINISTRATOR")
    row(owner, ANN).get_by_role("button", name=f"Delete account {ANN}").click()
    expect(owner.get_by_role("status").filter(has_text="deleted")).to_have_text(f"Account {ANN} deleted.")
    expect(row(owner, ANN)).to_have_count(0)
    expect(owner.get_by_role("heading", name="All accounts")).to_be_focused()
    ann.reload()
    expect(heading(ann)).to_have_text("Sign in")

    # Bob deletes his own account; the owner cannot delete theirs (the page says how instead).
    open_own_account(bob)
    bob.get_by_role("button", name="Delete my account").click()
    expect(heading(bob)).to_have_text("Sign in")
    open_own_account(owner)
    expect(owner.get_by_role("button", name="Delete my account")).to_have_count(0)
    expect(owner.locator("main")).to_contain_text("The owner’s account cannot be deleted")
    open_accounts(owner)
    expect(owner.locator("table.accounts tbody tr")).to_have_count(1)

    # Handing the server over: the owner makes a new account the owner (asked first) and becomes an
    # administrator, which the page shows at once: the new owner's row is locked, OWNER no longer offered.
    create_account(owner, CLEO, "Cleo", CLEO_PASSWORD, "USER")
    row(owner, CLEO).get_by_label(f"Role of {CLEO}").select_option("OWNER")
    expect(row(owner, OWNER_EMAIL).get_by_role("cell").first).to_have_text("administrator (you)")
    expect(row(owner, CLEO).get_by_role("cell").first).to_have_text("owner")
    expect(row(owner, CLEO).locator("select, button")).to_have_count(0)
    expect(owner.get_by_role("form", name="New account").get_by_label("Role").locator("option")).to_have_text(
        ["user", "administrator"]
    )
    open_own_account(owner)
    expect(owner.get_by_role("button", name="Delete my account")).to_be_visible()
