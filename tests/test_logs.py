"""Log lines a client cannot forge (issue 9, finding 8)."""

from __future__ import annotations

import logging

from facekeeper.logs import EscapingFormatter, escape_controls


def test_control_characters_are_escaped_visibly() -> None:
    assert escape_controls("GET /a\nFAKE 200\r\x00\x1b[31m\u2028") == "GET /a\\x0aFAKE 200\\x0d\\x00\\x1b[31m\\x2028"
    assert escape_controls("plain é ü 日本") == "plain é ü 日本"


def test_one_record_is_one_line_whatever_its_arguments() -> None:
    record = logging.LogRecord("facekeeper.access", logging.INFO, __file__, 1, "%s %s", ("GET", "/x\ny"), None)
    line = EscapingFormatter("%(levelname)s %(message)s").format(record)
    assert line == "INFO GET /x\\x0ay"
    assert "\n" not in line
