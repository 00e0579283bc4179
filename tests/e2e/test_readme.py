"""The README's examples run as written against a live server (docs are executed)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.server import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.models]

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_python_sdk_example(server: ServerProcess, recognition_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (example,) = _blocks("python")
    port = server.url.rsplit(":", 1)[1]
    code = example.replace('"http://localhost", "8000"', f'"http://127.0.0.1", "{port}"')
    assert code != example, "the README example no longer names localhost:8000"
    monkeypatch.chdir(ROOT)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {"KEY": recognition_key})
    assert "'subject': 'Ada'" in printed.getvalue()


def test_shell_example(server: ServerProcess, tmp_path: Path) -> None:
    """The CLI call creates a key; the curl calls enrol and recognise with it."""
    (script,) = [b for b in _blocks("sh") if "curl" in b]
    lines = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    create = next(line for line in lines if "service create" in line)
    created = subprocess.run(
        shlex.split(
            create.replace(".venv/bin/facekeeper", str(Path(sys.executable).parent / "facekeeper")).replace(
                "./data", str(server.data_dir)
            )
        ),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    key = re.search(r'"api_key": "([0-9a-f-]{36})"', created.stdout)
    assert key is not None, created.stdout
    curl_script = "\n".join(line for line in lines if line.startswith(("KEY=", "curl", " ")))
    curl_script = curl_script.replace("KEY=<uuid>", f"KEY={key.group(1)}").replace("http://localhost:8000", server.url)
    result = subprocess.run(["bash", "-c", curl_script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert '"subject":"Ada"' in result.stdout
