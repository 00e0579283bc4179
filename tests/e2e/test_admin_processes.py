"""The admin API across real server processes on one database: what one process changes, the other
enforces from its next request on (new keys, removed members), and request counts add up."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.e2e.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"


def _browser(server: ServerProcess, email: str) -> tuple[requests.Session, dict[str, str]]:
    """A signed-in session and the CSRF header to send with it."""
    session = requests.Session()
    answer = session.post(f"{server.url}/admin/session", json={"email": email, "password": PASSWORD}, timeout=10)
    assert answer.status_code == 200, answer.text
    return session, {"X-CSRF-Token": answer.json()["csrf_token"]}


def test_changes_made_through_one_process_hold_in_the_other(server_factory: ServerFactory) -> None:
    first = server_factory.start(FACEKEEPER_USAGE_FLUSH_INTERVAL_S="0.5")
    code = re.search(r"setup code ([A-Z0-9-]{14})", first.stdout())
    assert code, first.stdout()
    body = {"setup_code": code.group(1), "email": "owner@example.com", "password": PASSWORD}
    assert requests.post(f"{first.url}/admin/setup", json=body, timeout=10).status_code == 201
    second = server_factory.start(data_dir=first.data_dir, FACEKEEPER_USAGE_FLUSH_INTERVAL_S="0.5")
    assert "setup code" not in second.stdout()  # the owner exists: the second start prints no code

    owner, owner_csrf = _browser(first, "owner@example.com")
    app = owner.post(f"{first.url}/admin/applications", json={"name": "Shop"}, headers=owner_csrf, timeout=10).json()
    service = owner.post(
        f"{first.url}/admin/applications/{app['id']}/services",
        json={"name": "door", "type": "RECOGNITION"},
        headers=owner_csrf,
        timeout=10,
    ).json()
    subjects = f"{second.url}/api/v1/recognition/subjects"
    for _ in range(3):
        assert requests.get(subjects, headers={"x-api-key": service["api_key"]}, timeout=10).status_code == 200

    # the key regenerated through the first process is refused by the second at once
    changed = owner.post(f"{first.url}/admin/services/{service['id']}/key", headers=owner_csrf, timeout=10).json()
    old = requests.get(subjects, headers={"x-api-key": service["api_key"]}, timeout=10)
    assert (old.status_code, old.json()["code"]) == (404, 10)
    assert requests.get(subjects, headers={"x-api-key": changed["api_key"]}, timeout=10).status_code == 200

    # a member removed through the first process loses access through the second at once
    owner.post(
        f"{first.url}/admin/accounts",
        json={"email": "ann@example.com", "password": PASSWORD},
        headers=owner_csrf,
        timeout=10,
    )
    member = owner.post(
        f"{first.url}/admin/applications/{app['id']}/members",
        json={"email": "ann@example.com", "role": "ADMINISTRATOR"},
        headers=owner_csrf,
        timeout=10,
    ).json()
    ann, _ = _browser(second, "ann@example.com")
    assert ann.get(f"{second.url}/admin/services/{service['id']}", timeout=10).status_code == 200
    owner.delete(
        f"{first.url}/admin/applications/{app['id']}/members/{member['account_id']}", headers=owner_csrf, timeout=10
    )
    denied = ann.get(f"{second.url}/admin/services/{service['id']}", timeout=10)
    assert (denied.status_code, denied.json()["code"]) == (403, 1)

    # the second process's request counts reach the first one's statistics within the flush interval
    deadline = time.monotonic() + 10
    total = 0
    while time.monotonic() < deadline:
        stats = owner.get(f"{first.url}/admin/services/{service['id']}/stats?days=1", timeout=10).json()
        total = stats["total"]
        if total == 4:
            break
        time.sleep(0.2)
    assert total == 4  # three with the old key and one with the new; the refused request is not counted
