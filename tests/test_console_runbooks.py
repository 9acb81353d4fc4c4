"""Runbooks in the console, Pilot-driven in fake time: offered (a notice, never the focus)
when a linked check goes critical, `R` opens the incident's runbook, Enter runs a step
read-only against the real PostgreSQL and shows its output literally, a shell step is only
copied, ticks and options are journaled, the escalation rule prompts at 30 minutes."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import PG_DSN, free_port
from tests.console_support import FakeClock, console, part, sample_incident, until
from warroom.domain.timeline import Kind


def setup(tmp_path: Path, port: int, victim: Path):
    from warroom.config import load_config

    books = tmp_path / "books"
    books.mkdir()
    (books / "api-down.md").write_text(f"""---
services: [api]
checks: [api-down, db]
postgres: db
actions:
  1: drain
---
# Runbook: API down [b]bold?[/]

## Investigation Steps

### 1. Ask the database \x1b]0;pwned\x07

```sql
SELECT E'\\x1b[2J[@click=app.quit]boom[/]' AS evil, 42 AS answer;
```

### 2. Clean up

```bash
rm -rf {victim}
```

## Mitigation Options

### Option 1: Drain

```bash
./drain.sh
```

**Risk**: Low
**ETA**: 1 minute

## Escalation

If not resolved in 30 minutes:

- Escalate to: @backend-team-lead
- Channel: #incident-response
""")
    path = tmp_path / "warroom.toml"
    path.write_text(f'''runbooks = ["books"]

[[check]]
name = "api-down"
kind = "tcp"
host = "127.0.0.1"
port = {port}
interval = "100ms"
timeout = "1s"
service = "api"

[[check]]
name = "db"
kind = "postgres"
dsn = "{PG_DSN}"
interval = "1h"

[[action]]
name = "drain"
kind = "command"
argv = ["true"]
risk = "medium"
''')
    return load_config(path)


def runbook_entries(app, event: str):
    return [e for e in app.incident_flow.entries if e.kind is Kind.RUNBOOK and e.data.get("event") == event]


async def test_the_runbook_is_offered_run_ticked_taken_and_escalated(store, tmp_path, postgres_dsn):
    from warroom.tui.confirm import ConfirmScreen
    from warroom.tui.messages import ActionStep
    from warroom.tui.runbook_screen import RunbookScreen

    clock = FakeClock()
    await sample_incident(store, clock, severity="SEV2")
    victim = tmp_path / "x"
    (victim / "inside").mkdir(parents=True)
    app = console(store, clock, tmp_path, config=setup(tmp_path, free_port(), victim))
    steps: list[str] = []
    async with app.run_test(size=(140, 40), message_hook=lambda m: isinstance(m, ActionStep)
                            and steps.append(m.event.step.value)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        await until(pilot, lambda: app.focused is not None)
        focused = app.focused
        # The tcp check goes critical: the runbook linked to it is offered, once, by a notice.
        await until(pilot, lambda: runbook_entries(app, "offered"), timeout=10)
        await until(pilot, lambda: any("offered" in text for text, _ in app.toasts))
        assert app.focused is focused and len(app.screen_stack) == 1
        assert runbook_entries(app, "offered")[0].data == {"runbook": "api-down", "event": "offered",
                                                           "check": "api-down"}

        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, RunbookScreen))
        rows = app.screen.query_one("#runbook-rows")
        labels = [str(rows.get_option_at_index(i).prompt) for i in range(rows.option_count)]
        assert labels[0] == "[ ] 1. Ask the database ␛]0;pwned␇ — Enter runs it read-only"
        assert labels[1].startswith("[ ] 2. Clean up — c copies it: rm -rf")
        assert labels[2] == "Option 1: Drain — risk Low, ETA 1 minute — Enter: action drain"
        assert "@backend-team-lead" in str(app.screen.query_one("#runbook-escalation").content)

        # Enter on step 1: it runs read-only, its output is shown literally and journaled.
        await pilot.press("enter")
        await until(pilot, lambda: len(app.screen_stack) == 2 and app.screen.query("#text-view"), timeout=10)
        shown = app.screen.query_one("#text-view").text
        assert "␛[2J[@click=app.quit]boom[/]" in shown and "42" in shown and "\x1b" not in shown
        await until(pilot, lambda: runbook_entries(app, "ran"))
        evidence = [e for e in app.incident_flow.entries if e.kind is Kind.EVIDENCE and e.data.get("runbook")]
        assert evidence and evidence[0].data["text"].startswith("$ SELECT E'")
        await pilot.press("escape")

        # The shell step: Enter does not run it, c copies it, k marks it skipped.
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, RunbookScreen))
        await pilot.press("down", "enter")
        await until(pilot, lambda: any("not run by warroom" in text for text, _ in app.toasts))
        await pilot.press("c")
        assert app.clipboard == f"rm -rf {victim}"
        await pilot.press("k")
        await until(pilot, lambda: runbook_entries(app, "skipped"))
        assert (victim / "inside").is_dir()
        # The screen stays open and shows the step skipped once the journal has it.
        assert isinstance(app.screen, RunbookScreen)
        await until(pilot, lambda: any(row.id == "step:2" and "skipped by alice" in row.label
                                       for row in app.screen.rows.values()))
        await pilot.press("escape")

        # The option goes through the mitigation flow: previewed, then a confirmation.
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, RunbookScreen))
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=10)
        assert steps[:2] == ["requested", "previewed"]
        await pilot.press("escape")
        await until(pilot, lambda: runbook_entries(app, "option"))
        assert runbook_entries(app, "option")[0].data["action"] == "drain"

        # Thirty minutes after the declaration, unresolved: the runbook's escalation.
        app.every_second()
        assert "RUNBOOK" not in str(part(app, "#banner").content)
        clock.advance(minutes=27)  # the sample incident is 4 minutes old
        bells = app.bells
        app.every_second()
        assert app.bells > bells
        assert any(sev == "error" and "@backend-team-lead" in text for text, sev in app.toasts)
        banner = str(part(app, "#banner").content)
        assert "RUNBOOK api-down: not resolved in 30 min: Escalate to: @backend-team-lead" in banner
        # The header's escalation: the chain's overdue step first (SEV2's secondary at 15 min),
        # once that is recorded, the runbook's.
        assert app.header.text("escalation").endswith("ago: secondary on-call")
        await pilot.press("e")
        await until(pilot, lambda: app.incident_flow.incident.escalation_acks)
        app.every_second()
        assert app.header.text("escalation") == "ESCALATE (runbook): Escalate to: @backend-team-lead"
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, RunbookScreen))
        await pilot.press("e")
        await until(pilot, lambda: runbook_entries(app, "escalated"))
        assert isinstance(app.screen, RunbookScreen)
        await pilot.press("escape")
        app.every_second()
        assert "RUNBOOK" not in str(part(app, "#banner").content)
        assert "runbook" not in app.header.text("escalation")
        progress = app.incident_flow.incident.runbooks["api-down"]
        assert progress.escalated_by == "alice" and progress.steps[2].event == "skipped"
        assert app.is_running
