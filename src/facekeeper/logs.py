"""Log lines that a client cannot forge and that never carry a secret.

- Control characters (a `%0A` in a path, a NUL in a name) are escaped in every message, so one request
  is one line and nobody can write a fake line into the log.
- API keys: the access log shows 8 characters of a key found in a path; statement parameters are never
  logged (the engine hides them, see `storage/db.py`); request headers are never logged.
"""

from __future__ import annotations

import logging
import re
import sys

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    r"""`\n` -> `\x0a`, `\x00` -> `\x00` (four visible characters): one message stays one line."""
    return _CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


class EscapingFormatter(logging.Formatter):
    """Escapes the message; a traceback, when one is logged, keeps its own lines below it."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # Alembic narrates every start-up ("Context impl SQLiteImpl"); only its problems are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
