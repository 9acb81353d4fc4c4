"""kubectl itself as the conformance test of the simulated Kubernetes API: the real binary
(v1.32 here) drives a simulated cluster over HTTPS with a bearer token, and what it says
agrees with warroom's kubernetes check on the same objects; warroom's rollback and
`kubectl rollout undo` on twin clusters leave the same objects."""

from __future__ import annotations

import asyncio
import copy
import difflib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from warroom.actions.registry import build_action
from warroom.checks.kubernetes import KubernetesCheck
from warroom.config import models
from warroom.sim.kubeapi import KubeAPI
from warroom.sim.kubeobjects import make_deployment, make_replicaset
from warroom.sim.sample import FixedClock
from warroom.sim.scenario import parse_scenario, scenario_dir
from warroom.sim.simulation import Simulation

NS = "production"
KUBECTL = shutil.which("kubectl")
SCENARIO = re.sub(r"\[\[event\]\]\nat = [^\n]*\ndo = [^\n]*\n\n", "",
                  (scenario_dir() / "bad-deploy.toml").read_text())
BAD_IMAGE = "registry.example/api:v1.8.0"


@pytest.fixture(autouse=True)
def kubectl_present() -> None:
    if KUBECTL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl is not on PATH: CI installs Debian's kubernetes-client (.ci/run)")
        pytest.skip("kubectl is not on PATH: the simulator's kubectl conformance tests need the binary")


@pytest.fixture(autouse=True)
def no_proxy_nor_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(var, raising=False)


def scenario():
    parsed = parse_scenario(SCENARIO, "conformance.toml")
    assert not parsed.events  # a quiet cluster: only what the test does happens
    return parsed


class Kubectl:
    def __init__(self, kubeconfig: Path, home: Path) -> None:
        self.kubeconfig, self.home = kubeconfig, home
        home.mkdir(exist_ok=True)

    async def run(self, *args: str, ok: bool = True, timeout: float = 60) -> tuple[int, str, str]:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.home)}
        process = await asyncio.create_subprocess_exec(
            KUBECTL, "--kubeconfig", str(self.kubeconfig), "-n", NS, *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout)
        result = process.returncode, out.decode(), err.decode()
        if ok:
            assert result[0] == 0, f"kubectl {' '.join(args)}: {result[2]}"
        return result

    async def out(self, *args: str) -> str:
        return (await self.run(*args))[1]

    async def json(self, *args: str) -> Any:
        return json.loads(await self.out(*args, "-o", "json"))


async def sample(kubeconfig: Path):
    check = KubernetesCheck(models.KubernetesCheck(name="api-deploy", namespace=NS, deployment="api",
                                                   kubeconfig=kubeconfig))
    try:
        return await check.probe()
    finally:
        await check.close()


async def test_get_describe_and_history_agree_with_the_check(tmp_path: Path):
    async with Simulation(scenario(), speed=60) as sim:
        kubectl = Kubectl(sim.endpoints.kubeconfig, tmp_path / "home")
        await sim.settled()
        table = await kubectl.out("get", "deploy,rs,pods")
        probe = await sample(sim.endpoints.kubeconfig)
        details = probe.details
        assert re.search(rf"deployment.apps/api\s+{details['ready']}/{details['desired']}\s+"
                         rf"{details['updated']}\s+{details['available']}\s", table), table
        for entry in details["history"]:
            assert re.search(rf"replicaset.apps/{entry['name']}\s+{entry['replicas']}\s+\d+\s+{entry['ready']}\s",
                             table), table
        for pod in details["pods"]:
            assert re.search(rf"pod/{pod['name']}\s+1/1\s+Running\s+{pod['restarts']}\s", table), table
        history = await kubectl.out("rollout", "history", "deployment/api")
        assert [int(r) for r in re.findall(r"^(\d+)\s", history, re.M)] == \
            [h["revision"] for h in details["history"]] == [6, 7]
        assert "deploy registry.example/api:v1.7.3" in history  # the change-cause column
        described = await kubectl.out("describe", "deploy", "api")
        current = next(h for h in details["history"] if h["revision"] == details["revision"])
        assert f"NewReplicaSet:   {current['name']} ({details['ready']}/{details['desired']} replicas created)" \
            in described
        assert "Progressing    True    NewReplicaSetAvailable" in described
        assert f"Replicas:               {details['desired']} desired" in described
        wide = await kubectl.out("get", "deploy", "api", "-o", "wide")
        assert current["images"][0] in wide and "app=api" in wide


async def test_rollout_restart_pause_set_env_resume_scale_undo(tmp_path: Path):
    async with Simulation(scenario(), speed=60) as sim:
        kubeconfig = sim.endpoints.kubeconfig
        kubectl = Kubectl(kubeconfig, tmp_path / "home")

        await kubectl.run("rollout", "restart", "deployment/api")
        await kubectl.run("rollout", "status", "deployment/api", "--timeout=60s")
        probe = await sample(kubeconfig)
        assert probe.details["revision"] == 8 and probe.details["rollout_phase"] == "complete"
        assert "8 " in await kubectl.out("rollout", "history", "deployment/api")

        await kubectl.run("rollout", "pause", "deployment/api")
        await kubectl.run("set", "env", "deployment/api", "FEATURE_X=off")
        await sim.settled()
        sets = await kubectl.json("get", "rs")
        assert len(sets["items"]) == 3, "a paused Deployment gets no new ReplicaSet"
        probe = await sample(kubeconfig)
        assert probe.details["paused"] is True and "rollout paused" in probe.summary
        assert "DeploymentPaused" in await kubectl.out("describe", "deploy", "api")

        await kubectl.run("rollout", "resume", "deployment/api")
        await kubectl.run("rollout", "status", "deployment/api", "--timeout=60s")
        deployment = await kubectl.json("get", "deploy", "api")
        assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "9"
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["env"] == [{"name": "FEATURE_X", "value": "off"}]
        assert not any(k.startswith("$") for k in json.dumps(deployment).split('"'))

        await kubectl.run("scale", "deployment/api", "--replicas=6")
        await kubectl.run("rollout", "status", "deployment/api", "--timeout=60s")
        probe = await sample(kubeconfig)
        assert (probe.details["ready"], probe.details["desired"]) == (6, 6)
        assert len([p for p in (await kubectl.json("get", "pods"))["items"]]) == 6

        await kubectl.run("rollout", "undo", "deployment/api")
        await kubectl.run("rollout", "status", "deployment/api", "--timeout=60s")
        deployment = await kubectl.json("get", "deploy", "api")
        assert "env" not in deployment["spec"]["template"]["spec"]["containers"][0]
        probe = await sample(kubeconfig)
        assert probe.details["revision"] == 10 and probe.state.value == "ok"
        events = await kubectl.out("get", "events")
        assert "ScalingReplicaSet" in events and "SuccessfulCreate" in events


async def test_logs_previous_delete_pod_and_events_of_a_crash_loop(tmp_path: Path):
    async with Simulation(scenario(), speed=60) as sim:
        kubeconfig = sim.endpoints.kubeconfig
        kubectl = Kubectl(kubeconfig, tmp_path / "home")
        await kubectl.run("set", "image", "deployment/api", f"api={BAD_IMAGE}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:  # the bad revision's pods crash within a simulated minute (a second here)
            probe = await sample(kubeconfig)
            crashing = [p for p in probe.details["pods"] if p["restarts"]]
            if crashing:
                break
            assert loop.time() < deadline, probe.summary
            await sim.settled()
            await asyncio.sleep(0.1)
        pod = crashing[0]["name"]
        previous = await kubectl.out("logs", pod, "--previous")
        assert "panic: runtime error" in previous
        events = await kubectl.out("get", "events")
        assert re.search(rf"Warning\s+BackOff\s+pod/{pod}\s+Back-off restarting failed container api", events), events
        described = await kubectl.out("describe", "pod", pod)
        assert "BackOff" in described
        follow = asyncio.create_task(kubectl.out("logs", "-f", pod))
        for _ in range(200):  # until kubectl's follow request has arrived
            if any(r.query.get("follow") == "true" for r in sim.kube.requests):
                break
            await asyncio.sleep(0.05)
        await kubectl.run("delete", "pod", pod, "--wait=true", "--timeout=30s")
        followed = await asyncio.wait_for(follow, 30)  # the stream ends with the pod
        assert "INFO starting registry.example/api:v1.8.0" in followed
        code, _, err = await kubectl.run("get", "pod", pod, ok=False)
        assert code == 1 and f'pods "{pod}" not found' in err
        assert pod not in [p["name"] for p in (await sample(kubeconfig)).details["pods"]]
        assert "Killing" in await kubectl.out("get", "events", "--field-selector", f"involvedObject.name={pod}")


async def test_the_sims_refusals_as_kubectl_reports_them(tmp_path: Path):
    async with KubeAPI(secure=True, tokens={"admin-token": "admin", "view-token": "view"}) as api:
        deployment = make_deployment("api", NS, revision=7)
        api.add(deployment, make_replicaset(deployment, 7))
        admin = Kubectl(api.write_kubeconfig(tmp_path / "admin"), tmp_path / "home")
        viewer = Kubectl(api.write_kubeconfig(tmp_path / "view", token="view-token"), tmp_path / "home")
        nobody = Kubectl(api.write_kubeconfig(tmp_path / "nobody", token="wrong"), tmp_path / "home")

        code, _, err = await nobody.run("get", "deploy", ok=False)
        assert code == 1 and "You must be logged in to the server" in err
        await viewer.run("get", "deploy", "api")
        code, _, err = await viewer.run("scale", "deploy/api", "--replicas=2", ok=False)
        assert code == 1 and 'User "view" cannot patch resource "deployments/scale"' in err

        code, _, err = await admin.run("patch", "deploy", "api", "--type=merge", "-p",
                                       '{"spec":{"selector":{"matchLabels":{"app":"other"}}}}', ok=False)
        assert code == 1 and "spec.selector" in err and "field is immutable" in err
        code, _, err = await admin.run("scale", "deploy/api", "--replicas=-1", ok=False)
        assert code == 1
        code, _, err = await admin.run("patch", "deploy", "api", "--type=merge", "-p",
                                       '{"spec":{"replicas":-2}}', ok=False)
        assert code == 1 and "spec.replicas: Invalid value: -2" in err
        stale = str(int(api.get("Deployment", NS, "api")["metadata"]["resourceVersion"]) - 1)
        code, _, err = await admin.run("patch", "deploy", "api", "--type=merge", "-p",
                                       json.dumps({"metadata": {"resourceVersion": stale,
                                                                "labels": {"x": "y"}}}), ok=False)
        assert code == 1 and "the object has been modified" in err
        before = api.get("Deployment", NS, "api")
        await admin.run("scale", "deploy/api", "--replicas=9", "--dry-run=server")
        await admin.run("set", "env", "deploy/api", "A=b", "--dry-run=server")
        assert api.get("Deployment", NS, "api") == before, "dryRun=All is never persisted"
        # PUT: kubectl replace with the object as read back, then with a stale copy (the sim
        # serves no OpenAPI document for kubectl's client-side validation).
        current = await admin.json("get", "deploy", "api")
        current["spec"]["replicas"] = 2
        (tmp_path / "d.json").write_text(json.dumps(current))
        await admin.run("replace", "--validate=false", "-f", str(tmp_path / "d.json"))
        assert api.get("Deployment", NS, "api")["spec"]["replicas"] == 2
        code, _, err = await admin.run("replace", "--validate=false", "-f", str(tmp_path / "d.json"), ok=False)
        assert code == 1 and "the object has been modified" in err
        # Watch: kubectl get --watch-only sees the change made after it started.
        watcher = asyncio.create_task(admin.run("get", "deploy", "api", "--watch-only", "-o", "name",
                                                "--request-timeout=5s", ok=False, timeout=20))
        for _ in range(200):  # until kubectl's watch request has arrived
            if any(r.query.get("watch") == "true" for r in api.requests):
                break
            await asyncio.sleep(0.05)
        api.patch("Deployment", NS, "api", {"metadata": {"labels": {"seen": "yes"}}})
        _, out, _ = await watcher
        assert "deployment.apps/api" in out


async def test_warroom_rollback_and_kubectl_rollout_undo_leave_identical_objects(tmp_path: Path):
    clocks = [FixedClock(), FixedClock()]
    sims = [Simulation(scenario(), clock=clock, autorun=False) for clock in clocks]
    try:
        for sim in sims:
            await sim.start()

        def advance(seconds: int) -> None:
            for _ in range(seconds):
                for clock, sim in zip(clocks, sims):
                    clock.advance(seconds=1)
                    sim.tick()

        for index, sim in enumerate(sims):
            kubectl = Kubectl(sim.endpoints.kubeconfig, tmp_path / f"home{index}")
            await kubectl.run("set", "image", "deployment/api", f"api={BAD_IMAGE}")
        # The new generation is not observed until the controllers run.
        for sim in sims:
            deployment = sim.kube.get("Deployment", NS, "api")
            assert deployment["status"]["observedGeneration"] < deployment["metadata"]["generation"]
        advance(90)

        kubectl = Kubectl(sims[0].endpoints.kubeconfig, tmp_path / "home0")
        await kubectl.run("rollout", "undo", "deployment/api")
        action = build_action(models.KubernetesRollback(name="rollback-api", namespace=NS, deployment="api",
                                                        kubeconfig=sims[1].endpoints.kubeconfig))
        try:
            await action.execute(await action.preview())
        finally:
            await action.close()
        for sim in sims:
            await sim.settled()
        advance(60)

        def state(sim: Simulation) -> dict[str, list[Any]]:
            shown = {}
            for kind in ("Deployment", "ReplicaSet", "Pod"):
                objects = copy.deepcopy(sorted(sim.kube.objects(kind, NS), key=lambda o: o["metadata"]["name"]))
                for obj in objects:
                    obj["metadata"].pop("resourceVersion")
                shown[kind] = objects
            return shown

        kubectl_result, warroom_result = state(sims[0]), state(sims[1])
        assert kubectl_result == warroom_result, "\n".join(difflib.unified_diff(
            json.dumps(kubectl_result, indent=1, sort_keys=True).splitlines(),
            json.dumps(warroom_result, indent=1, sort_keys=True).splitlines(), "kubectl", "warroom", lineterm=""))
        deployment = kubectl_result["Deployment"][0]
        assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "9"
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/api:v1.7.3"
    finally:
        for sim in sims:
            await sim.stop()
