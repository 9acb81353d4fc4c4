"""The dialogs behind the console's keys: each opens a modal screen and hands the answer to
the incident flow as a journal write. They show and ask; they keep no state of their own."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.comms import postmortem
from warroom.domain.incident import Status
from warroom.domain.resolution import resolve_checklist, unmet
from warroom.domain.roles import Role
from warroom.domain.timeline import Kind
from warroom.domain.triage import Triage, suggest
from warroom.comms.targets import target_verdict_lines
from warroom.tui import modals

if TYPE_CHECKING:
    from warroom.tui.app import WarroomApp


class IncidentDialogs:
    def __init__(self, app: WarroomApp) -> None:
        self.app = app
        self.flow = app.incident_flow

    def _levels(self) -> list[tuple[str, str]]:
        assert self.flow.config is not None
        return [(lvl.name, f"{lvl.name}  {lvl.title}: {lvl.description}")
                for lvl in self.flow.config.policy.levels]

    def declare(self, found: Triage | None = None) -> None:
        """The declare dialog; after a triage, pre-filled from it with its suggestion."""
        prefill: dict[str, str | None] = {}
        if found is not None:
            assert self.flow.config is not None
            level = suggest(self.flow.config.policy, found)
            prefill = {"title": found.broken, "impact": f"{found.users} of users" if found.users else "",
                       "severity": level.name if level else None,
                       "why": (f"Suggested {level.name}: users affected {found.users or '?'}, "
                               f"service {found.service or '?'}") if level else ""}

        def chosen(answer: tuple[str, str, str] | None) -> None:
            if answer:
                self.flow.declare(*answer, triage=found)

        self.app.push_screen(modals.DeclareScreen(self._levels(), **prefill), chosen)

    def triage(self) -> None:
        """The first five minutes' questions; before an incident exists they lead to the
        declare dialog (a false alarm declares nothing), after, they are journaled."""
        flow = self.flow

        def answered(found: Triage | None) -> None:
            if found is None:
                return
            if flow.incident_id is not None:
                incident_id = flow.incident_id
                flow.write(lambda s: s.record_triage(incident_id, found, flow.author), done="Triage journaled")
            elif found.real == "false alarm":
                self.app.say("A false alarm: nothing declared")
            else:
                self.declare(found)

        self.app.push_screen(modals.TriageScreen(), answered)

    def severity(self) -> None:
        flow = self.flow
        assert flow.config is not None

        def chosen(name: str | None) -> None:
            if name and name != flow.incident.severity:
                incident_id = flow.incident.id
                flow.write(lambda s: s.set_severity(incident_id, name, flow.author))

        self.app.push_screen(modals.PickerScreen(f"Severity ({flow.config.policy.name})", self._levels(),
                                                 flow.incident.severity), chosen)

    def status(self) -> None:
        flow = self.flow
        options = [(s.value, s.value) for s in Status]

        def chosen(status: str | None) -> None:
            if not status or status == flow.incident.status.value:
                return
            if status == Status.RESOLVED.value:
                self.resolve()
            else:
                incident_id = flow.incident.id
                flow.write(lambda s: s.set_status(incident_id, status, flow.author, reopen=True))

        self.app.push_screen(modals.PickerScreen("Status", options, flow.incident.status.value), chosen)

    def resolve(self) -> None:
        flow = self.flow

        def chosen(answer: tuple[dict[str, bool], str] | None) -> None:
            if answer is None:
                return
            ticked, reason = answer
            incident_id = flow.incident.id
            flow.write(lambda s: s.set_status(incident_id, Status.RESOLVED.value, flow.author,
                                              checklist=ticked, force=reason or None),
                       done="Resolved. The resolution notice is in the Update pane")
            self.app.draft_pane.select_template("resolution")

        level = flow.level()
        window = unmet(flow.incident, level, {}, flow.now())
        self.app.push_screen(modals.ResolveScreen(resolve_checklist(level), "; ".join(window),
                                                  self._targets_if_resolved()), chosen)

    def _targets_if_resolved(self) -> list[str]:
        """The four measures against their targets as they stand if resolved now."""
        flow = self.flow
        rules = flow.rules
        if rules is None:
            return []
        now = flow.now()
        resolved = dataclasses.replace(flow.incident, status=Status.RESOLVED, resolved_at=now,
                                       mitigated_at=flow.incident.mitigated_at or now)
        held_to = rules.target_level(resolved)
        return target_verdict_lines(rules.verdicts(resolved), held_to.name if held_to else None)

    def assign(self) -> None:
        flow = self.flow

        def chosen(answer: tuple[str, str, bool] | None) -> None:
            if answer:
                role, person, remove = answer
                incident_id = flow.incident.id
                flow.write(lambda s: s.assign(incident_id, role, person, flow.author, remove=remove))

        self.app.push_screen(modals.AssignScreen(flow.author), chosen)

    def take_command(self) -> None:
        flow = self.flow

        def chosen(reason: str | None) -> None:
            if reason and reason.strip():
                incident_id = flow.incident.id
                flow.write(lambda s: s.take_command(incident_id, flow.author, reason))

        holder = ", ".join(flow.incident.holders(Role.IC)) or "no one"
        self.app.push_screen(modals.InputScreen(
            f"Take command from {holder}: why? (journaled, shown to every console)",
            placeholder="e.g. IC unreachable for 10 minutes"), chosen)

    def impact(self) -> None:
        flow = self.flow

        def chosen(answer: tuple[str, list[str]] | None) -> None:
            if answer:
                impact, services = answer
                incident_id = flow.incident.id
                flow.write(lambda s: s.set_impact(incident_id, flow.author, impact=impact or None,
                                                  services=services))

        self.app.push_screen(modals.ImpactScreen(flow.incident.impact, flow.incident.services), chosen)

    def notified(self) -> None:
        flow = self.flow
        timer = flow.timer()
        pending = [(audience, f"{audience} (due {due:%H:%M} UTC)")
                   for audience, due in (timer.notifications_due if timer else ())]
        if not pending:
            self.app.say("No notification is waiting at this severity")
            return

        def chosen(audience: str | None) -> None:
            if audience:
                incident_id = flow.incident.id
                flow.write(lambda s: s.mark_notified(incident_id, audience, flow.author),
                           done=f"Notified {audience}")

        self.app.push_screen(modals.PickerScreen("Who was told?", pending), chosen)

    def snooze(self) -> None:
        flow = self.flow
        timer = flow.timer()
        if timer is None or timer.update_due is None:
            self.app.say("No update cadence at this severity: nothing to snooze")
            return

        def chosen(minutes: str | None) -> None:
            if minutes:
                incident_id = flow.incident.id
                flow.write(lambda s: s.snooze(incident_id, int(minutes), flow.author),
                           done=f"Update reminder snoozed {minutes} min")

        choices = [("5", "5 minutes"), ("10", "10 minutes")]
        self.app.push_screen(modals.PickerScreen("Snooze the update reminder", choices), chosen)

    def postmortem(self) -> None:
        flow = self.flow
        key = flow.key()
        rules = flow.rules
        runbooks = self.app.runbook_flow
        reviews = None
        if runbooks.config is not None:
            from warroom.runbooks.library import reviews as runbook_reviews

            reviews = runbook_reviews(runbooks.library, runbooks.config)
        text = postmortem.postmortem_markdown(flow.incident, flow.entries, key=key, level=flow.level(),
                                              now=flow.now(), runbooks=reviews,
                                              held_to=rules.target_level(flow.incident) if rules else True)
        path = self.app.options.output_dir / f"{key}-postmortem.md"

        def saved(target: Path | None) -> None:
            if target is not None:
                self.app.save_file(target, text)

        self.app.push_screen(modals.TextScreen(f"Postmortem draft: {key}", text, save_path=path), saved)

    def history(self) -> None:
        """The History screen: the journal's month in numbers, read in the screen's worker."""
        from warroom.comms.export import export_markdown
        from warroom.domain.report import build, month
        from warroom.tui.history import HistoryScreen

        flow = self.flow
        svc = flow.service
        if svc is None:
            return

        async def load(offset: int):
            now = flow.now()
            year, number = divmod(now.year * 12 + now.month - 1 + offset, 12)
            incidents, drills = await svc.all_states()
            return build(incidents, drills, month(year, number + 1), svc.policy, svc.key, now)

        async def open_text(key: str) -> tuple[str, str]:
            loaded = await svc.load(await svc.resolve(key))
            return f"{key} (read-only)", export_markdown(loaded.incident, key, loaded.entries)

        self.app.push_screen(HistoryScreen(load, open_text))

    def filter(self) -> None:
        view = self.app.timeline
        options = [("all", "all kinds")] + [(k.value, k.value) for k in Kind]

        def chosen(kind: str | None) -> None:
            if kind == "all":
                view.filter_kinds = None
            elif kind:
                view.filter_kinds = frozenset({Kind(kind)})

        self.app.push_screen(modals.PickerScreen("Show only", options), chosen)

    def search(self) -> None:
        view = self.app.timeline

        def chosen(term: str | None) -> None:
            if term is not None:
                view.search = term

        self.app.push_screen(modals.InputScreen("Search the timeline (empty clears)", view.search), chosen)

    def mitigations(self) -> None:
        app = self.app
        flow = app.mitigation_flow
        if flow.runner is None:
            app.say("No mitigations configured: add [[action]] tables to warroom.toml")
            return

        def chosen(name: str | None) -> None:
            if name:
                flow.request(name)

        app.push_screen(modals.PickerScreen("Mitigations", flow.menu(self.flow.incident, self.flow.entries)),
                        chosen)
