"""The console's keys that change the incident (declare, severity, status with the resolve
checklist, assign, impact, snooze, escalation) and the view keys (draft, postmortem,
filter, search, focus, maximise, help). Mixed into WarroomApp; each change goes through
``write`` and comes back through the journal watcher."""

from __future__ import annotations

from pathlib import Path

from warroom import lazy
from warroom.domain.incident import Incident, Status
from warroom.domain.timeline import Kind
from warroom.errors import WarroomError
from warroom.tui.panes import Pane

# Imported on first use, after the first frame (the dialogs; jinja2 under the postmortem).
modals = lazy.module("warroom.tui.modals")
postmortem = lazy.module("warroom.comms.postmortem")

PANE_ORDER = ("health-pane", "timeline-pane", "roles-pane", "draft-pane")


class IncidentKeys:
    """Methods of WarroomApp bound to keys (see the module docstring)."""

    def action_declare(self) -> None:
        if self.service is None:
            return
        levels = [(lvl.name, f"{lvl.name}  {lvl.title}: {lvl.description}") for lvl in self.service.policy.levels]

        def chosen(answer: tuple[str, str, str] | None) -> None:
            if answer:
                self.run_worker(self.declare(*answer), group="declare", exclusive=True, exit_on_error=False)

        self.push_screen(modals.DeclareScreen(levels), chosen)

    async def declare(self, title: str, severity: str, impact: str) -> None:
        assert self.service is not None
        try:
            entry = await self.service.declare(title, severity, self.options.author, impact=impact)
        except WarroomError as exc:
            self.say(str(exc), "error")
            return
        self.options.incident_id = entry.incident_id
        self.incident = Incident(id=entry.incident_id)
        self.say(f"Declared {self.service.key(entry.incident_id)}")
        self.load()

    def action_add_entry(self) -> None:
        self.timeline_pane.input.focus()

    def action_severity(self) -> None:
        if self.service is None:
            return
        policy = self.service.policy
        options = [(lvl.name, f"{lvl.name}  {lvl.title}: {lvl.description}") for lvl in policy.levels]

        def chosen(name: str | None) -> None:
            if name and name != self.incident.severity:
                self.write(lambda s: s.set_severity(self.incident.id, name, self.options.author))

        self.push_screen(modals.PickerScreen(f"Severity ({policy.name})", options, self.incident.severity),
                         chosen)

    def action_status(self) -> None:
        options = [(s.value, s.value) for s in Status]

        def chosen(status: str | None) -> None:
            if not status or status == self.incident.status.value:
                return
            if status == Status.RESOLVED.value:
                self.confirm_resolve()
            else:
                self.write(lambda s: s.set_status(self.incident.id, status, self.options.author,
                                                  reopen=True))

        self.push_screen(modals.PickerScreen("Status", options, self.incident.status.value), chosen)

    def confirm_resolve(self) -> None:
        level = self.service.level(self.incident) if self.service else None

        def chosen(ticked: dict[str, bool] | None) -> None:
            if ticked is None:
                return
            self.write(lambda s: s.set_status(self.incident.id, Status.RESOLVED.value, self.options.author,
                                              checklist=ticked),
                       done="Resolved. The resolution notice is in the Update pane")
            self.draft_pane.select_template("resolution")

        self.push_screen(modals.ResolveScreen(postmortem.resolve_checklist(level)), chosen)

    def action_assign(self) -> None:
        def chosen(answer: tuple[str, str, bool] | None) -> None:
            if answer:
                role, person, remove = answer
                self.write(lambda s: s.assign(self.incident.id, role, person, self.options.author,
                                              remove=remove))

        self.push_screen(modals.AssignScreen(self.options.author), chosen)

    def action_impact(self) -> None:
        def chosen(answer: tuple[str, list[str]] | None) -> None:
            if answer:
                impact, services = answer
                self.write(lambda s: s.set_impact(self.incident.id, self.options.author,
                                                  impact=impact or None, services=services))

        self.push_screen(modals.ImpactScreen(self.incident.impact, self.incident.services), chosen)

    def action_draft(self) -> None:
        self.draft_pane.editor.focus()

    def action_snooze(self) -> None:
        if self.timer().update_due is None:
            self.say("No update cadence at this severity: nothing to snooze")
            return

        def chosen(minutes: str | None) -> None:
            if minutes:
                self.write(lambda s: s.snooze(self.incident.id, int(minutes), self.options.author),
                           done=f"Update reminder snoozed {minutes} min")

        choices = [("5", "5 minutes"), ("10", "10 minutes")]
        self.push_screen(modals.PickerScreen("Snooze the update reminder", choices), chosen)

    def action_ack_escalation(self) -> None:
        self.write(lambda s: s.acknowledge_escalation(self.incident.id, self.options.author),
                   done="Escalation acknowledged")

    def action_postmortem(self) -> None:
        if self.service is None:
            return
        key = self.service.key(self.incident)
        text = postmortem.postmortem_markdown(self.incident, self.entries, key=key,
                                              level=self.service.level(self.incident), now=self.now())
        path = self.options.output_dir / f"{key}-postmortem.md"

        def saved(target: Path | None) -> None:
            if target is not None:
                self.save_file(target, text)

        self.push_screen(modals.TextScreen(f"Postmortem draft: {key}", text, save_path=path), saved)

    def action_filter(self) -> None:
        options = [("all", "all kinds")] + [(k.value, k.value) for k in Kind]

        def chosen(kind: str | None) -> None:
            view = self.timeline
            if kind == "all":
                view.filter_kinds = None
            elif kind:
                view.filter_kinds = frozenset({Kind(kind)})

        self.push_screen(modals.PickerScreen("Show only", options), chosen)

    def action_search(self) -> None:
        view = self.timeline

        def chosen(term: str | None) -> None:
            if term is not None:
                view.search = term

        self.push_screen(modals.InputScreen("Search the timeline (empty clears)", view.search), chosen)

    def action_focus_pane(self, index: int) -> None:
        pane = self.part(f"#{PANE_ORDER[index]}", Pane)
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
        self.push_screen(modals.HelpScreen(self.read_only, self.keymap))
