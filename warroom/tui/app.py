"""The war-room console: the IC's (or a scribe's) full-screen view of one incident.

Everything it changes goes through the journal; everything it shows is derived from the
journal plus the clock, so two consoles agree within the watcher's delay and a restarted
console is exactly where it was. Journal I/O runs in workers that post messages.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable

from textual import on, work
from textual.app import App, ComposeResult
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Static

from warroom import lazy
from warroom.comms import TEMPLATE_NAMES
from warroom.config.startup import StartupSettings, settings_of
from warroom.domain.cadence import Timer
from warroom.domain.incident import Incident, fold
from warroom.domain.prompts import Prompt, PromptTracker
from warroom.domain.timeline import Entry, Kind
from warroom.errors import WarroomError
from warroom.files import atomic_write
from warroom.service import Clock, IncidentService, system_clock
from warroom.store import open_journal
from warroom.text import safe_text
from warroom.tui import registry
from warroom.tui.header import IncidentHeader
from warroom.tui.health import HealthPane, health_summary
from warroom.tui.incident_keys import IncidentKeys
from warroom.tui.keymap import load as load_keymap
from warroom.tui.health_flow import HealthFlow
from warroom.tui.mitigation_flow import MitigationFlow
from warroom.tui.panes import DraftPane, RolesPane, TimelinePane
from warroom.tui.timeline_view import TimelineView
from warroom.tui.themes import DEFAULT_THEME, REQUIRED_VARIABLES, discover

if TYPE_CHECKING:
    from warroom.actions.runner import ActionRunner
    from warroom.checks.runner import Runner
    from warroom.config import Config

# Needed only after the first frame (jinja2, the dialogs, the entry syntax): imported on first use.
templates = lazy.module("warroom.comms.templates")
modals = lazy.module("warroom.tui.modals")
quick_entry = lazy.module("warroom.tui.quick_entry")

STYLES = Path(__file__).resolve().parent / "styles"
STATE_CHANGES = frozenset({Kind.DECLARE, Kind.SEVERITY, Kind.STATUS, Kind.ROLE, Kind.IMPACT})


@dataclass
class ConsoleOptions:
    store_url: str
    incident_id: int | None
    """None: no incident yet (a drill): the console watches health until one is declared."""
    config: Config | None
    """The validated configuration; None: ``load_config`` validates it straight after the
    first frame (the first frame needs only ``settings``)."""
    author: str
    seat: str = "ic"
    """"ic" gets the timer prompts; "scribe" starts in the timeline input."""
    read_only: bool = False
    theme: str | None = None
    clock: Clock = system_clock
    watch_interval: float = 0.2
    output_dir: Path = field(default_factory=Path.cwd)
    theme_dirs: list[Path] | None = None
    welcome: str | None = None
    """Shown once the console is up (the demo's short guide to the keys)."""
    settings: StartupSettings | None = None
    """What the first frame needs (warroom.config.startup); from ``config`` when None."""
    load_config: Callable[[], Config] | None = None
    """Validates the configuration when ``config`` is None; a WarroomError ends the console."""
    initial: Incident | None = None
    """The incident's state as read before start, so the first frame already shows it."""
    keymap_file: Path | None = None
    """The keymap (binding id -> keys); None: keymap.toml in the config directory."""


class EntriesArrived(Message):
    """New journal entries (from this console or any other writer), in journal order."""

    def __init__(self, entries: list[Entry]) -> None:
        super().__init__()
        self.entries = entries


class StateLoaded(Message):
    def __init__(self, service: IncidentService, incident: Incident) -> None:
        super().__init__()
        self.service = service
        self.incident = incident


class Loaded(Message):
    def __init__(self, service: IncidentService, entries: list[Entry]) -> None:
        super().__init__()
        self.service = service
        self.entries = entries


class ConfigReady(Message):
    """The whole configuration is validated: the checks and actions can start."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config


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


class WarroomApp(IncidentKeys, HealthFlow, MitigationFlow, App):
    CSS_PATH = [STYLES / "app.tcss"]
    BINDINGS = registry.bindings()
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    TITLE = "warroom"

    def __init__(self, options: ConsoleOptions) -> None:
        super().__init__()
        self.options = options
        self.keymap = load_keymap(options.keymap_file)  # a bad file: ConfigError, before any frame
        self.set_keymap(self.keymap)
        self.config = options.config
        """None until validated (after the first frame); checks and actions wait for it."""
        self.settings = options.settings or settings_of(options.config)
        self.read_only = options.read_only
        self.clock = options.clock
        self.service: IncidentService | None = None
        """The journal's service, once the console has opened it."""
        # The policy and the key format, without a journal: the header of the first frame.
        self.rules = IncidentService(None, self.settings.policy, clock=self.clock,
                                     prefix=self.settings.id_prefix)
        self.incident = options.initial or Incident(id=options.incident_id or 0)
        self.state_known = options.initial is not None
        self.failure: BaseException | None = None
        """Why the console ended itself (the CLI reports it as one line)."""
        self.timeline_drawn = asyncio.Event()
        """Set once the loaded timeline is on screen: the config's validation waits for it."""
        self.entries: list[Entry] = []
        self.prompts = PromptTracker()
        self.theme_warnings: list[str] = []
        self.runner: Runner | None = None
        self.actions: ActionRunner | None = None
        self.draft_stale = False
        self.register_themes()

    def part(self, selector, expect_type=None):
        """A widget of the console's own screen, even while a modal screen is on top."""
        base = self.screen_stack[0]
        return base.query_one(selector, expect_type) if expect_type else base.query_one(selector)

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
        self.health_pane = HealthPane(self.settings.checks, id="health-pane")
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
        wanted = self.options.theme or self.settings.theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            self.theme_warnings.append(f"theme {wanted!r} not found; using {DEFAULT_THEME}")
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self.theme = wanted

    def on_mount(self) -> None:
        for warning in self.theme_warnings:
            self.say(warning, "warning")
        self.banner.display = False
        self.refresh_state(roles=True)  # the state read before start, if any

    async def on_unmount(self) -> None:
        gc.unfreeze()  # an app run inside a longer process (tests, the demo) leaves nothing pinned
        # Clients of checks and actions hold connections (aiohttp, asyncpg, redis): close
        # them here, whatever state their workers were cancelled in.
        for closer in (self.actions, self.runner):
            if closer is not None:
                await closer.close()

    async def on_ready(self) -> None:
        # The first frame (the header, the panes' frames) is on the terminal: now what is
        # inside the panes, then the journal, so the IC sees the incident at once even when
        # a long journal takes a moment to load.
        gc.freeze()  # start-up's objects live as long as the console: out of the collector's way
        gc.enable()  # (the CLI turns it off until this first frame)
        for pane in (self.timeline_pane, self.health_pane, self.roles_pane, self.draft_pane):
            await pane.populate()
        if self.options.welcome:
            self.notify(self.options.welcome, title="warroom", timeout=30, markup=False)
        self.load()
        self.set_interval(1.0, self.tick)

    # -- talking to the journal -----------------------------------------------------------

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load(self) -> None:
        journal = await open_journal(self.options.store_url)
        service = IncidentService(journal, self.settings.policy, clock=self.clock,
                                  prefix=self.settings.id_prefix)
        if self.options.incident_id is None:
            self.post_message(Loaded(service, []))
        else:
            initial = self.options.initial
            if initial is None or initial.id != self.options.incident_id:
                # The header first (state entries only: fast at any size), then the timeline;
                # a console started by the CLI already has the state (options.initial).
                state = copy.deepcopy(await service.state(self.options.incident_id))
                self.post_message(StateLoaded(service, state))
            self.post_message(Loaded(service, await journal.entries(self.options.incident_id)))
        config = self.config
        if config is None:
            assert self.options.load_config is not None
            # pydantic and the models, ~0.2 s: once the timeline is drawn (not competing with
            # it), in a thread, so keys pressed meanwhile are handled (see ConsoleOptions).
            await self.timeline_drawn.wait()
            config = await asyncio.to_thread(self.options.load_config)
        self.post_message(ConfigReady(config))

    def on_state_loaded(self, message: StateLoaded) -> None:
        if self.entries:
            return  # the full load won the race
        self.service = message.service
        self.incident = message.incident
        self.state_known = True
        self.refresh_state(roles=True)

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def watch_journal(self, after_id: int) -> None:
        assert self.service is not None
        async for batch in self.service.journal.watch(self.options.incident_id, after_id=after_id,
                                                      interval=self.options.watch_interval):
            self.post_message(EntriesArrived(batch))

    def on_loaded(self, message: Loaded) -> None:
        self.service = message.service
        self.state_known = True
        self.call_after_refresh(self.timeline_drawn.set)
        if self.options.incident_id is None:
            self.refresh_state()
            self.say("No incident declared yet: watch the Health pane, and press D to declare one")
            return
        self.entries = list(message.entries)
        self.incident = fold(self.options.incident_id, self.entries)
        self.timeline.set_entries(self.entries)
        # The timeline's entries live as long as the console: a gen-2 collection walking
        # 100,000 of them took 130-210 ms of loop time (bench/ui_lag.py); frozen, under 8 ms.
        gc.freeze()
        self.refresh_state(roles=True)
        self.refill_draft()
        self.watch_journal(self.incident.last_entry_id)
        if self.options.seat == "scribe" and not self.read_only:
            self.timeline_pane.input.focus()
        else:
            self.timeline.focus()

    def on_config_ready(self, message: ConfigReady) -> None:
        self.config = message.config
        # Checks and actions import their client libraries: after this frame is drawn.
        self.call_after_refresh(self.start_checks)
        self.call_after_refresh(self.start_actions)

    def on_entries_arrived(self, message: EntriesArrived) -> None:
        fresh = [e for e in message.entries if e.id > self.incident.last_entry_id]
        if not fresh:
            return
        for entry in fresh:
            self.incident.apply(entry)
        self.entries.extend(fresh)
        self.timeline.add_entries(fresh)
        changed = any(e.kind in STATE_CHANGES for e in fresh)
        self.refresh_state(roles=changed)
        if any(e.kind is Kind.UPDATE for e in fresh):
            self.draft_pane.edited = False
            self.refill_draft()
        else:
            # Redrawing the draft costs a pass over the incident: at most once a second
            # (tick), however fast entries arrive.
            self.draft_stale = True

    def on_worker_state_changed(self, event) -> None:
        worker = event.worker
        if worker.error is not None and worker.group in {"load", "watch"}:
            # Reported by the CLI once the terminal is restored: one line, never markup.
            self.failure = worker.error
            self.exit(return_code=2)

    def write(self, operation: Callable[[IncidentService], Awaitable[object]], done: str | None = None) -> None:
        """Run a journal write in a worker; the watcher brings the result back."""
        if self.read_only:
            self.say("This console is read-only: nothing was changed", "warning")
            return
        if self.service is None:
            self.say("Still loading the journal; try again in a moment", "warning")
            return
        service = self.service

        async def run() -> None:
            try:
                await operation(service)
            except WarroomError as exc:
                self.say(str(exc), "error")
            else:
                if done:
                    self.say(done)

        self.run_worker(run(), group="write", exit_on_error=False)

    # -- derived display ------------------------------------------------------------------

    def say(self, text: str, severity: str = "information") -> None:
        """A toast with untrusted text shown literally."""
        self.notify(safe_text(text), severity=severity, markup=False)

    def now(self) -> datetime:
        return self.clock()

    def timer(self) -> Timer:
        if not self.state_known:
            return Timer(now=self.now(), update_due=None, escalation_due=None)
        return self.rules.timer(self.incident, self.now())

    def refresh_state(self, *, roles: bool = False) -> None:
        if not self.state_known or not self.screen_stack or not self.screen_stack[0].is_attached:
            return  # not loaded yet, or shutting down
        now = self.now()
        if self.options.incident_id is None:
            health, worst = health_summary(self.runner.latest.values() if self.runner else ())
            self.header.undeclared(health, worst.value if worst else "none")
            return
        rules = self.rules
        timer = rules.timer(self.incident, now)
        level = rules.level(self.incident)
        seat = self.options.seat.upper() + (" · READ-ONLY" if self.read_only else "")
        health, worst = health_summary(self.runner.latest.values() if self.runner else ())
        self.header.show(self.incident, rules.key(self.incident), level,
                         timer, now, seat, health, worst.value if worst else "none")
        self.show_banner(timer)
        if roles:
            self.roles_pane.show(self.incident, level.required_roles if level else ())

    def show_banner(self, timer: Timer) -> None:
        lines = []
        overdue = timer.update_overdue_by
        if self.incident.open and overdue is not None:
            lines.append(f"STATUS UPDATE OVERDUE by {int(overdue.total_seconds() // 60)} min: "
                         "post it (u, then ctrl+o) or snooze (z)")
        if self.incident.open and timer.escalation_overdue_by is not None:
            lines.append("ESCALATE: not mitigated within the severity's window. Acknowledge with e")
        banner = self.banner
        banner.display = bool(lines)
        self.draft_pane.set_class(self.incident.open and overdue is not None, "-due")
        banner.update(Content("\n".join(lines)))

    def tick(self) -> None:
        """Every second: the header clock, the banner, check ages and the timer prompts."""
        if self.service is None:
            return
        self.refresh_state()
        if self.draft_stale:
            self.draft_stale = False
            self.refill_draft()
        if self.runner is not None:
            self.health_pane.show_ages(self.runner.latest, self.now())
        if self.options.seat != "ic" or self.read_only or not self.incident.open:
            return
        for prompt, detail in self.prompts.due(self.timer()):
            self.raise_prompt(prompt, detail)

    def raise_prompt(self, prompt: Prompt, detail: str) -> None:
        if prompt is Prompt.UPDATE_SOON:
            self.notify("Status update due in 2 minutes", title="Update", timeout=8, markup=False)
        elif prompt is Prompt.UPDATE_DUE:
            self.bell()
            self.notify("Status update due now: the draft is ready (u to edit, then ctrl+o to mark it posted)",
                        title="Update due", severity="warning", timeout=15, markup=False)
            # The draft is filled and flagged, but the keyboard stays where it was: letters
            # typed for another purpose must never land in the update.
            draft = self.draft_pane
            draft.select_template("internal-update")
            self.refill_draft()
        elif prompt is Prompt.ESCALATION_DUE:
            self.bell()
            self.notify("Not mitigated within the severity's escalation window: escalate, then press e",
                        title="Escalate", severity="error", timeout=20, markup=False)
        elif prompt is Prompt.NOTIFY_DUE:
            self.notify(f"Time to notify {detail}", title="Notify", severity="warning", markup=False)

    def template_context(self) -> dict:
        assert self.service is not None
        now = self.now()
        return templates.build_context(self.incident, self.entries, key=self.service.key(self.incident),
                                       level=self.service.level(self.incident), timer=self.timer(), now=now)

    def refill_draft(self, *, force: bool = False) -> None:
        if self.service is None:
            return
        draft = self.draft_pane
        if draft.edited and not force:
            return
        rendered = templates.render(draft.template, self.template_context(),
                                    user_dir=templates.default_user_dir())
        draft.fill(rendered.text, force=force)
        number = self.incident.updates_posted
        draft.set_status(f"{draft.template} · {number} posted" + (
            f" · last {self.incident.last_update_at:%H:%M} UTC" if self.incident.last_update_at else ""))
        if rendered.warning:
            self.say(rendered.warning, "warning")

    # -- the draft pane -------------------------------------------------------------------

    @on(DraftPane.Requested)
    def draft_request(self, event: DraftPane.Requested) -> None:
        key = self.service.key(self.incident) if self.service else "incident"
        if event.what == "refill":
            self.refill_draft(force=True)
        elif event.what == "leave":
            self.timeline.focus()
        elif event.what == "post":
            text = event.text
            self.write(lambda s: s.post_update(self.incident.id, text, self.options.author,
                                               template=event.template),
                       done="Update marked posted: the timer restarts")
        elif event.what == "diff":
            previous = next((e.text for e in reversed(self.entries) if e.kind is Kind.UPDATE), None)
            self.push_screen(modals.TextScreen("Draft against the last posted update",
                                                templates.diff_updates(previous, event.text)))
        elif event.what == "copy":
            self.copy_to_clipboard(event.text)
            self.say("Draft copied to the clipboard (OSC 52)")
        elif event.what == "save":
            path = self.options.output_dir / f"{key}-update-{self.incident.updates_posted + 1}.md"
            self.save_file(path, event.text)

    def save_file(self, path: Path, text: str) -> None:
        try:
            atomic_write(path, text)
        except WarroomError as exc:
            self.say(str(exc), "error")
        else:
            self.say(f"Saved {path}")

    def on_timeline_view_selected(self, event: TimelineView.Selected) -> None:
        """Enter on an entry: the whole of it (an evidence capture, a long note) and its data."""
        entry = event.entry
        body = entry.data.get("text") if isinstance(entry.data.get("text"), str) else ""
        data = {k: v for k, v in entry.data.items() if k != "text"}
        text = "\n".join(part for part in (
            entry.text, body, json.dumps(data, indent=2, default=str, ensure_ascii=False) if data else "") if part)
        title = f"#{entry.id} {entry.kind.value} by {entry.author} at {entry.ts:%Y-%m-%d %H:%M:%S} UTC"
        self.push_screen(modals.TextScreen(safe_text(title), safe_text(text)))

    # -- timeline input -------------------------------------------------------------------

    @on(TimelinePane.Submitted)
    def add_line(self, event: TimelinePane.Submitted) -> None:
        try:
            quick = quick_entry.parse_quick_entry(event.line)
        except ValueError as exc:
            self.say(str(exc), "warning")
            return
        self.timeline_pane.input.value = ""
        author = self.options.author
        incident_id = self.incident.id
        if quick.kind is Kind.FOLLOWUP:
            self.write(lambda s: s.followup(incident_id, quick.text, quick.owner or author, quick.due, author))
        else:
            self.write(lambda s: s.log(incident_id, quick.text, author, kind=quick.kind))

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in registry.MUTATING and self.read_only:
            return False
        if action == "declare":
            return self.options.incident_id is None
        if self.options.incident_id is None and action in registry.MUTATING:
            return False  # nothing to change before an incident exists
        if action == "ack_escalation":
            return self.timer().escalation_overdue_by is not None
        if action == "actions":
            return self.settings.has_actions
        return True
