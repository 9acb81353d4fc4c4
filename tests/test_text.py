"""The one sanitiser: control and escape bytes never survive."""

import re

from warroom.text import safe_line, safe_text

HOSTILE = [
    "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b]0;pwned title\x07",  # window title
    "\x1b[2J\x1b[H",  # clear screen, cursor home
    "\x9b31m C1 CSI",  # 8-bit CSI
    "over\rwrite",
    "bell\x07 del\x7f nul\x00",
    "rtl \u202eevil\u202c",
]


def test_no_control_or_escape_byte_survives():
    for text in HOSTILE:
        cleaned = safe_text(text)
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", cleaned), repr(cleaned)


def test_visible_stand_ins_keep_the_text_readable():
    assert safe_text("a\x1b[31mb") == "a\u241b[31mb"
    assert safe_text("x\x9by") == "x<U+009B>y"
    assert safe_text("plain [bold]markup[/] stays") == "plain [bold]markup[/] stays"
    assert safe_text("tab\tand\nnewline") == "tab\tand\nnewline"


def test_safe_line_is_one_line():
    assert safe_line("a\nb\r\nc\td") == "a b c d"
