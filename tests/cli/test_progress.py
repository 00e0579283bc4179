"""The progress line: redrawn in place on a terminal, a plain line now and then in a log."""

from __future__ import annotations

import io

from facekeeper.cli.progress import ProgressLine


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_a_line_every_interval_and_the_last_one() -> None:
    stream, clock = io.StringIO(), Clock()
    line = ProgressLine("import", stream, tty=False, every_s=10, clock=clock)
    for done in range(1, 101):
        clock.now += 0.5
        line.show(done, 100, f"imported {done}")
    line.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 6  # the first, one per 10 s of the 50 s, and the final one
    assert lines[-1] == "import: 100/100 (100%) 2.0/s  imported 100"
    assert lines[0] == "import: 1/100 (1%) 2.0/s ETA 49s  imported 1" and "\r" not in stream.getvalue()


def test_a_terminal_gets_one_redrawn_line_with_a_bar() -> None:
    stream, clock = io.StringIO(), Clock()
    line = ProgressLine("export", stream, tty=True, clock=clock)
    clock.now += 1
    line.show(5, 20)
    clock.now += 1
    line.show(20, 20)
    line.finish()
    text = stream.getvalue()
    assert text.startswith("\r[######------------------]  export: 5/20 (25%) 5.0/s ETA 3s")
    # The shorter last line blanks what the longer one left (its ETA).
    assert text.endswith("\r[########################]  export: 20/20 (100%) 10.0/s    \n")
    assert text.count("\n") == 1


def test_nothing_to_do_is_complete() -> None:
    stream = io.StringIO()
    ProgressLine("import", stream, tty=False).show(0, 0)
    assert stream.getvalue() == "import: 0/0 (100%) 0.0/s\n"
