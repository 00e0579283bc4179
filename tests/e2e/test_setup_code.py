"""`facekeeper serve` prints a one-time setup code while the server has no owner; a restart replaces it."""

from __future__ import annotations

import re

import pytest
import requests

from tests.e2e.server import ServerFactory

pytestmark = pytest.mark.slow
CODE = re.compile(r"sign up with the setup code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})")


def test_setup_code_printed_used_once_and_rotated(server_factory: ServerFactory) -> None:
    first = server_factory.start()
    found = CODE.search(first.stdout())
    assert found, first.stdout()
    old_code = found.group(1)
    assert "No owner account yet: open http://127.0.0.1:" in first.stdout()
    first.stop()
    second = server_factory.start(data_dir=first.data_dir)
    found = CODE.search(second.stdout())
    assert found and found.group(1) != old_code
    body = {"email": "owner@example.com", "password": "correct horse", "setup_code": old_code}
    assert requests.post(f"{second.url}/admin/setup", json=body, timeout=10).status_code == 403
    body["setup_code"] = found.group(1)
    created = requests.post(f"{second.url}/admin/setup", json=body, timeout=10)
    assert created.status_code == 201 and created.json()["account"]["role"] == "OWNER"
    assert "facekeeper_session=" in created.headers["set-cookie"]
    second.stop()
    third = server_factory.start(data_dir=first.data_dir)
    assert "setup code" not in third.stdout()  # an owner exists: nothing to print
