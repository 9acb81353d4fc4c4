"""A runbook in the guides' template shape, parsed from Markdown (no I/O).

The shape (the guides' "Runbook Template"): an optional front matter between ``---`` lines
naming what the runbook covers, a ``# Runbook: TITLE`` heading, and ``##`` sections:
Symptoms, Severity, Investigation Steps (``### 2. Check Database Performance`` is step 2,
with fenced ``bash``/``sql`` blocks), Mitigation Options (``### Option 1: Scale Up``, each
with a code block and ``**Risk**:``/``**ETA**:`` lines), Escalation ("If not resolved in 30
minutes:" and a list of contacts) and Post-Incident (a checklist).

Front matter keys (YAML): ``services`` and ``checks`` (lists of names), ``postgres``,
``redis``, ``kubernetes``, ``prometheus`` (the check whose target a step of that kind runs
against; else the first such check in ``checks``), ``actions`` (option number -> the
``[[action]]`` it is). Anything else in it is an error, as in warroom.toml.

A malformed file is one ``RunbookError`` naming the line; nothing here raises anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

FRONT_KEYS = ("services", "checks", "postgres", "redis", "kubernetes", "prometheus", "actions")
SECTIONS = ("symptoms", "severity", "investigation steps", "mitigation options", "escalation",
            "post-incident")
"""The template's sections, in order; `warroom runbook check` says which are missing."""


class RunbookError(ValueError):
    """A malformed runbook: ``line`` (1-based) and what is wrong there."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class Block:
    """A fenced code block: its info string's language and its text, as written."""

    lang: str
    code: str
    line: int
    """Line of the opening fence."""


@dataclass(frozen=True, slots=True)
class Step:
    """An investigation step: ``number`` as written in its heading."""

    number: int
    title: str
    line: int
    text: str = ""
    """The prose under the heading (code blocks left out)."""
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True, slots=True)
class Option:
    """A mitigation option with its risk and ETA as written."""

    number: int
    title: str
    line: int
    text: str = ""
    blocks: tuple[Block, ...] = ()
    risk: str = ""
    eta: str = ""


@dataclass(frozen=True, slots=True)
class Escalation:
    """"If not resolved in 30 minutes: ..." and whom to contact then."""

    after: timedelta
    contacts: tuple[str, ...]
    """Each contact line as written ("Escalate to: @backend-team-lead")."""
    line: int


@dataclass(frozen=True, slots=True)
class Runbook:
    name: str
    title: str
    services: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    targets: dict[str, str] = field(default_factory=dict)
    """Front matter's ``postgres``/``redis``/``kubernetes``/``prometheus`` check names."""
    actions: dict[int, str] = field(default_factory=dict)
    """Option number -> action name, from the front matter."""
    sections: dict[str, str] = field(default_factory=dict)
    """Every ``##`` section's text by its lower-cased title (Symptoms, Severity, ...)."""
    steps: tuple[Step, ...] = ()
    options: tuple[Option, ...] = ()
    escalation: Escalation | None = None
    post_incident: tuple[str, ...] = ()

    def step(self, number: int) -> Step:
        for step in self.steps:
            if step.number == number:
                return step
        raise KeyError(number)

    def missing_sections(self) -> list[str]:
        return [s for s in SECTIONS if s not in self.sections]


# --- parsing -------------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
_STEP = re.compile(r"^(?:step\s+)?(?P<n>\d+)[.):]?\s+(?P<title>.+)$", re.IGNORECASE)
_OPTION = re.compile(r"^(?:option\s+)?(?P<n>\d+)\s*[.):]?\s*(?P<title>.*)$", re.IGNORECASE)
_FIELD = re.compile(r"^\s*[-*]?\s*(?:\*\*|__)?(?P<key>risk|eta)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<value>.*)$",
                    re.IGNORECASE)
_WITHIN = re.compile(r"(?:in|within|after)\s+(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>minutes?|mins?|m|hours?|hrs?|h)\b",
                     re.IGNORECASE)
_BULLET = re.compile(r"^\s*[-*+]\s+(?P<text>.+)$")
_CHECKBOX = re.compile(r"^\s*[-*+]\s+\[[ xX]\]\s+(?P<text>.+)$")


def parse(name: str, text: str) -> Runbook:
    """The runbook ``name`` (its file name without ``.md``) from its Markdown ``text``."""
    lines = text.splitlines()
    front, start = _front_matter(lines)
    title = ""
    sections: dict[str, list[str]] = {}
    steps: list[Step] = []
    options: list[Option] = []
    escalation: Escalation | None = None
    section = ""
    current: dict | None = None  # the step or option being read

    def finish() -> None:
        nonlocal current
        if current is None:
            return
        kind = current.pop("kind")
        current["text"] = "\n".join(current["text"]).strip()
        current["blocks"] = tuple(current["blocks"])
        if kind == "step":
            steps.append(Step(**current))
        else:
            options.append(Option(**current))
        current = None

    index = start
    while index < len(lines):
        raw = lines[index]
        number = index + 1
        fence = _FENCE.match(raw)
        if fence:
            end, block = _read_block(lines, index, fence)
            if section:
                sections[section].extend(lines[index:end + 1])
            if current is not None:
                current["blocks"].append(block)
            index = end + 1
            continue
        heading = _HEADING.match(raw)
        if heading:
            level, words = len(heading["level"]), heading["text"]
            if level == 1 and not title:
                finish()
                title = re.sub(r"^runbook\s*:\s*", "", words, flags=re.IGNORECASE).strip() or name
                index += 1
                continue
            if level <= 2:
                finish()
                section = words.strip().lower()
                if section in sections:
                    raise RunbookError(number, f'a second "## {words}" section')
                sections[section] = []
                index += 1
                continue
            if level == 3 and section == "investigation steps":
                finish()
                match = _STEP.match(words)
                if match is None:
                    raise RunbookError(number, f'step heading "{words}" has no number (write "### 1. {words}")')
                n = int(match["n"])
                if any(s.number == n for s in steps):
                    raise RunbookError(number, f"a second step {n}")
                current = {"kind": "step", "number": n, "title": match["title"].strip(), "line": number,
                           "text": [], "blocks": []}
                index += 1
                continue
            if level == 3 and section == "mitigation options":
                finish()
                match = _OPTION.match(words)
                if match is None or not match["n"]:
                    raise RunbookError(number, f'option heading "{words}" has no number '
                                               f'(write "### Option 1: {words}")')
                n = int(match["n"])
                if any(o.number == n for o in options):
                    raise RunbookError(number, f"a second option {n}")
                current = {"kind": "option", "number": n, "title": match["title"].strip() or f"Option {n}",
                           "line": number, "text": [], "blocks": [], "risk": "", "eta": ""}
                index += 1
                continue
        if section:
            sections[section].append(raw)
        if current is not None:
            field_match = _FIELD.match(raw) if current["kind"] == "option" else None
            if field_match:
                value = field_match["value"].strip().strip("*_").strip()
                current[field_match["key"].lower()] = value
            else:
                current["text"].append(raw)
        index += 1
    finish()

    text_of = {name_: "\n".join(body).strip() for name_, body in sections.items()}
    if "escalation" in sections:
        escalation = _escalation(sections["escalation"], _section_line(lines, start, "escalation"))
    post = tuple(m["text"].strip() for line in sections.get("post-incident", ())
                 if (m := _CHECKBOX.match(line) or _BULLET.match(line)))
    actions = front.get("actions", {})
    for n in actions:
        if not any(o.number == n for o in options):
            raise RunbookError(1, f"front matter actions: no option {n} in Mitigation Options")
    return Runbook(
        name=name, title=title or name,
        services=tuple(front.get("services", ())), checks=tuple(front.get("checks", ())),
        targets={k: front[k] for k in ("postgres", "redis", "kubernetes", "prometheus") if k in front},
        actions=actions, sections=text_of, steps=tuple(steps), options=tuple(options),
        escalation=escalation, post_incident=post,
    )


def _read_block(lines: list[str], index: int, fence: re.Match[str]) -> tuple[int, Block]:
    mark = fence["fence"]
    info = fence["info"].strip()
    lang = info.split()[0].lower() if info else ""
    body = []
    for end in range(index + 1, len(lines)):
        closing = lines[end].strip()
        if closing and set(closing) == {mark[0]} and len(closing) >= len(mark):
            return end, Block(lang, "\n".join(body), index + 1)
        body.append(lines[end])
    raise RunbookError(index + 1, f"code block opened with {mark} is never closed")


def _section_line(lines: list[str], start: int, section: str) -> int:
    for index in range(start, len(lines)):
        heading = _HEADING.match(lines[index])
        if heading and len(heading["level"]) <= 2 and heading["text"].strip().lower() == section:
            return index + 1
    return start + 1


def _escalation(body: list[str], line: int) -> Escalation | None:
    text = "\n".join(body)
    match = _WITHIN.search(text)
    if match is None:
        if text.strip():
            raise RunbookError(line, 'escalation says no time (write "If not resolved in 30 minutes:")')
        return None
    amount = float(match["n"])
    after = timedelta(hours=amount) if match["unit"].lower().startswith("h") else timedelta(minutes=amount)
    if after <= timedelta(0):
        raise RunbookError(line, "escalation time must be more than zero")
    contacts = tuple(m["text"].strip() for row in body if (m := _BULLET.match(row)))
    if not contacts:
        raise RunbookError(line, "escalation names no one to contact (a list: \"- Escalate to: @team-lead\")")
    return Escalation(after, contacts, line)


# --- the front matter: a small YAML mapping -------------------------------------------------


def _front_matter(lines: list[str]) -> tuple[dict, int]:
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise RunbookError(1, "front matter opened with --- is never closed")
    import yaml  # PyYAML (the kubernetes client's own dependency): safe_load only

    try:
        data = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise RunbookError(at, f"front matter: {problem}") from None
    if not isinstance(data, dict):
        raise RunbookError(2, "front matter must be a mapping (services: [api], checks: [...])")

    def line_of(key: str) -> int:
        for i in range(1, end):
            if lines[i].lstrip().startswith(f"{key}:"):
                return i + 1
        return 2

    out: dict = {}
    for key, value in data.items():
        if key not in FRONT_KEYS:
            raise RunbookError(line_of(str(key)), f'front matter: unknown key "{key}" '
                                                  f"(expected {', '.join(FRONT_KEYS)})")
        if key in ("services", "checks"):
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise RunbookError(line_of(key), f"front matter: {key} must be a list of names")
            out[key] = [v.strip() for v in value]
        elif key == "actions":
            if not isinstance(value, dict):
                raise RunbookError(line_of(key), "front matter: actions must map option numbers to "
                                                 "action names (actions: {2: rollback-api})")
            mapped: dict[int, str] = {}
            for option, action in value.items():
                n = option if isinstance(option, int) else _option_number(str(option))
                if n is None or not isinstance(action, str) or not action.strip():
                    raise RunbookError(line_of(key), f"front matter: actions: {option!s}: expected an "
                                                     "option number and an action name")
                mapped[n] = action.strip()
            out[key] = mapped
        else:
            if not isinstance(value, str) or not value.strip():
                raise RunbookError(line_of(key), f"front matter: {key} must be a check name")
            out[key] = value.strip()
    return out, end + 1


def _option_number(text: str) -> int | None:
    match = re.fullmatch(r"\s*(?:option\s*)?(\d+)\s*", text, re.IGNORECASE)
    return int(match.group(1)) if match else None
