"""The demo's bad-deploy scenario, headless, with its shipped runbook: the api check goes
red, the runbook is offered, its rollout-history step runs (through the Kubernetes client,
against the simulated API) and is journaled, the rollback option runs through the action
runner, and the escalation rule falls due at 30 minutes if nothing is done."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.test_sim import SPEED, Console, loopback_only, until  # noqa: F401 (an autouse fixture)
from warroom.checks.base import State
from warroom.domain.timeline import Kind
from warroom.runbooks import flow
from warroom.runbooks.library import load_configured
from warroom.runbooks.steps import StepRefused, run_step
from warroom.sim.simulation import Simulation


async def test_bad_deploy_offers_its_runbook_runs_its_steps_and_escalates(tmp_path: Path):
    async with Simulation("bad-deploy", speed=SPEED) as sim:
        async with Console(sim, tmp_path) as console:
            service, incident_id = console.service, console.incident
            library = load_configured(console.config)
            assert library.warnings == [] and "high-error-rate" in library.runbooks
            runbook = library.get("high-error-rate")

            await until(lambda: console.state("api-5xx") is State.CRITICAL and
                        console.state("api-deploy") is State.CRITICAL, 20, "api-5xx and api-deploy to go red")
            offered = await flow.offer(service, incident_id, library, "api-5xx", "warroom")
            assert offered == ["high-error-rate"]
            # Offered once: the next critical check linked to it offers it no more.
            assert await flow.offer(service, incident_id, library, "api-deploy", "warroom") == []

            ran = await run_step(service, incident_id, runbook, 1, console.config, "alice")
            assert ran.ok, ran.output
            assert "$ kubectl rollout history deployment/api -n production" in ran.output
            assert "8 (current)  registry.example/api:v1.8.0" in ran.output
            assert "7            registry.example/api:v1.7.3" in ran.output
            status = await run_step(service, incident_id, runbook, 2, console.config, "alice")
            assert status.ok and "deployment.apps/api in production: revision 8" in status.output
            assert "CrashLoopBackOff" in status.output or "Error" in status.output

            # Pod CPU and memory from metrics.k8s.io, once the cluster serves them.
            latency = library.get("high-api-latency")
            pod = console.runner.latest["api-deploy"].details["pods"][0]["name"]
            top = await run_step(service, incident_id, latency, 4, console.config, "alice")
            assert not top.ok and "no metrics-server" in top.output
            sim.kube.set_pod_metrics("production", pod, {"api": {"cpu": "250m", "memory": "200Mi"}})
            sim.kube.set_node("node-a", usage={"cpu": "1200m", "memory": "3Gi"})
            top = await run_step(service, incident_id, latency, 4, console.config, "alice")
            assert top.ok and f"{pod}  250m  200Mi" in top.output
            assert "$ kubectl top nodes" in top.output and "node-a  1200m  3Gi" in top.output
            # Its database step names a check this scenario does not have: refused, nothing run.
            with pytest.raises(StepRefused, match="names no postgres check"):
                await run_step(service, incident_id, latency, 2, console.config, "alice")

            match = flow.option(runbook, 1, console.config)
            assert match.action == "rollback-api"
            executed, verified = await console.mitigate(match.action)
            await flow.record_option(service, incident_id, runbook, match, "alice")
            assert verified is True

            loaded = await service.load(incident_id)
            progress = loaded.incident.runbooks["high-error-rate"]
            assert [(t.step, t.event, t.by, t.result) for t in progress.runs] == [(1, "ran", "alice", "ok"),
                                                                                (2, "ran", "alice", "ok")]
            evidence = [e for e in loaded.entries if e.kind is Kind.EVIDENCE and e.data.get("runbook")]
            assert evidence[0].id == progress.steps[1].evidence
            assert evidence[0].data["text"] == ran.output
            assert progress.options[0][:2] == (1, "rollback-api")
            audits = [e for e in loaded.entries if e.kind is Kind.MITIGATION and e.data.get("result") == "ok"]
            assert audits and audits[0].id == executed.entry.id

            # Nothing resolved: the rule is due at 30 minutes after the declaration, not before.
            declared = loaded.incident.declared_at
            assert flow.escalations(library, loaded.incident, declared + timedelta(minutes=29, seconds=59)) == []
            due = {d.runbook: d for d in flow.escalations(library, loaded.incident, declared + timedelta(minutes=30))}
            assert sorted(due) == ["high-api-latency", "high-error-rate"]  # both were used
            assert due["high-error-rate"].contacts[0] == "Escalate to: @backend-team-lead"
            await flow.acknowledge(service, incident_id, due["high-error-rate"], "alice")
            after = (await service.load(incident_id)).incident
            assert after.runbooks["high-error-rate"].escalated_by == "alice"
            later = flow.escalations(library, after, declared + timedelta(hours=2))
            assert [d.runbook for d in later] == ["high-api-latency"]
