"""The one sanitiser for text from outside (entries typed by others, HTTP bodies, log
lines, SQL): control and escape bytes become visible, so nothing reaches the terminal raw.
And the one masker of secrets in text that is shown or journaled.

Markup is not this function's business: the console displays text through objects that
never parse markup (``textual.content.Content``, ``rich.text.Text``); see ``tui/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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


_UNSAFE_IN_LINE = re.compile("[\t\n\r]|" + _UNSAFE.pattern)


def first_unsafe(text: str) -> int | None:
    """Where ``text`` has its first character that safe_line would replace (a control,
    escape or bidirectional-override character, or a tab or line break); None if nowhere.
    For names, which are refused rather than shown altered."""
    match = _UNSAFE_IN_LINE.search(text)
    return match.start() if match else None


def safe_line(text: str) -> str:
    """One display line: newlines and tabs shown as spaces, then sanitised."""
    return safe_text(text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


MASK = "****"

# Greedy up to the token's last "@": a raw "@" in a password must not leak its tail. A
# password that is only a ${VAR} reference is a configuration's template, not a secret.
_REFERENCE_ONLY = r"(?!\$\{[A-Za-z_][A-Za-z0-9_]*\}(?:@|[\s'\"]|$))"
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)" + _REFERENCE_ONLY + r"[^\s]*@")
_KEYWORD_PASSWORD = re.compile(r"(?i)(?P<head>\b(?:password|passwd|pwd)\s*=\s*)" + _REFERENCE_ONLY
                               + r"(?:'(?:[^'\\]|\\.)*'|\S+)")


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each secret and each inline URL/DSN password replaced by ``****``."""
    # Longest first, so a secret containing another is masked whole.
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)
