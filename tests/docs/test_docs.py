"""The documentation keeps up with the code: every setting and CLI command is described."""

from __future__ import annotations

from pathlib import Path

import pytest

from facekeeper.cli.main import build_parser
from facekeeper.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"
README = DOCS.parent / "README.md"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented_with_its_variable(name: str) -> None:
    text = (DOCS / "configuration.md").read_text()
    assert f"`{name}`" in text and f"`FACEKEEPER_{name.upper()}`" in text


def _commands() -> list[str]:
    parser = build_parser()
    found = []
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for name, sub in action.choices.items():  # type: ignore[union-attr]
            nested = [a for a in sub._actions if a.__class__.__name__ == "_SubParsersAction"]
            found += [f"{name} {child}" for a in nested for child in a.choices] or [name]
    return found


@pytest.mark.parametrize("command", _commands())
def test_every_cli_command_is_documented(command: str) -> None:
    assert f"facekeeper {command}" in (DOCS / "cli.md").read_text()


def test_readme_shows_the_two_setup_commands() -> None:
    text = README.read_text()
    assert "make run" in text and "make test" in text
    assert "PERFORMANCE_TABLE" not in text, "the performance section must hold measured figures"
