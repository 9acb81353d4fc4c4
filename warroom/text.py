"""The one sanitiser for text from outside (entries typed by others, HTTP bodies, log
lines, SQL): control and escape bytes become visible, so nothing reaches the terminal raw.

Markup is not this function's business: the console displays text through objects that
never parse markup (``textual.content.Content``, ``rich.text.Text``); see ``tui/``.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides
# that can make text read differently from what it is ("Trojan Source").
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode control pictures: ESC -> ␛, CR -> ␍
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def safe_text(text: str) -> str:
    """``text`` with every control/escape character replaced by a visible stand-in."""
    return _UNSAFE.sub(_visible, text)


def safe_line(text: str) -> str:
    """One display line: newlines and tabs shown as spaces, then sanitised."""
    return safe_text(text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
