"""The architecture as a rule the suite checks: data flows HTTP → use case → inference/storage/index, and only
the HTTP layer (and the wiring that starts it) knows about HTTP. Issue 11 asked that `api/` stop importing
inference; this keeps it (and every other layer) from drifting back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "facekeeper"

# What each layer must not import: a package forbids itself and everything under it.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "api": ("facekeeper.inference", "facekeeper.storage", "facekeeper.index", "facekeeper.cli"),
    "services": ("facekeeper.api", "facekeeper.cli", "fastapi", "starlette"),
    "inference": ("facekeeper.api", "facekeeper.services", "facekeeper.storage", "facekeeper.index", "fastapi"),
    "storage": ("facekeeper.api", "facekeeper.services", "facekeeper.inference", "facekeeper.index", "fastapi"),
    "index": ("facekeeper.api", "facekeeper.services", "facekeeper.inference", "facekeeper.storage", "fastapi"),
    "domain.py": ("facekeeper", "fastapi", "starlette"),
    "errors.py": ("facekeeper.api", "facekeeper.services", "fastapi", "starlette"),
}
# HTTP frameworks outside api/: the wiring (app.py) and the command that serves it.
HTTP_ALLOWED = {"api", "app.py", "cli/serve.py"}


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (imports inside functions count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def files_of(layer: str) -> list[Path]:
    target = PACKAGE / layer
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def breaches(files: list[Path], forbidden: tuple[str, ...], root: Path = PACKAGE) -> list[str]:
    return [
        f"{path.relative_to(root)} imports {module}"
        for path in files
        for module in sorted(imports(path))
        if any(within(module, package) for package in forbidden)
    ]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_reaches_where_it_must_not(layer: str) -> None:
    assert breaches(files_of(layer), FORBIDDEN[layer]) == []


def test_only_the_http_layer_knows_http() -> None:
    outside = [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path.relative_to(PACKAGE).as_posix().startswith(allowed) for allowed in HTTP_ALLOWED)
    ]
    assert breaches(outside, ("fastapi", "starlette", "uvicorn", "multipart")) == []


def test_the_rule_sees_a_breach(tmp_path: Path) -> None:
    """The check itself works: a file importing inference from a route is reported, at any depth."""
    route = tmp_path / "route.py"
    route.write_text("def f():\n    from facekeeper.inference.formats import sniff\n    return sniff\n")
    assert breaches([route], FORBIDDEN["api"], tmp_path) == ["route.py imports facekeeper.inference.formats"]
