"""A follow-up filed as a ticket, seen in a live console: a filing asked for and cut off
(no outcome journaled) is delivered by the IC's console as any publication is; the outcome is
a timeline entry shown literally, hostile follow-up text included, and the console's fold
knows the ticket's key."""

from __future__ import annotations

from pathlib import Path

from tests.console_support import FakeClock, console, part, sample_incident, until
from tests.tracker_servers import GITHUB_TOKEN, FakeGitHub, serving
from warroom.config.loader import load_config
from warroom.domain.incident import TicketState
from warroom.identity import Identity
from warroom.publisher import Publisher
from warroom.service import IncidentService
from warroom.store import open_journal
from warroom.tui.timeline_view import TimelineView

def github_channel(name: str, url: str, repo: str, extra: str = "") -> str:
    return (f'[[channel]]\nname = "{name}"\nkind = "github"\napi_url = "{url}"\n'
            f'token = "${{GITHUB_TOKEN}}"\nrepo = "{repo}"\n{extra}\n')


async def followup_with_trackers(store, clock, tmp_path: Path, text: str, tables: str):
    """INC-1 with a follow-up (``text``, owner bob), the config of ``tables``: (config, svc, entry)."""
    await sample_incident(store, clock)
    path = tmp_path / "warroom.toml"
    path.write_text(tables, encoding="utf-8")
    config = load_config(path)
    journal = await open_journal(store)
    svc = IncidentService(journal, config.policy, secrets=config.secrets, clock=clock)
    return config, svc, await svc.followup(1, text, "bob", None, "alice")


HOSTILE = "Rotate creds @everyone [@click=app.quit]boom[/] \x1b]0;pwned\x07 \x1b[2J x [/] y"


async def test_the_ic_console_files_an_interrupted_follow_up_literally(store, tmp_path: Path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    with serving(FakeGitHub()) as github:
        config, svc, entry = await followup_with_trackers(store, clock, tmp_path, HOSTILE,
                                                          github_channel("gh", github.url, "acme/ops"))
        # Asked, then the process died before delivering: the outbox holds it open.
        publisher = Publisher(svc, config.channels, config.secrets, identity=Identity("alice", "alice", ("alice",)))
        assert await publisher.file_followup(1, await svc.followup_item(1, entry.id)) == ["gh"]
        [ticket] = (await svc.followup_item(1, entry.id)).tickets
        assert ticket.state is TicketState.ASKED and github.seen == []
        await publisher.aclose()
        await svc.journal.close()

        app = console(store, clock, tmp_path, config=config)
        async with app.run_test(size=(250, 40)) as pilot:
            await until(pilot, lambda: app.incident_flow.loaded and any(
                t.state is TicketState.FILED for f in app.incident_flow.incident.followups for t in f.tickets),
                timeout=15)
            [ticket] = next(f for f in app.incident_flow.incident.followups if f.entry_id == entry.id).tickets
            assert ticket.key == "acme/ops#1" and len(github.issues) == 1
            assert "\x1b" not in github.issues[0]["body"]
            await pilot.pause()
            view = part(app, TimelineView)
            rows = "".join(view.render_line(y).text for y in range(view.size.height))
            assert f"Follow-up {entry.id} filed in gh as acme/ops#1: https://github.example/acme/ops/issues/1" in rows
            assert "[@click=app.quit]boom[/]" in rows and "x [/] y" in rows and "␛]0;pwned␇" in rows
            assert not any(c in rows for c in "\x1b\x07\x9b")
            assert app.is_running


async def test_f_files_the_follow_up_under_the_cursor_after_a_preview_of_the_trackers(store, tmp_path: Path,
                                                                                     monkeypatch):
    from textual.widgets import Button, Checkbox

    clock = FakeClock()
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    with serving(FakeGitHub()) as github:
        tables = (github_channel("gh", github.url, "acme/ops")
                  + github_channel("ops-gh", github.url, "acme/other", 'roles = ["comms-lead"]'))
        config, svc, entry = await followup_with_trackers(store, clock, tmp_path, "Add a canary stage", tables)
        await svc.journal.close()

        app = console(store, clock, tmp_path, config=config)
        async with app.run_test(size=(200, 44)) as pilot:
            view = part(app, TimelineView)
            await until(pilot, lambda: app.incident_flow.loaded and app.publish_flow.ready
                        and view.cursor_entry is not None and view.cursor_entry.id == entry.id)
            await pilot.press("F")
            await until(pilot, lambda: app.screen.__class__.__name__ == "PublishScreen")
            title = str(app.screen.query_one(".dialog-title").content)
            assert title == f"File follow-up {entry.id} as a ticket in:"
            boxes = list(app.screen.query(Checkbox))
            assert [str(b.label) for b in boxes] == [
                "gh (github, internal)",
                "ops-gh (github, internal): not allowed: alice may not publish to ops-gh (it takes the Communications Lead)"]
            assert [b.value for b in boxes] == [True, False] and boxes[1].disabled
            assert [str(b.label) for b in app.screen.query(Button)] == ["File", "Cancel"]
            await pilot.click("#publish")
            await until(pilot, lambda: any(t.state is TicketState.FILED for f in app.incident_flow.incident.followups
                                           for t in f.tickets), timeout=10)
            assert [i["title"] for i in github.issues] == ["INC-1: Add a canary stage"]
            [ticket] = app.incident_flow.incident.followups[0].tickets
            assert (ticket.channel, ticket.key) == ("gh", "acme/ops#1")

            # Again, from the palette's picker (the cursor elsewhere): only what is not filed.
            await pilot.press("home")
            await pilot.press("F")
            await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen")
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.__class__.__name__ == "PublishScreen")
            assert [str(b.label) for b in app.screen.query(Checkbox)][0].startswith("ops-gh")
            assert "(already filed in gh as acme/ops#1)" in str(app.screen.query_one("#publish-text").content)
            await pilot.press("escape")
            assert len(github.issues) == 1
