"""Progress of a long command on stderr, without a dependency: one line redrawn in place on a terminal,
and a plain line every few seconds otherwise, so logs and CI keep a readable record without carriage
returns."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24
TTY_REFRESH_S = 0.1
LOG_EVERY_S = 10.0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ProgressLine:
    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        every_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every_s = every_s if every_s is not None else (TTY_REFRESH_S if self.tty else LOG_EVERY_S)
        self.clock = clock
        self.started = clock()
        self._last_shown: float | None = None
        self._last_text = ""

    def show(self, done: int, total: int, extra: str = "") -> None:
        now = self.clock()
        if self._last_shown is not None and now - self._last_shown < self.every_s and done < total:
            return
        self._last_shown = now
        self._write(self.render(done, total, now - self.started, extra))

    def render(self, done: int, total: int, elapsed_s: float, extra: str = "") -> str:
        fraction = done / total if total else 1.0
        rate = done / elapsed_s if elapsed_s > 0 else 0.0
        eta = f" ETA {_duration((total - done) / rate)}" if rate > 0 and done < total else ""
        parts = [f"{self.label}: {done:,}/{total:,} ({fraction:.0%}) {rate:.1f}/s{eta}"]
        if self.tty:
            filled = round(BAR_WIDTH * fraction)
            parts.insert(0, f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}]")
        if extra:
            parts.append(extra)
        return "  ".join(parts)

    def _write(self, text: str) -> None:
        if self.tty:
            # Clear what a longer previous line left behind, stay on the line.
            self.stream.write("\r" + text + " " * max(0, len(self._last_text) - len(text)))
        else:
            self.stream.write(text + "\n")
        self._last_text = text
        self.stream.flush()

    def finish(self) -> None:
        """End the redrawn line so what follows starts on a fresh one."""
        if self.tty and self._last_text:
            self.stream.write("\n")
            self.stream.flush()
