"""Pilot-driven flows of the console, in fake time, against a real SQLite journal."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from datetime import timedelta
import os
import pwd
import subprocess
from pathlib import Path

import pytest
from textual.widgets import Input, Label, Static

from tests.conftest import free_port, spawn
from tests.console_support import FakeClock, console, part, sample_incident, until
from warroom.config import Config
from warroom.domain.incident import Status
from warroom.domain.roles import Role
from warroom.domain.timeline import Kind
from warroom.tui.timeline_view import TimelineView

HOSTILE = ("[bold]x[/] [/] [$accent] [@click=app.quit]boom[/] [link=http://evil]y[/link] "
           "\x1b]8;;http://evil\x1b\\osc8\x1b]8;;\x1b\\ \x1b[2J \x9b31m \x1b]0;title\x07")


def real_login() -> str:
    """The login a child process acts as (in this process, tests set their own)."""
    return pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def incident(store: str, clock: FakeClock) -> int:
    return await sample_incident(store, clock)


async def loaded(pilot) -> None:
    await until(pilot, lambda: pilot.app.incident_flow.loaded and pilot.app.config is not None)


async def test_append_from_the_timeline_input(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        before = len(app.incident_flow.entries)
        await pilot.press("n", *"db pool at 100%", "enter")
        await until(pilot, lambda: len(app.incident_flow.entries) == before + 1)
        assert (app.incident_flow.entries[-1].kind, app.incident_flow.entries[-1].text) == (Kind.NOTE, "db pool at 100%")
        await pilot.press(*"!fail over to replica", "enter")
        await until(pilot, lambda: app.incident_flow.entries[-1].text == "fail over to replica")
        assert app.incident_flow.entries[-1].kind is Kind.DECISION
        assert part(app, TimelineView).entry_count == len(app.incident_flow.entries)
        # Written late: "@HH:MM" (UTC) says when it happened; it sorts there.
        declared = app.incident_flow.incident.declared_at
        typed = f"@{declared + timedelta(minutes=1):%H:%M} replica lag alarm"
        await pilot.press(*typed, "enter")
        await until(pilot, lambda: app.incident_flow.entries[-1].text == "replica lag alarm")
        assert app.incident_flow.entries[-1].data["happened"] == (declared + timedelta(minutes=1)).isoformat()
        await pilot.pause()
        view = part(app, TimelineView)
        rows = [view.render_line(y).text for y in range(view.row_count)]
        late = next(i for i, row in enumerate(rows) if "replica lag alarm" in row)
        assert "(written " in rows[late] and late < next(i for i, row in enumerate(rows) if "db pool" in row)


async def test_assign_records_a_handoff(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("a", "enter")  # first role: Incident Commander
        await pilot.press(*["backspace"] * 10, *"frank", "enter")
        await until(pilot, lambda: app.incident_flow.incident.holder(Role.IC) == "frank")
        change = app.incident_flow.incident.role_history[-1]
        assert (change.previous, change.person) == ("alice", "frank")
        assert app.header.text("ic") == "IC frank"


async def test_severity_change_rederives_cadence_and_required_roles(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.every_second()
        # SEV2: 30-minute cadence from the declaration, 4 minutes ago
        assert app.header.text("timer") == "next update in 26:00"
        roles_text = " ".join(str(w.content) for w in part(app, "#roles-list").query(Label))
        assert "Scribe: —" in roles_text
        await pilot.press("s")
        await pilot.press("home", "enter")  # SEV1
        await until(pilot, lambda: app.incident_flow.incident.severity == "SEV1")
        app.every_second()
        assert app.header.text("timer") == "next update in 15:00"
        assert app.header.state("severity") == "sev-0"
        roles_text = " ".join(str(w.content) for w in part(app, "#roles-list").query(Label))
        assert "Scribe: —" in roles_text  # the guides require no scribe at SEV1
        assert "Communications Lead: UNFILLED (required)" in roles_text


async def test_timer_prompts_in_fake_time_and_mark_posted(store, clock, incident, tmp_path):
    no_chain = Config.model_validate({"severity": {"escalation": []}})  # only the update clock here
    app = console(store, clock, tmp_path, config=no_chain)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        clock.advance(minutes=24)  # 2 minutes before the 30-minute deadline
        app.every_second()
        assert any("due in 2 minutes" in t for t, _ in app.toasts) and app.bells == 0
        assert app.header.text("timer") == "next update in 2:00"
        assert app.header.state("timer") == "timer-soon"
        clock.advance(minutes=2, seconds=5)
        app.every_second()
        assert app.bells == 1
        assert any("due now" in t for t, sev in app.toasts if sev == "warning")
        assert part(app, "#banner").display
        assert "OVERDUE" in str(part(app, "#banner").content)
        assert app.header.text("timer") == "update OVERDUE 0:05"
        await pilot.pause()
        assert app.focused is not part(app, "#draft-text"), "the prompt must not steal the keyboard"
        assert "-due" in part(app, "#draft-pane").classes
        draft = part(app, "#draft-text").text
        assert "#1" in draft and "API returning 500s" in draft
        app.every_second()
        assert app.bells == 1, "a prompt fires once per deadline"
        await pilot.press("u")
        assert app.screen.active_bindings["ctrl+o"].binding.description == "Mark posted", "no channel configured"
        await pilot.press("ctrl+o")
        await until(pilot, lambda: app.incident_flow.incident.updates_posted == 1)
        assert app.incident_flow.entries[-1].kind is Kind.UPDATE and app.incident_flow.entries[-1].text == draft
        app.every_second()
        assert app.header.text("timer") == "next update in 30:00"
        assert not part(app, "#banner").display
        assert "-due" not in part(app, "#draft-pane").classes


async def test_snooze_is_journaled(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        clock.advance(minutes=27)
        app.every_second()
        await pilot.press("z", "down", "enter")  # 10 minutes
        await until(pilot, lambda: app.incident_flow.entries[-1].kind is Kind.TIMER)
        assert app.incident_flow.entries[-1].data["action"] == "snooze" and app.incident_flow.entries[-1].data["minutes"] == 10
        app.every_second()
        assert app.header.text("timer") == "next update in 10:00 (snoozed)"


async def test_escalation_prompt_and_acknowledgement(store, clock, tmp_path):
    await sample_incident(store, clock, severity="SEV1")
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.every_second()
        assert app.header.text("escalation").endswith(": secondary on-call")
        clock.advance(minutes=27)  # declared 4 min ago + 27 = 31 min: SEV1's window is 30
        app.every_second()
        assert any(sev == "error" and "engineering manager" in text for text, sev in app.toasts)
        banner = str(part(app, "#banner").content)
        assert "ESCALATE to engineering manager: not resolved within SEV1's 30m" in banner
        assert app.header.state("escalation") == "timer-overdue"
        await pilot.press("e")
        await until(pilot, lambda: app.incident_flow.incident.escalation_acks)
        ack = app.incident_flow.incident.escalation_acks[-1]
        assert (ack.contact, ack.step) == ("engineering manager", 2)  # the secondary with it
        app.every_second()
        assert "ESCALATE" not in str(part(app, "#banner").content)
        assert app.header.text("escalation") == ""  # the chain is done


async def test_notifications_are_marked_done_from_the_console(store, clock, tmp_path):
    await sample_incident(store, clock, severity="P0", scheme="p0-3")
    app = console(store, clock, tmp_path, config=Config.model_validate({"severity": {"scheme": "p0-3"}}))
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        app.every_second()
        assert app.header.text("notify").endswith(": engineering leadership")
        clock.advance(minutes=12)  # 16 min after declaring: leadership should know by 15
        app.every_second()
        assert app.header.text("notify").startswith("NOTIFY 1:00 late")
        assert any("Time to notify engineering leadership" in text for text, _ in app.toasts)
        await pilot.press("N", "enter")  # the first waiting audience
        await until(pilot, lambda: "engineering leadership" in app.incident_flow.incident.notified)
        app.every_second()
        assert app.header.text("notify").endswith(": executive leadership")


async def test_resolve_through_the_checklist(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("t", "end", "enter")  # resolved -> the checklist
        await pilot.press("space")  # tick the first item
        await pilot.click("#ok")  # four unticked, not monitored, no reason: refused
        await until(pilot, lambda: any("not ready to resolve" in text for text, _ in app.toasts))
        assert app.incident_flow.incident.status is not Status.RESOLVED
        await pilot.press("t", "end", "enter")
        await pilot.press("space")
        app.screen.query_one("#reason", Input).value = "customer traffic moved to the standby region"
        await pilot.click("#ok")
        await until(pilot, lambda: app.incident_flow.incident.status is Status.RESOLVED)
        data = app.incident_flow.entries[-1].data
        assert list(data["checklist"].values())[0] is True
        assert data["override"] == "customer traffic moved to the standby region"
        assert part(app, "#draft-template").value == "resolution"


async def test_read_only_console_refuses_every_change(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        before = len(app.incident_flow.entries)
        assert not part(app, "#entry-input").display
        for key in ("n", "s", "t", "a", "i", "z"):
            await pilot.press(key)
            assert len(app.screen_stack) == 1, f"{key} opened a dialog in a read-only console"
        await pilot.press("u", "ctrl+o")
        footer_keys = {b.binding.key for b in app.active_bindings.values() if b.enabled}
        assert not {"s", "t", "a", "n"} & footer_keys
        app.incident_flow.write(lambda s: s.log(1, "sneaky", "mallory"))
        await pilot.pause(0.2)
        assert len(app.incident_flow.entries) == before
        assert any("read-only" in t for t, _ in app.toasts)


async def test_hostile_text_is_shown_literally_and_the_app_stays_up(store, clock, tmp_path):
    await sample_incident(store, clock, title=HOSTILE, notes=[HOSTILE])
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(250, 40)) as pilot:
        await loaded(pilot)
        await pilot.pause(0.1)
        title = app.header.text("title")
        assert "[@click=app.quit]boom[/]" in title and "\x1b" not in title and "\x9b" not in title
        drawn = app.header.top.render_line(0).text  # what reaches the terminal, literally
        assert "[@click=app.quit]boom[/]" in drawn and "[bold]x[/]" in drawn and "\x1b" not in drawn
        view = part(app, TimelineView)
        rows = "".join(view.render_line(y).text for y in range(view.size.height))
        assert "[bold]x[/]" in rows and "[link=http://evil]" in rows
        assert "\x1b" not in rows and "\x07" not in rows and "\x9b" not in rows
        await pilot.click("#timeline", offset=(60, 5))
        assert app.is_running
        await pilot.press("u")
        assert "\x1b" not in part(app, "#draft-text").text


async def test_another_process_appends_and_the_console_shows_it(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        writer = spawn("log", "INC-1", "from the scribe's shell", "--store", store,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = writer.communicate(timeout=30)
        assert writer.returncode == 0, err
        # How fast is bench/append.py's to say; here, that it comes, whole and once.
        await until(pilot, lambda: any(e.id == int(out) for e in app.incident_flow.entries), timeout=10)
        assert part(app, TimelineView).entry_count == len(app.incident_flow.entries)


async def test_help_and_palette_come_from_the_registry(store, clock, incident, tmp_path):
    from warroom.tui.registry import ACTIONS

    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        text = app.screen.query_one("#help-text").text
        for action in ACTIONS:
            assert action.help in text
        await pilot.press("escape")
        assert len(app.screen_stack) == 1


async def test_postmortem_preview_saves_a_file(store, clock, incident, tmp_path: Path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("P")
        assert "Postmortem" in app.screen.query_one("#text-view").text
        await pilot.press("ctrl+s")
        await until(pilot, lambda: (tmp_path / "INC-1-postmortem.md").exists())
        assert "## " in (tmp_path / "INC-1-postmortem.md").read_text()


async def test_themes_load_from_files_and_a_broken_one_falls_back(store, clock, incident, tmp_path):
    from warroom.tui.themes import BUILTIN_DIR

    user = tmp_path / "themes"
    user.mkdir()
    (user / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    (user / "mine.toml").write_text('name = "mine"\nprimary = "#123456"\n')
    app = console(store, clock, tmp_path, theme="no-such-theme", theme_dirs=[BUILTIN_DIR, user])
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert {"warroom-dark", "warroom-light", "warroom-projector", "mine"} <= set(app.available_themes)
        assert "broken" not in app.available_themes
        warnings = [t for t, sev in app.toasts if sev == "warning"]
        assert any("broken.toml" in w and "primary" in w for w in warnings)
        assert any("no-such-theme" in w for w in warnings)
        assert app.theme == "warroom-dark"
        app.theme = "warroom-projector"  # what the palette's theme switch does
        await pilot.pause()
        assert app.get_css_variables()["severity-0"] == "#FF0000"


async def test_theme_option_selects_a_theme(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path, theme="warroom-light")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert app.theme == "warroom-light" and not app.current_theme.dark


async def test_draft_diff_copy_save_and_template_switch(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("u", "ctrl+l")
        assert "No update has been posted yet" in app.screen.query_one("#text-view").text
        await pilot.press("escape", "ctrl+o")
        await until(pilot, lambda: app.incident_flow.incident.updates_posted == 1)
        await pilot.press("escape")  # leave the editor: letters are keys again
        assert app.focused is part(app, TimelineView)
        await pilot.press("n", *"checkout errors back under 1%", "enter")
        await until(pilot, lambda: app.incident_flow.entries[-1].text == "checkout errors back under 1%")
        app.every_second()  # the draft follows new entries once a second
        await pilot.press("escape", "u", "ctrl+l")
        diff = app.screen.query_one("#text-view").text
        assert "--- last posted update" in diff and "+" in diff and "checkout errors back under 1%" in diff
        await pilot.press("escape", "ctrl+b")
        assert app.clipboard == part(app, "#draft-text").text
        await pilot.press("ctrl+s")
        saved = tmp_path / "INC-1-update-2.md"
        assert saved.read_text() == part(app, "#draft-text").text
        part(app, "#draft-template").value = "status-investigating"
        await until(pilot, lambda: "alice" not in part(app, "#draft-text").text
                    and "investigating" in part(app, "#draft-text").text.lower())


async def test_maximise_filter_and_search(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("3", "m")
        assert app.screen.maximized is part(app, "#roles-pane")
        await pilot.press("m")
        assert app.screen.maximized is None
        view = part(app, TimelineView)
        await pilot.press("2", "f")
        options = app.screen.query_one("#picker")
        kinds = [options.get_option_at_index(i).id for i in range(options.option_count)]
        await pilot.press(*["down"] * kinds.index("role"), "enter")
        assert view.filter_kinds == frozenset({Kind.ROLE}) and view.row_count == 2
        await pilot.press("f", "enter")  # "all kinds"
        assert view.filter_kinds is None
        await pilot.press("slash", *"deploy", "enter")
        assert view.search == "deploy" and view.row_count == 1


def check_config(tmp_path: Path, port: int, interval: str = "100ms", names: tuple[str, ...] = ("cache-down",)):
    from warroom.config import load_config

    path = tmp_path / "warroom.toml"
    path.write_text("".join(f'''
[[check]]
name = "{name}"
kind = "tcp"
host = "127.0.0.1"
port = {port}
interval = "{interval}"
timeout = "1s"
service = "cache"
runbook = "https://runbooks.example/cache"
''' for name in names))
    return load_config(path)


async def test_health_pane_and_transitions_journaled_once(store, clock, incident, tmp_path):
    config = check_config(tmp_path, free_port())
    app = console(store, clock, tmp_path, config=config)
    health = lambda a: [e for e in a.incident_flow.entries if e.kind is Kind.HEALTH]  # noqa: E731
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: len(health(app)) == 1)
        await until(pilot, lambda: len(app.health_flow.runner.history["cache-down"]) >= 5)
        assert len(health(app)) == 1, "one entry per real change, not per sample"
        entry = health(app)[0]
        assert entry.data["to"] == "critical" and "connection refused" in entry.text
        table = part(app, "#health-table")
        assert "CRITICAL" in str(table.get_cell("cache-down", "state"))
        assert "critical" in app.header.text("health")
        await pilot.press("1", "enter")
        evidence = app.screen.query_one("#text-view").text
        assert "runbook: https://runbooks.example/cache" in evidence and "history" in evidence
    # A restarted console (and a scribe's) does not report the same breakage again.
    again = console(store, clock, tmp_path, config=config)
    async with again.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: again.health_flow.runner is not None
                    and len(again.health_flow.runner.history["cache-down"]) >= 4)
        assert len(health(again)) == 1


async def test_kubernetes_evidence_shows_the_crashing_pods_logs(store, clock, incident, tmp_path, monkeypatch):
    from warroom.config import load_config
    from warroom.sim.kubeapi import KubeAPI, write_kubeconfig
    from warroom.sim.kubeobjects import make_deployment, make_pod, make_replicaset

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "KUBECONFIG"):
        monkeypatch.delenv(var, raising=False)
    async with KubeAPI() as kube:
        deployment = make_deployment("api", "production", "registry.example/api:7", 2, 7)
        current = make_replicaset(deployment, 7)
        kube.add(deployment, current,
                 make_pod(current, "api-crash", restart_count=4, waiting_reason="CrashLoopBackOff",
                          last_terminated_reason="OOMKilled"))
        kube.set_log("production", "api-crash", "starting\n")
        kube.set_log("production", "api-crash", "panic: out of memory [bold]x[/] \x1b[2J\n", previous=True)
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kube.base_url)
        path = tmp_path / "warroom.toml"
        path.write_text(f'[[check]]\nname = "api-deploy"\nkind = "kubernetes"\nnamespace = "production"\n'
                        f'deployment = "api"\nkubeconfig = "{kubeconfig}"\ninterval = "10s"\n')
        app = console(store, clock, tmp_path, config=load_config(path))
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            await until(pilot, lambda: app.health_flow.runner is not None and "api-deploy" in app.health_flow.runner.latest,
                        timeout=10)
            assert app.health_flow.runner.latest["api-deploy"].state.value == "critical"
            await pilot.press("1", "enter")
            await until(pilot, lambda: len(app.screen_stack) == 2, timeout=10)
            text = app.screen.query_one("#text-view").text
            assert "logs: api-crash (previous container)" in text
            assert "panic: out of memory [bold]x[/]" in text and "\x1b" not in text
            assert "OOMKilled" in text


async def test_hostile_entries_from_warroom_log_are_literal_in_a_live_console(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(250, 40)) as pilot:
        await loaded(pilot)
        # Markup in a display name [people] maps the child's real login to (escape bytes
        # are refused there at validation).
        people = tmp_path / "people.toml"
        people.write_text(f"[people]\n{json.dumps(real_login())} = \"[red]mallory[/red]\"\n")
        writer = spawn("log", "INC-1", "--stdin", "--config", str(people), "--store", store,
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = writer.communicate("\n".join([HOSTILE, "[/]", "x [/] y", "[$accent]"]) + "\n", timeout=30)
        assert writer.returncode == 0, err
        ids = [int(x) for x in out.split()]
        await until(pilot, lambda: app.incident_flow.incident.last_entry_id >= ids[-1])
        await pilot.pause()
        view = part(app, TimelineView)
        rows = "".join(view.render_line(y).text for y in range(view.size.height))
        for needle in ("[@click=app.quit]boom[/]", "[link=http://evil]", "x [/] y", "[$accent]", "[red]mallory"):
            assert needle in rows, needle
        assert not any(c in rows for c in "\x1b\x07\x9b")
        app.every_second()
        await pilot.press("u")  # the draft quotes the new entries: literal there too
        draft = part(app, "#draft-text").text
        assert "[@click=app.quit]boom[/]" in draft and "\x1b" not in draft
        assert app.is_running


def mitigation_config(tmp_path: Path, port: int, argv: str = '["true"]', risk: str = "medium"):
    from warroom.config import load_config

    path = tmp_path / "warroom.toml"
    path.write_text(f'''
[[check]]
name = "lb"
kind = "tcp"
host = "127.0.0.1"
port = {port}
interval = "100ms"

[[action]]
name = "drain-eu"
kind = "command"
argv = {argv}
risk = "{risk}"
key = "G"
checks = ["lb"]
verify_window = "5s"
''')
    return load_config(path)


async def test_mitigation_from_the_console_in_order_and_never_by_accident(store, clock, incident, tmp_path, listener):
    from warroom.tui.messages import ActionStep

    steps = []
    app = console(store, clock, tmp_path, config=mitigation_config(tmp_path, listener))
    mitigations = lambda: [e for e in app.incident_flow.entries if e.kind is Kind.MITIGATION]  # noqa: E731
    async with app.run_test(size=(120, 40), message_hook=lambda m: isinstance(m, ActionStep)
                            and steps.append(m.event.step.value)) as pilot:
        await loaded(pilot)
        # Stray keys: open, Enter on an empty confirmation, a wrong name, Escape.
        await pilot.press("G")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.press("enter", *"drain", "enter", "escape")
        await pilot.press("x", "enter")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert mitigations() == [] and "confirmed" not in steps
        # Now for real: the target's name typed exactly.
        steps.clear()
        await pilot.press("G")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.press(*"true", "enter")
        await until(pilot, lambda: any(e.data.get("verified") for e in mitigations()), timeout=10)
        assert steps == ["requested", "previewed", "confirmed", "executed", "verified"]
        ran = mitigations()[0]
        assert ran.data["result"] == "ok" and ran.data["actor"] == "alice" and ran.data["roles"] == ["ic"]
        assert app.incident_flow.incident.mitigated_at is not None
        await pilot.press("x")  # the Actions view shows each action's state
        await until(pilot, lambda: len(app.screen_stack) == 2)
        picker = app.screen.query_one("#picker")
        assert "recovered" in str(picker.get_option_at_index(0).prompt)


@pytest.mark.parametrize("stray", ["y", "enter", "space", "Y", "j", "q", "1", "G"])
async def test_no_stray_key_confirms_a_low_risk_mitigation(store, clock, incident, tmp_path, listener, stray):
    from warroom.tui.messages import ActionStep

    marker = tmp_path / "ran"
    app = console(store, clock, tmp_path, config=mitigation_config(
        tmp_path, listener, argv=f'["touch", "{marker}"]', risk="low"))
    mitigations = lambda: [e for e in app.incident_flow.entries if e.kind is Kind.MITIGATION]  # noqa: E731
    steps = []
    async with app.run_test(size=(120, 40), message_hook=lambda m: isinstance(m, ActionStep)
                            and steps.append(m.event.step.value)) as pilot:
        await loaded(pilot)
        await pilot.press("G")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        confirm = app.screen
        assert str(confirm.query_one("#confirm-timeout", Static).content) == "times out after 1m"
        await pilot.press(stray)
        await pilot.pause()
        # Whatever the keys set off has run to its end (an action runs in this group; an
        # empty list would mean every worker, the checks' endless ones too).
        if running := [w for w in app.workers if w.group == "mitigation"]:
            await app.workers.wait_for_complete(running)
        assert "confirmed" not in steps
        assert mitigations() == [] and not marker.exists()
        assert app.screen is confirm or len(app.screen_stack) == 1  # at most, it answered No
        while len(app.screen_stack) > 1:
            await pilot.press("escape")
        # The deliberate act: Tab to "Yes, run it", then Enter.
        await pilot.press("G")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.press("tab", "enter")
        await until(pilot, lambda: [e.data.get("result") for e in mitigations()][:1] == ["ok"])
        assert marker.exists()


async def test_someone_without_the_role_proposes_instead(store, clock, incident, tmp_path, listener):
    app = console(store, clock, tmp_path, config=mitigation_config(tmp_path, listener), author="mallory")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("G")
        await until(pilot, lambda: any(e.data.get("proposal") == "drain-eu" for e in app.incident_flow.entries))
        assert len(app.screen_stack) == 1
        assert not [e for e in app.incident_flow.entries if e.kind is Kind.MITIGATION]


async def test_read_only_console_cannot_mitigate(store, clock, incident, tmp_path, listener):
    app = console(store, clock, tmp_path, read_only=True, config=mitigation_config(tmp_path, listener))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("G", "x")
        await pilot.pause(0.2)
        assert len(app.screen_stack) == 1
        assert not [e for e in app.incident_flow.entries if e.kind in (Kind.MITIGATION, Kind.ACTION)]


async def test_an_action_key_that_is_the_consoles_own_is_not_taken(store, clock, incident, tmp_path, listener):
    from warroom.config import load_config

    path = tmp_path / "warroom.toml"
    path.write_text('[[action]]\nname = "drain"\nkind = "command"\nargv = ["true"]\nkey = "s"\n')
    app = console(store, clock, tmp_path, config=load_config(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: app.mitigation_flow.runner is not None)
        assert any("key 's' is the console's own" in t for t, _ in app.toasts)
        await pilot.press("s")  # still the severity picker
        assert "Severity" in str(app.screen.query_one(".dialog-title").content)


async def test_a_drill_console_starts_without_an_incident_and_declares_one(store, clock, tmp_path):

    from warroom.store import open_journal

    await (await open_journal(store, create=True)).close()  # an empty journal
    app = console(store, clock, tmp_path, incident_id=None, config=check_config(tmp_path, free_port(), "2s"))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        assert "No incident declared" in app.header.text("title")
        await until(pilot, lambda: app.health_flow.runner is not None and app.health_flow.runner.latest)  # health is live
        for key in ("n", "s", "a", "z"):
            await pilot.press(key)
            assert len(app.screen_stack) == 1, f"{key} acted before any incident existed"
        await pilot.press("D")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.press(*"checkout down", "enter", "enter", *"all checkouts", "enter")
        await until(pilot, lambda: app.incident_flow.incident.title == "checkout down" and app.incident_flow.entries)
        assert app.header.text("key") == "INC-1" and app.incident_flow.incident.severity == "SEV1"
        await pilot.press("n", *"first note", "enter")
        await until(pilot, lambda: app.incident_flow.entries[-1].text == "first note")


@asynccontextmanager
async def triage_open(store, clock, tmp_path):
    """A console on an empty journal (before any incident) with the triage dialog open."""
    from warroom.store import open_journal

    await (await open_journal(store, create=True)).close()
    app = console(store, clock, tmp_path, incident_id=None)
    async with app.run_test(size=(120, 45)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        await pilot.press("T")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        yield app, pilot


async def test_triage_suggests_the_severity_and_opens_the_timeline(store, clock, tmp_path):
    from textual.widgets import Checkbox, Select

    async with triage_open(store, clock, tmp_path) as (app, pilot):
        screen = app.screen
        screen.query_one("#real", Select).value = "yes"
        screen.query_one("#users", Select).value = "10-50%"
        screen.query_one("#service", Select).value = "down"  # the more severe answer wins
        screen.query_one("#broken", Input).value = "checkout API returns 502"
        screen.query_one("#changed", Input).value = "api v1.2.3 deployed 14:00"
        screen.query_one("#suspect-0", Checkbox).value = True  # a recent deployment
        await pilot.click("#ok")
        await until(pilot, lambda: len(app.screen_stack) == 2 and app.screen.query("#title"))
        declare = app.screen
        assert declare.query_one("#title", Input).value == "checkout API returns 502"
        assert "Suggested SEV1" in " ".join(str(label.content) for label in declare.query(Label))
        await pilot.click("#ok")
        await until(pilot, lambda: app.incident_flow.incident.severity == "SEV1" and len(app.incident_flow.entries) >= 2)
        note = app.incident_flow.entries[1]
        assert note.kind is Kind.NOTE and note.data["triage"]["suspects"] == ["Recent deployment"]
        assert note.text.startswith("Triage: Real incident: yes; Broken: checkout API returns 502")


async def test_a_false_alarm_declares_nothing(store, clock, tmp_path):
    from textual.widgets import Select

    async with triage_open(store, clock, tmp_path) as (app, pilot):
        app.screen.query_one("#real", Select).value = "false alarm"
        await pilot.click("#ok")
        await until(pilot, lambda: any("false alarm" in text for text, _ in app.toasts))
        assert len(app.screen_stack) == 1 and app.incident_flow.incident_id is None


async def test_taking_command_is_explicit_and_every_console_is_told(store, clock, incident, tmp_path):
    ic = console(store, clock, tmp_path)
    other = console(store, clock, tmp_path, author="dana")
    async with ic.run_test(size=(120, 40)) as ic_pilot:
        await loaded(ic_pilot)
        async with other.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            await pilot.press("C")
            await until(pilot, lambda: len(other.screen_stack) == 2)
            assert "Take command from alice" in str(other.screen.query_one(".dialog-title").content)
            await pilot.press(*"alice unreachable for 10 min", "enter")
            await until(pilot, lambda: other.incident_flow.incident.holder(Role.IC) == "dana")
            await until(ic_pilot, lambda: ic.incident_flow.incident.holder(Role.IC) == "dana")
            told = "dana took command from alice: alice unreachable for 10 min"
            await until(ic_pilot, lambda: (told, "warning") in ic.toasts)
            assert ic.bells >= 1 and (told, "warning") in other.toasts


async def test_an_open_console_is_the_ics_only_for_the_ic(store, clock, incident, tmp_path):
    """INC-1's IC is alice: dana's `open` console is a responder's (no IC prompts); alice's is the IC's."""
    clock.advance(minutes=40)  # a SEV2's update is overdue
    dana = console(store, clock, tmp_path, author="dana")
    async with dana.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        dana.every_second()
        assert dana.header.text("console") == "RESPONDER" and dana.bells == 0
        assert not any("Status update due" in t for t, _ in dana.toasts)
    alice = console(store, clock, tmp_path)
    async with alice.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        alice.every_second()
        # The IC's bells: the update overdue, and the escalation to the secondary on-call.
        assert alice.header.text("console") == "IC" and alice.bells == 2


async def test_the_health_pane_draws_a_new_state_at_once_and_new_values_once_a_second(store, clock, incident, tmp_path):
    from dataclasses import replace

    from warroom.checks.state import State
    from warroom.tui.messages import HealthResult

    app = console(store, clock, tmp_path, config=check_config(tmp_path, free_port(), "1h"))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        table = part(app, "#health-table")
        await until(pilot, lambda: "CRITICAL" in str(table.get_cell("cache-down", "state")))
        app.workers.cancel_group(app, "checks")
        app.ticker.pause()  # "once a second" is this test's every_second() below
        await until(pilot, lambda: app.health_pane.in_view() == ["cache-down"])  # laid out, on screen
        app.every_second()
        first = app.health_flow.latest["cache-down"]
        same_state = replace(first, summary="still refused, 2nd sample")
        app.post_message(HealthResult(same_state))
        await pilot.pause()
        assert "2nd sample" not in str(table.get_cell("cache-down", "summary"))
        app.every_second()
        assert "2nd sample" in str(table.get_cell("cache-down", "summary"))
        app.post_message(HealthResult(replace(first, state=State.OK, summary="connected in 1 ms")))
        await pilot.pause()
        assert "OK" in str(table.get_cell("cache-down", "state"))
        assert "connected" in str(table.get_cell("cache-down", "summary"))


async def test_the_health_pane_draws_rows_out_of_view_when_they_come_into_view(store, clock, incident, tmp_path):
    """New values and ages of rows nobody can see are not drawn once a second (each drawn
    cell repaints the table); scrolled into view, a row shows what it missed."""
    from dataclasses import replace

    from warroom.domain.durations import coarse, format_duration
    from warroom.tui.messages import HealthResult

    names = tuple(f"cache-{n:02d}" for n in range(60))
    app = console(store, clock, tmp_path, config=check_config(tmp_path, free_port(), "1h", names))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        table = part(app, "#health-table")
        await until(pilot, lambda: len(app.health_flow.latest) == 60)
        app.workers.cancel_group(app, "checks")
        await until(pilot, lambda: "CRITICAL" in str(table.get_cell("cache-59", "state")))
        app.ticker.pause()  # "once a second" is this test's every_second() below
        shown = app.health_pane.in_view()
        assert "cache-00" in shown and "cache-59" not in shown
        for name in ("cache-00", "cache-59"):
            app.post_message(HealthResult(replace(app.health_flow.latest[name], summary="refused, again")))
        await pilot.pause()
        clock.advance(seconds=42)
        app.every_second()

        def age(name: str) -> str:
            return format_duration(coarse(app.incident_flow.now() - app.health_flow.latest[name].at))

        assert "again" in str(table.get_cell("cache-00", "summary"))
        assert str(table.get_cell("cache-00", "age")) == age("cache-00")
        assert "again" not in str(table.get_cell("cache-59", "summary"))
        assert str(table.get_cell("cache-59", "age")) == ""
        table.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert "cache-59" in app.health_pane.in_view()
        assert "again" in str(table.get_cell("cache-59", "summary"))
        assert str(table.get_cell("cache-59", "age")) == age("cache-59") != ""


async def test_eta_cause_and_live_metrics_reach_the_update_draft(store, clock, incident, tmp_path):
    from warroom.config import load_config

    path = tmp_path / "warroom.toml"
    path.write_text(f'''
[incident]
channel = "#incident-response"
bridge = "https://zoom.us/j/123"

[[check]]
name = "cache-down"
kind = "tcp"
host = "127.0.0.1"
port = {free_port()}
interval = "100ms"
timeout = "1s"
service = "cache"
''')
    app = console(store, clock, tmp_path, config=load_config(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: any(e.kind is Kind.HEALTH for e in app.incident_flow.entries))
        await pilot.press("n", *"/eta 30m", "enter")
        await until(pilot, lambda: app.incident_flow.incident.eta is not None)
        assert app.incident_flow.incident.eta == clock() + timedelta(minutes=30)
        await pilot.press(*"/cause pool exhausted on db-main", "enter")
        await until(pilot, lambda: app.incident_flow.incident.cause == "pool exhausted on db-main")
        await pilot.press(*"/eta someday", "enter")  # refused at the input, nothing journaled
        await pilot.press("escape", "u")
        await until(pilot, lambda: "pool exhausted" in part(app, "#draft-text").text)
        draft = part(app, "#draft-text").text
        assert "**Root cause:** pool exhausted on db-main" in draft
        assert f"**ETA to resolution:** {clock() + timedelta(minutes=30):%H:%M} UTC (in 30m)" in draft
        assert "**War room:** https://zoom.us/j/123 · #incident-response" in draft
        assert "- cache-down: critical: " in draft  # the live reading (the port refuses)
        assert sum(e.kind is Kind.TIMER and e.data.get("action") == "eta" for e in app.incident_flow.entries) == 1
