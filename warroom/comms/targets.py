"""An incident's MTTD/MTTA/MTTM/MTTR against its targets, as lines of text (`warroom show`,
the console's resolve screen)."""

from __future__ import annotations

from warroom.domain.metrics import MEANINGS, NAMES, Verdict, verdict_text
from warroom.text import safe_line


def target_verdict_lines(verdicts: list[Verdict], held_to: str | None) -> list[str]:
    """Each measure against the target of the level the incident is held to."""
    held = (f"{safe_line(held_to)}'s targets, the most severe level it reached" if held_to
            else "no targets: its severity is in no known scheme")
    return [f"Response ({held}):"] + [
        f"  {NAMES[v.metric]} ({MEANINGS[v.metric]}): {verdict_text(v)}" for v in verdicts]
