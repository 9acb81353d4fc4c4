"""The war-room console: the IC's (or a scribe's) full-screen view of one incident.

The app is wiring. It mounts the panes, owns the flows (incident, health, mitigation: one
controller each, in warroom.tui.controllers), routes their messages to the panes and the
keys to them, and reports every failure the same way: one line on screen, the traceback in
the log file (warroom.tui.failures). Everything it shows is derived from the journal plus
the clock, so two consoles agree within the watcher's delay and a restarted console is
exactly where it was.

Start-up: the first frame shows the incident's state as the CLI read it from the journal;
right after it, what that frame did not need is imported (so an import error shows at
start, not when a key is pressed), the journal is loaded and the configuration validated.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable

from rich.console import Console
from textual import on
from textual.app import App, ComposeResult
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from warroom.comms import TEMPLATE_NAMES
from warroom.domain.clock import Clock, system_clock
from warroom.domain.incident import Incident, is_external
from warroom.domain.timeline import Kind
from warroom.errors import WarroomError
from warroom.identity import Identity, identify
from warroom.text import safe_line, safe_text
from warroom.tui import registry
from warroom.tui.failures import FailureLog
from warroom.tui.header import IncidentHeader
from warroom.tui.health import HealthPane, health_summary
from warroom.tui.messages import (ActionStep, ConfigReady, EntriesArrived, EvidenceReady, Failure,
                                  HealthResult, IncidentLoaded, JournalWatch, LinesNotWritten, SpoolBacklog,
                                  MitigationPreviewed, Notice, RunbookOutput)
from warroom.tui.panes import DraftPane, EntryInput, Pane, RolesPane, TimelinePane
from warroom.tui import keymap
from warroom.tui.themes import DEFAULT_THEME, REQUIRED_VARIABLES, discover
from warroom.tui.timeline_view import TimelineView

if TYPE_CHECKING:
    from warroom.config import Config
    from warroom.domain.prompts import Prompt
    from warroom.tui.controllers.health import HealthController
    from warroom.tui.controllers.incident import IncidentController
    from warroom.tui.controllers.mitigation import MitigationController
    from warroom.tui.controllers.publish import PublishController
    from warroom.tui.controllers.runbooks import RunbookController
    from warroom.tui.dialogs import IncidentDialogs

STYLES = Path(__file__).resolve().parent / "styles"
ROLES_CHANGE_WITH = frozenset({Kind.DECLARE, Kind.SEVERITY, Kind.ROLE})
"""Entries after which the Roles pane is redrawn (holders, or the level's required roles)."""
PANE_ORDER = ("health-pane", "timeline-pane", "roles-pane", "draft-pane")
FATAL_GROUPS = frozenset({"load", "config"})
LATER_MODULES = ("warroom.files", "warroom.tui.confirm", "warroom.tui.publish_dialog", "warroom.tui.followup_tickets",
                 "warroom.tui.runbook_screen", "warroom.tui.history")
"""Imported once the console is complete (``import_the_rest``); every other module of the
console is imported by its first frame or by the flows right after it."""
"""Workers without which the console cannot go on: their failure ends it with one line."""
WHAT_FAILED = {
    "load": "reading the journal", "config": "the configuration", "write": "writing to the journal",
    "declare": "declaring", "mitigation": "the mitigation", "checks": "the health checks",
    "evidence": "gathering the evidence", "save": "saving", "runbook": "the runbook step",
    "runbooks": "reading the runbooks",
}


@dataclass
class ConsoleOptions:
    store_url: str
    incident_id: int | None
    """None: no incident yet (a drill): the console watches health until one is declared."""
    config: Config | None = None
    """The validated configuration; None: ``load_config`` validates it after the first frame."""
    load_config: Callable[[], Config] | None = None
    author: str | None = None
    """The name asked for (--as, $WARROOM_USER): only one [people] maps to the login is
    accepted; None: the config's ``[incident] user``, else the first name mapped."""
    login: str | None = None
    """The acting OS login; None: this process's (warroom.identity.os_login). Only a program
    embedding the console (the tests) gives another."""
    seat: str = "ic"
    """"ic" gets the timer prompts; "scribe" starts in the timeline input."""
    read_only: bool = False
    """Also read-only when the configuration says so."""
    theme: str | None = None
    clock: Clock = system_clock
    watch_interval: float | None = None
    """Seconds between the watcher's looks at the journal; None: the configuration's."""
    output_dir: Path = field(default_factory=Path.cwd)
    theme_dirs: list[Path] | None = None
    welcome: str | None = None
    """Shown once the console is up (the demo's short guide to the keys)."""
    initial: Incident | None = None
    """The incident's state as read before start, so the first frame already shows it."""
    log_path: Path | None = None
    """Where failures' tracebacks go; None: ``<state dir>/warroom/console.log``."""
    keymap_file: Path | None = None
    """The keymap (binding id -> keys); None: keymap.toml in the config directory."""


class ConsoleCommands(Provider):
    """The command palette lists every console action by name."""

    def _actions(self):
        app = self.app
        for action in registry.ACTIONS:
            if app.check_action(registry.action_name(action), ()):
                yield action

    async def discover(self) -> Hits:
        for action in self._actions():
            yield DiscoveryHit(action.description, self._runner(action.id), help=action.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action in self._actions():
            score = matcher.match(f"{action.description} {action.help}")
            if score > 0:
                yield Hit(score, matcher.highlight(action.description), self._runner(action.id),
                          help=action.help)

    def _runner(self, action_id: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await self.app.run_action(action_id)

        return run


def guarded(what: str):
    """A handler whose unexpected failure is reported (one line, traceback logged) and the
    console goes on, instead of Textual ending the app with a traceback on the IC's screen."""

    def decorate(handler):
        @functools.wraps(handler)
        def run(self: WarroomApp, *args, **kwargs):
            try:
                return handler(self, *args, **kwargs)
            except Exception as error:
                self.report_failure(what, error)
                return None

        return run

    return decorate


class WarroomApp(App):
    CSS_PATH = [STYLES / "app.tcss"]
    BINDINGS = registry.bindings()
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    TITLE = "warroom"

    def __init__(self, options: ConsoleOptions) -> None:
        super().__init__()
        self.options = options
        self.keymap = keymap.load(options.keymap_file)  # a bad file: ConfigError, before any frame
        self.set_keymap(self.keymap)
        self.read_only = options.read_only
        self.config: Config | None = None
        """None until validated (right after the first frame)."""
        self.identity: Identity | None = None
        """Who acts from this console, known with the configuration."""
        self.swept = False
        """Every configured check has a first result (the long-lived objects are then frozen)."""
        self.failure: BaseException | None = None
        """Why the console ended itself (the CLI reports it as one line)."""
        self.failures = FailureLog(options.log_path)
        # Textual prints an unexpected error's traceback here when it ends the app: into the
        # log file, never onto the IC's terminal (the CLI then prints one line).
        self.error_console = Console(file=_LogFile(self.failures), markup=False, highlight=False)
        self.theme_warnings: list[str] = []
        self.wired = False
        """The flows exist (right after the first frame); keys before that are ignored."""
        self.timeline_drawn = asyncio.Event()
        self.draft_stale = False
        self.ticker = None
        """The once-a-second timer (``every_second``), from the first frame on."""
        self.register_themes()

    def get_css_variables(self) -> dict[str, str]:
        # Our stylesheet uses $severity-N and $timer-*: give every theme (Textual's own
        # included) a value for them; a warroom theme's own values win.
        return {**REQUIRED_VARIABLES, **super().get_css_variables()}

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept as attributes: handlers use them directly, so nothing depends on a query
        # finding them (a modal on top, or the app shutting down).
        self.header = IncidentHeader()
        self.banner = Static(id="banner")
        self.timeline_pane = TimelinePane(read_only=self.read_only, id="timeline-pane")
        self.timeline = self.timeline_pane.view
        self.health_pane = HealthPane(id="health-pane")  # "Reading the configuration…" until it is in
        self.roles_pane = RolesPane(id="roles-pane")
        self.draft_pane = DraftPane(TEMPLATE_NAMES, read_only=self.read_only, id="draft-pane")
        with Vertical(id="top"):
            yield self.header
            yield self.banner
        with Grid(id="panes"):
            yield self.timeline_pane
            yield self.health_pane
            yield self.roles_pane
            yield self.draft_pane
        yield Footer()

    def register_themes(self) -> None:
        """Before the first styling pass, so the console is drawn once in its theme."""
        themes, self.theme_warnings = discover(self.options.theme_dirs)
        for theme in themes:
            self.register_theme(theme)
        self.theme = self._available_theme(self.options.theme or DEFAULT_THEME)

    def _available_theme(self, wanted: str) -> str:
        if wanted not in self.available_themes:
            self.theme_warnings.append(f"theme {wanted!r} not found; using {DEFAULT_THEME}")
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        return wanted

    def on_mount(self) -> None:
        self.failures.start()
        self.banner.display = False
        initial = self.options.initial
        if initial is not None:  # the state the CLI read: the first frame shows it
            self.header.show(initial, f"#{initial.id}", None, None, system_clock(), self.seat_label())

    async def on_ready(self) -> None:
        # The first frame (the header, the panes' frames) is on the terminal. Now the flows,
        # imported here; what only a key needs follows once the console is complete
        # (import_the_rest): an import error shows at start, never at a key press.
        from warroom.tui.controllers.health import HealthController
        from warroom.tui.controllers.incident import IncidentController
        from warroom.tui.controllers.mitigation import MitigationController
        from warroom.tui.controllers.runbooks import RunbookController
        from warroom.tui.controllers.publish import PublishController
        from warroom.tui.dialogs import IncidentDialogs

        options = self.options
        self.incident_flow: IncidentController = IncidentController(
            self, store_url=options.store_url, incident_id=options.incident_id, clock=options.clock,
            seat=options.seat, read_only=self.read_only, initial=options.initial)
        self.health_flow: HealthController = HealthController(
            self, clock=options.clock, on_transition=self.health_transition)
        self.mitigation_flow: MitigationController = MitigationController(
            self, read_only=self.read_only, health=lambda: self.health_flow.latest)
        self.runbook_flow: RunbookController = RunbookController(self, read_only=self.read_only)
        self.publish_flow: PublishController = PublishController(
            self, draft=lambda template: self.incident_flow.draft(template, self.health_flow.latest))
        self.dialogs: IncidentDialogs = IncidentDialogs(self)
        self.wired = True
        for warning in self.theme_warnings:
            self.say(warning, "warning")
        for pane in (self.timeline_pane, self.health_pane, self.roles_pane, self.draft_pane):
            await pane.populate()
        if options.welcome:
            self.notify(options.welcome, title="warroom", timeout=30, markup=False)
        self.incident_flow.load()
        self.run_worker(self._validate_config, group="config", exclusive=True, exit_on_error=False)
        self.ticker = self.set_interval(1.0, self.every_second)

    async def _validate_config(self) -> None:
        config = self.options.config
        if config is None:
            assert self.options.load_config is not None
            # pydantic and the models, ~0.2 s: once the timeline is drawn (not competing
            # with it), in a thread, so keys pressed meanwhile are handled.
            await self.timeline_drawn.wait()
            config = await asyncio.to_thread(self.options.load_config)
        requested, source = self.options.author, "--as"
        if requested is None and config.incident.user:
            requested, source = config.incident.user, "[incident] user"
        identity = identify(config.people, requested, login=self.options.login, source=source)
        self.post_message(ConfigReady(config, identity))

    async def on_unmount(self) -> None:
        gc.unfreeze()  # an app run inside a longer process (tests, the demo) leaves nothing pinned
        self.workers.cancel_all()
        if self.wired:
            # Clients hold connections (aiohttp, asyncpg, redis) and the journal a thread:
            # closed here, whatever state their workers were cancelled in.
            for flow in (self.publish_flow, self.runbook_flow, self.mitigation_flow, self.health_flow,
                         self.incident_flow):
                try:
                    await flow.close()
                except Exception as error:
                    self.failures.record("closing", error)
        self.failures.stop()

    # -- failures: one path for every worker and handler -----------------------------------

    def report_failure(self, what: str, error: BaseException) -> None:
        line = self.failures.record(what, error)
        if not isinstance(error, WarroomError):
            line += f" (details in {self.failures.path})"
        self.notify(line, severity="error", timeout=20, markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is not WorkerState.ERROR or worker.error is None:
            return
        group = worker.group
        if group in FATAL_GROUPS:
            # Reported by the CLI once the terminal is restored: one line, never markup.
            self.failures.record(WHAT_FAILED[group], worker.error)
            self.failure = worker.error
            self.exit(return_code=2)
            return
        what = WHAT_FAILED.get(group) or ("verifying " + group.removeprefix("verify-")
                                          if group.startswith("verify-") else group)
        self.report_failure(what, worker.error)

    def on_failure(self, message: Failure) -> None:
        self.report_failure(message.what, message.error)

    def on_notice(self, message: Notice) -> None:
        self.say(message.text, message.severity)

    def key(self, binding_id: str) -> str:
        """The key to name in a message: the keymap's, never a hard-coded default."""
        return registry.key_hint(binding_id, self.keymap)

    def say(self, text: str, severity: str = "information") -> None:
        """A toast with untrusted text shown literally."""
        self.notify(safe_text(text), severity=severity, markup=False)

    # -- the incident -------------------------------------------------------------------

    @guarded("showing the journal")
    def on_incident_loaded(self, message: IncidentLoaded) -> None:
        flow = self.incident_flow
        flow.loaded_with(message)
        self.call_after_refresh(self.timeline_drawn.set)
        if flow.incident_id is None:
            self.refresh_state()
            self.say("No incident declared yet: watch the Health pane, and press "
                     f"{self.key('incident.declare')} to declare one")
            self.start_flows()
            return
        self.timeline.set_entries(flow.entries)
        # The timeline's entries live as long as the console: a gen-2 collection walking
        # 100,000 of them took 130-210 ms of loop time (bench/ui_lag.py); frozen, under 8 ms.
        gc.freeze()
        self.refresh_state(roles=True)
        if self.config is not None:  # else the configuration's arrival fills it (channel, bridge)
            self.call_after_refresh(self.refill_draft)  # once the timeline is on the terminal
        self.start_flows()
        if self.options.seat == "scribe" and not self.read_only:
            self.timeline_pane.input.focus()
        else:
            self.timeline.focus()

    @guarded("importing the console's screens")
    def import_the_rest(self) -> None:
        """What only a key needs (the dialogs' screens, saving a file, the History screen),
        imported once the console is complete: the IC sees the timeline and the checks
        first, and an import error still shows at start."""
        for name in LATER_MODULES:
            importlib.import_module(name)

    @guarded("applying the configuration")
    def on_config_ready(self, message: ConfigReady) -> None:
        config = self.config = message.config
        if config.console.read_only and not self.read_only:
            self.become_read_only()
        if self.options.theme is None and config.console.theme != self.theme:
            self.theme = self._available_theme(config.console.theme)
            for warning in self.theme_warnings[-1:]:
                self.say(warning, "warning")
        self.identity = message.identity
        flow = self.incident_flow
        flow.configure(config, message.identity)
        self.failures.mask = config.secrets.mask  # the log and the toasts never show a secret
        self.health_pane.set_checks([(c.name, c.kind, c.service) for c in config.checks])
        self.start_flows()
        self.bind_mitigation_keys(config)
        self.draft_pane.label_post(bool(config.channels))
        self.header.meeting(config.incident.bridge, config.incident.channel)
        self.refresh_state(roles=True)
        self.call_after_refresh(self.import_the_rest)
        self.call_after_refresh(self.refill_draft)  # its template compiled the first time: after this frame
        self.refresh_bindings()

    def start_flows(self) -> None:
        """Once the journal is read and the configuration validated (in either order): the
        watcher, the checks (seeded with the journal's last health states) and the actions."""
        flow, config = self.incident_flow, self.config
        if config is None or not flow.loaded:
            return
        interval = self.options.watch_interval
        if interval is None:
            interval = config.console.watch_interval.total_seconds()
        flow.watch(interval)
        self.health_flow.start(config, flow.health_journaled)
        if flow.incident_id is not None:
            self.mitigation_flow.start(config, flow.service, flow.incident_id, flow.author)
        if self.runbook_flow.config is None:
            self.runbook_flow.start(config, flow.service, flow.incident_id, flow.author)
        if flow.incident_id is not None and self.identity is not None:
            # The IC's console publishes the moments and delivers the outbox (a crashed
            # console's too); any console delivers what its own person publishes.
            self.publish_flow.start(config, flow.service, flow.incident_id, self.identity,
                                    delivering=flow.commands and not self.read_only)
            self.publish_flow.consider(flow.incident, reversed(flow.entries), flow.now())

    async def health_transition(self, transition) -> None:
        """A confirmed change of a check: journaled (by one console); a check gone critical
        offers the runbooks linked to it (journaled, so every console shows the offer)."""
        from warroom.checks.state import State

        if await self.incident_flow.journal_health(transition) and transition.state is State.CRITICAL:
            await self.runbook_flow.offer(transition.name)

    def become_read_only(self) -> None:
        self.read_only = self.incident_flow.read_only = self.mitigation_flow.read_only = True
        self.runbook_flow.read_only = True
        self.timeline_pane.read_only = self.draft_pane.read_only = True
        if self.timeline_pane.populated:
            self.timeline_pane.input.disabled = True
            self.timeline_pane.input.display = False
            self.draft_pane.editor.read_only = True

    def bind_mitigation_keys(self, config: Config) -> None:
        if self.read_only:
            return
        taken = keymap.console_keys(self.keymap)
        for index, a in enumerate(config.actions):
            if a.key and keymap.normalize(a.key) in taken:
                self.say(f"action {a.name}: key {a.key!r} is the console's own; use "
                         f"{self.key('incident.mitigate')} to run it", "warning")
            elif a.key:
                # By its place in the config: a name is never spliced into an action string
                # (one with a quote could not be parsed when the key was pressed).
                self.bind(a.key, f"mitigate({index})", description=safe_line(a.name), show=False)

    @guarded("showing new entries")
    def on_entries_arrived(self, message: EntriesArrived) -> None:
        fresh = self.incident_flow.arrived(message.entries)
        if not fresh:
            return
        for entry in fresh:
            if entry.kind is Kind.RUNBOOK and entry.data.get("event") == "offered":
                # Every console: a notice and a key, never the focus taken.
                self.notify(f"{safe_text(entry.text)}. {self.key('incident.runbooks')} opens it",
                            title="Runbook", severity="warning", timeout=20, markup=False)
            if entry.kind is Kind.ROLE and entry.data.get("took_command"):
                # Every console, the IC's first: command changed hands without a handoff.
                self.bell()
                self.notify(safe_text(entry.text), title="Command taken", severity="warning",
                            timeout=30, markup=False)
        self.timeline.add_entries(fresh)
        self.publish_flow.consider(self.incident_flow.incident, fresh, self.incident_flow.now())
        if any(e.kind in (Kind.PUBLISH, Kind.DELIVERY) for e in fresh):
            self.show_publication()
        self.refresh_state(roles=any(e.kind in ROLES_CHANGE_WITH for e in fresh))
        if any(e.kind is Kind.UPDATE for e in fresh):
            self.draft_pane.edited = False
            self.refill_draft()
        else:
            # Redrawing the draft costs a pass over the incident: at most once a second.
            self.draft_stale = True

    def on_spool_backlog(self, message: SpoolBacklog) -> None:
        if message.waiting >= 0:  # -1: only this console's unshared lines changed
            self.header.spool(message.waiting, message.since)
        if not self.incident_flow.unshared and message.waiting == 0:
            self.say("Every entry written during the partition is shared now")
        self.show_banner()

    def on_journal_watch(self, message: JournalWatch) -> None:
        self.header.journal_link(None if message.error is None else message.since or system_clock())
        if message.error is not None:
            line = self.failures.record("watching the journal", message.error)
            self.show_banner(extra=f"JOURNAL UNREACHABLE: {line}. Retrying; nothing typed here is lost")
        else:
            self.say("Journal reachable again: caught up")
            self.show_banner()

    def seat_label(self) -> str:
        seat = self.options.seat.upper()
        if seat == "IC" and self.wired and self.identity is not None and not self.incident_flow.commands:
            seat = "RESPONDER"  # an `open` console whose person is not the IC: no IC prompts
        return seat + (" · READ-ONLY" if self.read_only else "")

    def refresh_state(self, *, roles: bool = False) -> None:
        if not self.wired or not self.incident_flow.known or not self.screen_stack[0].is_attached:
            return  # not loaded yet, or shutting down
        flow = self.incident_flow
        health, worst = health_summary(self.health_flow.latest.values())
        worst_name = worst.value if worst else "none"
        if flow.incident_id is None:
            self.header.undeclared(health, worst_name, self.key("incident.declare"))
            return
        level = flow.level()
        due = self.runbook_flow.escalations(flow.incident, flow.now()) if flow.incident.open else []
        self.header.show(flow.incident, flow.key(), level, flow.timer(), flow.now(), self.seat_label(),
                         health, worst_name, due[0].contacts[0] if due else "")
        self.show_banner()
        self.refresh_runbook_screen()
        if roles:
            self.roles_pane.show(flow.incident, level.required_roles if level else ())

    def show_banner(self, extra: str | None = None) -> None:
        flow = self.incident_flow
        timer = flow.timer()
        lines = [extra] if extra else []
        overdue = timer.update_overdue_by if timer else None
        if flow.incident.open and overdue is not None:
            lines.append(f"STATUS UPDATE OVERDUE by {int(overdue.total_seconds() // 60)} min: post it "
                         f"({self.key('incident.update')}, then {self.key('draft.post')}) "
                         f"or snooze ({self.key('incident.snooze')})")
        if flow.incident.open and timer is not None and timer.escalation_overdue_by is not None:
            lines.append(f"ESCALATE to {safe_line(timer.escalation.contact)}: {timer.escalation.reason}. "
                         f"Once contacted, press {self.key('incident.ack_escalation')}")
        if flow.incident.open and self.wired:
            for due in self.runbook_flow.escalations(flow.incident, flow.now()):
                lines.append(f"RUNBOOK {safe_line(due.runbook)}: not resolved in {int(due.after.total_seconds() // 60)} "
                             f"min: {safe_line(' · '.join(due.contacts))}. Once contacted: "
                             f"{self.key('incident.runbooks')}, then {self.key('runbook.escalated')}")
        unshared = flow.unshared
        if unshared:
            shown = " · ".join(safe_line(e.text)[:60] for e in unshared[-3:])
            lines.append(f"NOT YET SHARED ({len(unshared)} in the local spool, pushed when the team journal "
                         f"is back): {shown}")
        self.banner.display = bool(lines)
        self.draft_pane.set_class(flow.incident.open and overdue is not None, "-due")
        text = "\n".join(lines)
        # update() asks for a layout pass of the whole screen, same text or not, and this
        # runs for every batch of entries and every change of a check's state: only when
        # the text changed (under bench/incident.py's load, 7.4 -> 4.6 layout passes a second).
        if text != str(self.banner.content):
            self.banner.update(Content(text))

    @guarded("the one-second tick")
    def every_second(self) -> None:
        """The header clock, the banner, check ages and the timer prompts."""
        if not self.wired or not self.incident_flow.loaded:
            return
        self.refresh_state()
        if self.draft_stale:
            self.draft_stale = False
            self.refill_draft()
        self.health_pane.show_ages(self.health_flow.latest, self.incident_flow.now())
        for prompt, detail in self.incident_flow.due_prompts():
            self.raise_prompt(prompt, detail)
        if self.incident_flow.incident_id is not None and self.options.seat == "ic":
            for due in self.runbook_flow.newly_due(self.incident_flow.incident, self.incident_flow.now()):
                self.bell()
                self.notify(f"Runbook {safe_line(due.runbook)}: not resolved in "
                            f"{int(due.after.total_seconds() // 60)} min: {safe_line(' · '.join(due.contacts))}",
                            title="Escalate", severity="error", timeout=20, markup=False)

    def raise_prompt(self, prompt: Prompt, detail: str) -> None:
        from warroom.domain.prompts import Prompt

        if prompt is Prompt.UPDATE_SOON:
            self.notify("Status update due in 2 minutes", title="Update", timeout=8, markup=False)
        elif prompt is Prompt.UPDATE_DUE:
            self.bell()
            self.notify(f"Status update due now: the draft is ready ({self.key('incident.update')} to edit, "
                        f"then {self.key('draft.post')} to mark it posted)",
                        title="Update due", severity="warning", timeout=15, markup=False)
            # The draft is filled and flagged, but the keyboard stays where it was: letters
            # typed for another purpose must never land in the update.
            self.draft_pane.select_template("internal-update")
            self.refill_draft()
        elif prompt is Prompt.ESCALATION_DUE:
            self.bell()
            self.notify(f"Escalate to {safe_line(detail)}, then press {self.key('incident.ack_escalation')}",
                        title="Escalate", severity="error", timeout=20, markup=False)
        elif prompt is Prompt.EXTERNAL_DUE:
            self.notify("Status page update due: pick a status-* template in the Update pane, post it, "
                        f"then {self.key('draft.post')}", title="Status page", severity="warning",
                        timeout=15, markup=False)
        elif prompt is Prompt.NOTIFY_DUE:
            where = self.publish_flow.leadership(self.incident_flow.incident, detail)
            if where:
                self.notify(f"Notifying {safe_line(detail)}: the initial alert to {safe_line(', '.join(where))} "
                            "(marked notified once delivered)", title="Notify", severity="warning", markup=False)
            else:
                self.notify(f"Time to notify {safe_line(detail)} (then {self.key('incident.notified')})",
                            title="Notify", severity="warning", markup=False)

    def refill_draft(self, *, force: bool = False) -> None:
        flow = self.incident_flow
        draft = self.draft_pane
        if not flow.loaded or flow.incident_id is None or not draft.populated or (draft.edited and not force):
            return
        rendered = flow.draft(draft.template, self.health_flow.latest)
        draft.fill(rendered.text, force=force)
        self.show_publication()
        if rendered.warning:
            self.say(rendered.warning, "warning")

    def show_publication(self) -> None:
        """The Draft pane's line: the template's count, and where its last publication
        stands on each channel (sent / retrying 2/5 / failed: reason)."""
        from warroom.tui.controllers.publish import states

        flow, draft = self.incident_flow, self.draft_pane
        if not draft.populated or not flow.loaded:
            return
        line = flow.draft_status(draft.template)
        last = next((p for p in reversed(flow.incident.outbox.publications) if p.template == draft.template), None)
        if last is not None:
            line += " · " + states(last)
        draft.set_status(line)

    # -- the draft pane -------------------------------------------------------------------

    @on(DraftPane.Requested)
    @guarded("the draft")
    def draft_request(self, event: DraftPane.Requested) -> None:
        flow = self.incident_flow
        if event.what == "refill":
            self.refill_draft(force=True)
        elif event.what == "leave":
            self.timeline.focus()
        elif event.what == "post":
            text, template, incident_id = event.text, event.template, flow.incident.id
            clock = "the status page's clock" if is_external(template) else "the update timer"

            def mark_posted() -> None:
                flow.write(lambda s: s.post_update(incident_id, text, flow.author, template=template),
                           done=f"Update marked posted: {clock} restarts")

            targets = self.publish_flow.targets(flow.incident, template)
            if not targets:  # no channel takes it: marked posted, as by hand
                mark_posted()
                return
            from warroom.tui.publish_dialog import PublishScreen

            def chosen(answer: tuple[str, list[str]] | None) -> None:
                if answer is None:
                    return
                what, channels = answer
                if what == "publish":
                    self.publish_flow.publish(template, text, channels)
                else:
                    mark_posted()

            self.push_screen(PublishScreen(template, text, targets), chosen)
        elif event.what == "diff":
            from warroom.comms.templates import diff_updates
            from warroom.tui.modals import TextScreen

            self.push_screen(TextScreen("Draft against the last posted update",
                                        diff_updates(flow.last_posted_update(), event.text)))
        elif event.what == "copy":
            self.copy_to_clipboard(event.text)
            self.say("Draft copied to the clipboard (OSC 52)")
        elif event.what == "save":
            path = self.options.output_dir / f"{flow.key()}-update-{flow.incident.updates_posted + 1}.md"
            self.save_file(path, event.text)

    def save_file(self, path: Path, text: str) -> None:
        """Written (atomically, over a regular file) in a thread, never on the event loop."""
        from warroom.files import write_file

        async def save() -> None:
            await asyncio.to_thread(write_file, path, text)
            self.say(f"Saved {path}")

        self.run_worker(save, group="save", exit_on_error=False)

    @guarded("opening the entry")
    def on_timeline_view_selected(self, event: TimelineView.Selected) -> None:
        """Enter on an entry: the whole of it (an evidence capture, a long note) and its data."""
        from warroom.tui.modals import TextScreen

        entry = event.entry
        body = entry.data.get("text") if isinstance(entry.data.get("text"), str) else ""
        data = {k: v for k, v in entry.data.items() if k != "text"}
        text = "\n".join(part for part in (
            entry.text, body, json.dumps(data, indent=2, default=str, ensure_ascii=False) if data else "") if part)
        title = f"#{entry.id} {entry.kind.value} by {entry.author} at {entry.ts:%Y-%m-%d %H:%M:%S} UTC"
        self.push_screen(TextScreen(safe_text(title), safe_text(text)))

    @on(EntryInput.Taken)
    @guarded("the timeline entry")
    def add_line(self, event: EntryInput.Taken) -> None:
        self.incident_flow.submit(event.line)

    def on_entry_input_refused(self, event: EntryInput.Refused) -> None:
        self.say(event.reason, "warning")

    @guarded("the timeline entry")
    def on_lines_not_written(self, message: LinesNotWritten) -> None:
        """Back into the input, in order: the first to fix or retry (Enter), the rest after it."""
        if message.reason:
            self.say(message.reason, "warning")
        if self.timeline_pane.populated:
            self.timeline_pane.input.hand_back(message.lines)
            count = len(message.lines)
            self.say(f"{count} line{'s' if count > 1 else ''} not written {'are' if count > 1 else 'is'} "
                     "back in the timeline input: Enter writes each again", "warning")

    # -- health and mitigations -------------------------------------------------------------

    @guarded("showing a check's result")
    def on_health_result(self, message: HealthResult) -> None:
        result = message.result
        self.health_pane.show(result, self.health_flow.history(result.name))
        if not self.swept and len(self.health_flow.latest) == len(self.health_pane.checks or ()):
            # Every check has sampled once: its clients and connections live as long as the
            # console. Out of the collector's way too (bench/sweep.py: p99 lag over time
            # 84 -> 31 ms with 200 checks).
            self.swept = True
            gc.freeze()
        # The header only says how many checks are in which state: redraw it when a state
        # changed, not for each of 200 results a second (bench/sweep.py).
        if self.health_flow.changed_state(result):
            self.refresh_state()

    def on_health_pane_inspect(self, event: HealthPane.Inspect) -> None:
        self.health_flow.inspect(event.name)

    def on_evidence_ready(self, message: EvidenceReady) -> None:
        from warroom.tui.modals import TextScreen

        self.push_screen(TextScreen(message.title, message.text))

    def on_runbook_output(self, message: RunbookOutput) -> None:
        from warroom.tui.modals import TextScreen

        self.push_screen(TextScreen(safe_text(message.title), safe_text(message.text)))

    def on_mitigation_previewed(self, message: MitigationPreviewed) -> None:
        from warroom.tui.confirm import ConfirmScreen

        plan, checks = message.plan, message.checks
        self.push_screen(ConfirmScreen(plan, checks),
                         lambda answer: self.mitigation_flow.confirmed(plan, checks, answer))

    def on_action_step(self, message: ActionStep) -> None:
        event = message.event
        if event.step.value in {"verified", "not-recovered"}:
            self.say(event.detail, "information" if event.step.value == "verified" else "warning")

    # -- keys ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        mutating = action in registry.MUTATING or action == "mitigate"
        if mutating and (self.read_only or self.config is None or not self.wired):
            return False  # nothing changes before the configuration (and its policy) is in
        if action == "declare":
            return self.options.incident_id is None and self.incident_flow.incident_id is None
        if action == "triage":  # before declaring too: it leads to the declare dialog
            return self.options.incident_id is None or self.incident_flow.incident_id is not None
        if mutating and self.incident_flow.incident_id is None:
            return False  # nothing to change before an incident exists
        if action == "ack_escalation":
            timer = self.incident_flow.timer()
            return timer is not None and timer.escalation_overdue_by is not None
        if action == "notified":
            timer = self.incident_flow.timer()
            return timer is not None and bool(timer.notifications_due)
        if action == "actions":
            return bool(self.config.actions)
        if action == "history":
            return self.incident_flow.service is not None
        return True

    def action_declare(self) -> None:
        self.dialogs.declare()

    def action_triage(self) -> None:
        self.dialogs.triage()

    def action_add_entry(self) -> None:
        self.timeline_pane.input.focus()

    def action_severity(self) -> None:
        self.dialogs.severity()

    def action_status(self) -> None:
        self.dialogs.status()

    def action_assign(self) -> None:
        self.dialogs.assign()

    def action_impact(self) -> None:
        self.dialogs.impact()

    def action_take_command(self) -> None:
        self.dialogs.take_command()

    def action_draft(self) -> None:
        self.draft_pane.editor.focus()

    def action_snooze(self) -> None:
        self.dialogs.snooze()

    def action_ack_escalation(self) -> None:
        flow = self.incident_flow
        incident_id = flow.incident.id
        flow.write(lambda s: s.acknowledge_escalation(incident_id, flow.author), done="Escalation recorded")

    def action_notified(self) -> None:
        self.dialogs.notified()

    def action_file_followup(self) -> None:
        from warroom.tui.followup_tickets import file_followup

        file_followup(self, self.timeline.cursor_entry)

    def action_postmortem(self) -> None:
        if self.config is not None:
            self.dialogs.postmortem()

    def action_runbooks(self) -> None:
        flow = self.incident_flow
        books = self.runbook_flow.for_incident(flow.incident) if self.config is not None else []
        if not books:
            services = ", ".join(flow.incident.services) or "no service named"
            self.say(f"No runbook for this incident's services ({services}); "
                     "`warroom runbook list` shows those found", "warning")
            return
        if len(books) == 1:
            self.open_runbook(books[0].name)
            return
        from warroom.tui.modals import PickerScreen

        choices = [(b.name, f"{b.name}: {b.title}") for b in books]
        self.push_screen(PickerScreen("Runbooks for this incident", choices),
                         lambda name: self.open_runbook(name) if name else None)

    @guarded("the runbook")
    def open_runbook(self, name: str) -> None:
        from warroom.tui.runbook_screen import RunbookScreen

        runbook = self.runbook_flow.library.get(name)
        incident = self.incident_flow.incident
        progress = incident.runbooks.get(name)
        if (progress is None or not progress.in_use) and not self.read_only:
            self.runbook_flow.opened(name)  # its escalation rule now applies to this incident
        rows = self.runbook_flow.rows(runbook, incident)
        self.push_screen(RunbookScreen(name, f"Runbook {name}: {runbook.title}", rows,
                                       self.runbook_flow.escalation_line(runbook), read_only=self.read_only),
                         lambda answer: self.runbook_answer(name, answer))

    def on_runbook_screen_marked(self, event) -> None:
        self.runbook_answer(event.runbook, (event.what, event.row))

    def refresh_runbook_screen(self) -> None:
        """The open runbook screen's rows, as the journal now has them."""
        screen = self.screen
        name = getattr(screen, "runbook", None)
        if name is None or self.runbook_flow.config is None or name not in self.runbook_flow.library.runbooks:
            return
        screen.show_rows(self.runbook_flow.rows(self.runbook_flow.library.get(name), self.incident_flow.incident))

    @guarded("the runbook")
    def runbook_answer(self, name: str, answer: tuple[str, str] | None) -> None:
        if not answer:
            return
        what, row = answer
        kind, _, number = row.partition(":")
        if what == "escalated":
            self.runbook_flow.acknowledge(self.incident_flow.incident, self.incident_flow.now(), name)
        elif what in ("done", "skip"):
            self.runbook_flow.tick(name, int(number), skip=what == "skip")
        elif kind == "step":
            self.runbook_flow.run(name, int(number))
        elif kind == "option":
            action = self.runbook_flow.take_option(name, int(number))
            if action is not None:
                self.mitigation_flow.request(action)

    def action_history(self) -> None:
        self.dialogs.history()

    def action_actions(self) -> None:
        self.dialogs.mitigations()

    def action_mitigate(self, index: int) -> None:
        """The configuration's action number ``index`` (its key's binding)."""
        assert self.config is not None  # check_action: no mitigation before the config
        self.mitigation_flow.request(self.config.actions[index].name)

    def action_filter(self) -> None:
        self.dialogs.filter()

    def action_search(self) -> None:
        self.dialogs.search()

    def action_focus_pane(self, index: int) -> None:
        pane = self.screen_stack[0].query_one(f"#{PANE_ORDER[index]}", Pane)
        for widget in pane.query("*"):
            if widget.focusable:
                widget.focus()
                return

    def action_maximize(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        node = self.focused
        while node is not None and not isinstance(node, Pane):
            node = node.parent
        if node is not None:
            self.screen.maximize(node, container=False)

    def action_help(self) -> None:
        from warroom.tui.modals import HelpScreen

        self.push_screen(HelpScreen(self.read_only, self.keymap))


class _LogFile(io.TextIOBase):
    """A text stream into the failure log: what Textual would print on the terminal when an
    unexpected error ends the app (a rich traceback) goes to the log file instead. Textual
    prints it after the app has stopped (the event loop is done): written directly."""

    def __init__(self, log: FailureLog) -> None:
        self.log = log

    def write(self, text: str) -> int:
        try:
            self.log.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log.path, "a", encoding="utf-8") as handle:
                handle.write(text)
        except OSError:
            pass  # no state directory: the CLI's one line still says the console stopped
        return len(text)

    def isatty(self) -> bool:
        return False

