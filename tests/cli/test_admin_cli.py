"""`facekeeper admin ...` in-process: accounts, applications, services, and the same things as
`facekeeper service ...` and the admin API see."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from facekeeper.cli.main import main


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setenv("FACEKEEPER_PASSWORD_HASH_MEMORY_KIB", "8")
    monkeypatch.setenv("FACEKEEPER_PASSWORD_HASH_TIME_COST", "1")

    def run(*args: str, stdin: str = "", expect: int = 0) -> Any:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main([*args, "--data-dir", str(tmp_path)])
        out, err = capsys.readouterr()
        assert code == expect, (args, out, err)
        if "--json" in args and code == 0:
            return json.loads(out)
        return out + err

    return run


def test_create_owner_and_accounts(cli: Any) -> None:
    owner = cli(
        "admin", "create-owner", "--email", "Boss@Example.com", "--password-stdin", "--json", stdin="pass word 1\n"
    )
    assert owner | {"id": None} == {"id": None, "email": "Boss@Example.com", "name": None, "role": "OWNER"}
    assert "already has an owner" in cli(
        "admin", "create-owner", "--email", "two@example.com", "--password-stdin", stdin="pass word 2\n", expect=3
    )
    assert "Password size" in cli("admin", "create-owner", "--email", "x@example.com", "--password-stdin", expect=2)
    cli("admin", "accounts", "create", "--email", "ann@example.com", "--password-stdin", stdin="pass word 3\n")
    listed = cli("admin", "accounts", "list", "--json")
    assert [(a["email"], a["role"]) for a in listed] == [("Boss@Example.com", "OWNER"), ("ann@example.com", "USER")]
    assert cli("admin", "accounts", "set-role", "ann@example.com", "ADMINISTRATOR", "--json")["role"] == "ADMINISTRATOR"
    assert "BOSS" in cli("admin", "accounts", "set-role", "ann@example.com", "BOSS", expect=2)
    assert "cannot be removed" in cli("admin", "accounts", "delete", "boss@example.com", expect=2)
    cli("admin", "accounts", "set-password", "ann@example.com", "--password-stdin", stdin="pass word 4\n")
    cli("admin", "accounts", "set-role", "ann@example.com", "OWNER")  # transfers ownership
    roles = {a["email"]: a["role"] for a in cli("admin", "accounts", "list", "--json")}
    assert roles == {"Boss@Example.com": "ADMINISTRATOR", "ann@example.com": "OWNER"}
    cli("admin", "accounts", "delete", "boss@example.com")
    assert "does not exist" in cli("admin", "accounts", "delete", "boss@example.com", expect=1)


def test_services_made_by_either_command_are_seen_by_both(cli: Any) -> None:
    cli("service", "create", "--type", "recognition", "--name", "old-style")
    apps = cli("admin", "applications", "list", "--json")
    assert [(a["name"], a["service_count"]) for a in apps] == [("Default", 1)]
    cli("admin", "applications", "create", "Shop")
    made = cli(
        "admin", "services", "create", "--application", "shop", "--name", "new-style", "--type", "verify", "--json"
    )
    assert made["type"] == "VERIFY" and len(made["api_key"]) == 36
    listed = cli("service", "list", "--json")
    assert {(s["name"], s["type"]) for s in listed} == {("old-style", "recognition"), ("new-style", "verification")}
    in_shop = cli("admin", "services", "list", "--application", "Shop", "--json")
    assert [s["name"] for s in in_shop] == ["new-style"]
    new_key = cli("admin", "services", "regenerate-key", "new-style", "--json")["api_key"]
    assert new_key != made["api_key"]
    assert {s["api_key"] for s in cli("service", "list", "--json")} >= {new_key}
    cli("admin", "services", "rename", new_key, "renamed")
    cli("service", "delete", "renamed")
    assert [s["name"] for s in cli("admin", "services", "list", "--json")] == ["old-style"]
    assert "doesn't exist" in cli(
        "admin", "services", "create", "--application", "Shop", "--name", "x", "--type", "faces", expect=2
    )
    assert "not found" in cli(
        "admin", "services", "create", "--application", "Nope", "--name", "x", "--type", "detection", expect=1
    )


def test_applications_and_members(cli: Any) -> None:
    cli("admin", "accounts", "create", "--email", "ann@example.com", "--password-stdin", stdin="pass word 3\n")
    cli("admin", "applications", "create", "Shop")
    assert "not unique" in cli("admin", "applications", "create", "SHOP", expect=3)
    member = cli("admin", "applications", "add-member", "Shop", "ann@example.com", "ADMINISTRATOR", "--json")
    assert member["role"] == "ADMINISTRATOR"
    cli("admin", "applications", "set-member-role", "Shop", "ann@example.com", "USER")
    assert [m["role"] for m in cli("admin", "applications", "members", "Shop", "--json")] == ["USER"]
    cli("admin", "applications", "remove-member", "Shop", "ann@example.com")
    assert cli("admin", "applications", "members", "Shop", "--json") == []
    cli("admin", "applications", "rename", "Shop", "Store")
    cli("admin", "services", "create", "--application", "Store", "--name", "s", "--type", "detection")
    cli("admin", "applications", "delete", "Store")
    assert cli("admin", "applications", "list", "--json") == []
    assert cli("service", "list", "--json") == []  # its services went with it
