"""The simulator: scenario files, the world's reactions, and every shipped scenario run
headless at high speed against the real checks and the real action path (ActionRunner,
journal, verification), with real PostgreSQL and Redis where a scenario needs them."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis

from warroom.actions.registry import build_action
from warroom.actions.runner import ActionRunner, Executed
from warroom.checks.base import State
from warroom.checks.registry import build_checks
from warroom.checks.runner import Runner
from warroom.config import models
from warroom.config.loader import load_config
from warroom.domain.severity import PRESETS
from warroom.domain.timeline import Kind
from warroom.kube import import_client
from warroom.service import IncidentService
from warroom.sim.kubeapi import JSON_PATCH
from warroom.sim.sample import FixedClock
from warroom.sim.scenario import ScenarioError, load_scenario, parse_scenario, scenario_dir, shipped
from warroom.sim.simulation import Endpoints, Simulation, Skipped, config_toml
from warroom.store import open_journal

SPEED = 60
NS = "production"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kubernetes client's aiohttp session honours proxy variables; loopback must not
    # go through one. No developer kubeconfig either.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(var, raising=False)


async def until(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.02) -> Any:
    """Poll ``condition`` (sync or async) until truthy; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(poll)


class Console:
    """What the console runs, without the TUI: the checks and actions of the generated
    config, a journal with an incident whose IC is alice, and the ActionRunner."""

    def __init__(self, sim: Simulation, tmp_path: Path) -> None:
        self.sim, self.tmp_path = sim, tmp_path

    async def __aenter__(self) -> Console:
        path = self.tmp_path / "warroom.toml"
        path.write_text(self.sim.config_toml())
        self.config = load_config(path)  # the generated file is a valid configuration
        await import_client()  # the kubernetes client's import must not delay the first samples
        self.runner = Runner(build_checks(self.config.checks))
        self.task = asyncio.create_task(self.runner.run_forever())
        self.journal = await open_journal(f"sqlite:///{self.tmp_path / 'journal.db'}", create=True)
        self.service = IncidentService(self.journal, PRESETS["sev1-4"])
        entry = await self.service.declare(self.sim.scenario.title, self.sim.scenario.severity, "alice")
        self.incident = entry.incident_id
        await self.service.assign(self.incident, "ic", "alice", "alice")
        actions = {a.name: build_action(a) for a in self.config.actions}
        self.actions = ActionRunner(self.service, self.incident, actions, actor="alice")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.actions.close()
        await self.journal.close()

    def state(self, name: str) -> State | None:
        result = self.runner.latest.get(name)
        return result.state if result is not None else None

    async def mitigate(self, name: str) -> tuple[Executed, bool | None]:
        """Request (until the preview has something to do), execute with the confirmation
        a person would type, verify against the live checks."""

        async def plan():
            plan = await self.actions.request(name)
            return None if plan.preview.noop else plan

        planned = await until(plan, 10, f"a preview of {name} with something to do", poll=0.05)
        executed = await self.actions.execute(planned, yes=True, typed=planned.preview.target)
        assert executed.outcome.ok, executed.outcome.summary

        async def health():
            return dict(self.runner.latest)

        return executed, await self.actions.verify(executed, health, poll=0.02)


async def assert_clean(sim: Simulation) -> None:
    """Nothing of the simulation is left: ports, temp dir, sessions, connections, keys."""
    assert sim.endpoints is not None
    for port in sim.endpoints.ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert not sim.endpoints.tempdir.exists()
    if sim.endpoints.postgres:
        conn = await asyncpg.connect(sim.endpoints.postgres)
        try:
            left = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                                       sim.pg_app)
        finally:
            await conn.close()
        assert left == 0
    if sim.endpoints.redis:
        client = aioredis.Redis.from_url(sim.endpoints.redis)
        try:
            keys = [k async for k in client.scan_iter(match=f"{sim.redis_prefix}*")]
            clients = [c for c in await client.client_list() if c.get("name") == sim.pg_app]
        finally:
            await client.aclose()
        assert keys == [] and clients == []
    assert sim.errors == []


# --- (a) the shipped scenarios ------------------------------------------------------------


def test_every_shipped_scenario_loads_and_its_config_validates(tmp_path: Path):
    names = shipped()
    assert {"bad-deploy", "db-pool-exhaustion", "slow-degradation", "cache-pressure", "memory-leak"} <= set(names)
    endpoints = Endpoints("http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3",
                          tmp_path / "kubeconfig", tmp_path, "postgresql://postgres@127.0.0.1:5432/test",
                          "redis://127.0.0.1:6379/11", "warroom-sim-x", "warroom-sim:x:")
    (tmp_path / "kubeconfig").write_text("")
    for name in names:
        scenario = load_scenario(name)
        assert scenario.name == name and "\n" not in scenario.description
        assert scenario.mitigation_action()["checks"], f"{name}: its mitigation is verified by no check"
        path = tmp_path / f"{name}.toml"
        path.write_text(config_toml(scenario, endpoints, speed=SPEED))
        config = load_config(path)
        assert config.action(scenario.mitigation).checks
        # Simulated durations are divided by the speed in the generated file.
        assert all(c.interval <= timedelta(seconds=1) for c in config.checks)


# --- (e) broken scenario files ---------------------------------------------------------------


BASE = (scenario_dir() / "bad-deploy.toml").read_text()


@pytest.mark.parametrize("change, expected", [
    (('do = "deploy revision 8"', 'do = "explode the database"'),
     'broken.toml: event[1].do: unknown event "explode the database" (expected one of: deploy revision N;'),
    (('do = "deploy revision 8"', 'do = "deploy revision 9"'),
     "broken.toml: event[1].do: revision 9 is not in deployment.revisions"),
    (('value = "0.002 + 0.998 * error_rate"', 'value = "0.002 + 0.998 * eror_rate"'),
     "broken.toml: series[0].value: unknown name 'eror_rate' in '0.002 + 0.998 * eror_rate' "
     "(did you mean \"error_rate\"?)"),
    (('value = "0.002 + 0.998 * error_rate"', 'value = "__import__(1)"'),
     "broken.toml: series[0].value: unknown function '__import__'"),
    (('json_equals = "ok"', 'json_equal = "ok"'),
     'broken.toml: check[0] (api-health): unknown key "json_equal" (did you mean "json_equals"?)'),
    (('url = "{http}/health/api"', 'url = "{htp}/health/api"'),
     "broken.toml: check[0].url: unknown placeholder {htp}"),
    (('mitigation = "rollback-api"', 'mitigation = "rollback-ap"'),
     'broken.toml: mitigation: no [[action]] named "rollback-ap" (did you mean "rollback-api"?)'),
    (("current = 7", "current = 70"), "broken.toml: deployment.current: current revision 70 is not in revisions"),
    (('at = "1m30s"', 'at = "90"'), 'broken.toml: event[2].at: expected a duration like "500ms"'),
    (('severity = "SEV2"', 'severity = "SEV2'), "broken.toml: invalid TOML"),
])
def test_a_broken_scenario_file_gives_one_clear_line(tmp_path: Path, change: tuple[str, str], expected: str):
    old, new = change
    assert old in BASE
    path = tmp_path / "broken.toml"
    path.write_text(BASE.replace(old, new, 1))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path)) and expected.split(": ", 1)[1] in message, message


def test_an_unknown_scenario_name_suggests_one():
    with pytest.raises(ScenarioError, match=r'no scenario named "bad-deploi" \(did you mean "bad-deploy"\?\)'):
        load_scenario("bad-deploi")


def test_event_vocabulary_is_documented():
    import warroom.sim.scenario as module
    for words in ("deploy revision N", "ramp load to X over", "open N idle-in-transaction sessions",
                  "start N long queries", "fill cache with N keys", "start leak"):
        assert words in module.__doc__
    text = BASE.replace('do = "deploy revision 8"', 'do = "start 3 long queries"', 1)
    with pytest.raises(ScenarioError, match=r'event\[1\]\.do: "start 3 long queries" needs needs = \["postgres"\]'):
        parse_scenario(text, "x.toml")


# --- the world's reactions, on a clock the test moves ----------------------------------------


async def test_rollback_brings_the_error_ratio_down_over_a_simulated_minute():
    clock = FixedClock()
    async with Simulation("bad-deploy", clock=clock, autorun=False) as sim:
        world = sim.world

        def advance(seconds: int) -> None:
            for _ in range(seconds):
                clock.advance(seconds=1)
                sim.tick()

        assert world.values["api_5xx"] == pytest.approx(0.002) and world.health("api")[0] == 200
        advance(19)
        assert not [e for e in world.fired if e.op.verb == "deploy"]
        advance(80)
        assert [m for _, m in sim.messages][0].startswith("deploy pipeline")
        assert world.values["api_5xx"] > 0.3
        assert world.health("api")[0] == 503 or world.state()["ready"] < 4
        assert world.state()["bad_pods"] == 4 and world.state()["restarts"] >= 4

        config = models.KubernetesRollback(name="rollback-api", namespace=NS, deployment="api",
                                           kubeconfig=sim.endpoints.kubeconfig)
        action = build_action(config)
        try:
            preview = await action.preview()
            assert "revision 8 image registry.example/api:v1.8.0 -> revision 7" in preview.summary
            await action.execute(preview)
        finally:
            await action.close()
        rolled_back = world.t
        curve: dict[int, float] = {}
        live = None
        for second in range(1, 121):
            advance(1)
            curve[second] = world.values["api_5xx"]
            state = world.state()
            if live is None and state["bad_pods"] == 0 and state["ready"] == 4:
                live = second
        assert live is not None and live <= 30, "the good revision's pods are live within half a minute"
        deployment = sim.kube.get("Deployment", NS, "api")
        assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "9"
        assert deployment["status"]["conditions"][1]["reason"] == "NewReplicaSetAvailable"
        assert world.health("api")[0] == 200
        # Decaying over the minute the 1m window holds the bad seconds, then normal.
        assert 0.05 < curve[live + 20] < curve[live] and curve[live + 40] < curve[live + 20]
        assert curve[live + 62] == pytest.approx(0.002, abs=0.002)
        assert world.t - rolled_back == pytest.approx(120)


async def test_prometheus_answers_only_the_scenario_queries_and_health_per_service():
    async with Simulation("bad-deploy", speed=SPEED) as sim, aiohttp.ClientSession() as http:
        url = sim.endpoints.prometheus + "/api/v1/query"
        async with http.get(url, params={"query": 'http_5xx_ratio{service="api"}'}) as response:
            body = await response.json()
        assert response.status == 200 and body["status"] == "success"
        assert body["data"]["resultType"] == "vector"
        (sample,) = body["data"]["result"]
        assert sample["metric"] == {"__name__": "http_5xx_ratio", "service": "api"}
        assert float(sample["value"][1]) == pytest.approx(0.002) and isinstance(sample["value"][0], float)
        async with http.get(url, params={"query": "up"}) as response:
            body = await response.json()
        assert response.status == 400 and body["status"] == "error" and body["errorType"] == "bad_data"
        async with http.get(sim.endpoints.http + "/health/api") as response:
            assert response.status == 200 and await response.json() == {"status": "ok", "service": "api"}
        async with http.get(sim.endpoints.http + "/health/nope") as response:
            assert response.status == 404
    await assert_clean(sim)


async def test_a_scenario_whose_needs_are_unreachable_is_skipped():
    sim = Simulation("db-pool-exhaustion", postgres="postgresql://postgres@127.0.0.1:1/test")
    skipped = await sim.needs()
    assert isinstance(skipped, Skipped) and "PostgreSQL at 127.0.0.1:1 is not reachable" in skipped.reason
    with pytest.raises(Skipped):
        await sim.start()
    await sim.stop()
    assert sim.endpoints is None and sim.kube.base_url is None


# --- (b) bad deploy, headless: checks, the real rollback, verification -------------------------


async def test_bad_deploy_headless_rollback_recovers_and_is_verified(tmp_path: Path):
    async with Simulation("bad-deploy", speed=SPEED) as sim:
        async with Console(sim, tmp_path) as console:
            linked = ("api-5xx", "api-health", "api-deploy")
            await until(lambda: all(console.state(n) is State.CRITICAL for n in linked), 20,
                        "the checks to go critical after the bad deploy")
            executed, verified = await console.mitigate("rollback-api")

            (patch,) = sim.kube.requests_to("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/api")
            assert patch.content_type == JSON_PATCH
            assert [(op["op"], op["path"]) for op in patch.body] == [("replace", "/spec/template"),
                                                                     ("replace", "/metadata/annotations")]
            assert patch.body[0]["value"]["spec"]["containers"][0]["image"] == "registry.example/api:v1.7.3"

            assert verified is True
            assert all(console.state(n) is State.OK for n in linked)
            entries = await console.journal.entries(console.incident)
            check = [e for e in entries if e.kind is Kind.MITIGATION and e.data.get("verified") is True]
            assert len(check) == 1 and check[0].data["mitigation_entry"] == executed.entry.id
            # About a simulated minute: the rollout, then the 1m window emptying of bad seconds.
            assert 20 < check[0].data["after_seconds"] * SPEED < 150
            incident = (await console.service.load(console.incident)).incident
            assert incident.mitigated_at is not None and incident.mitigated_at >= executed.at
    await assert_clean(sim)


# --- (c) every other scenario: to the failure, the documented mitigation, recovery ------------


@pytest.mark.parametrize("name", ["db-pool-exhaustion", "slow-degradation", "cache-pressure", "memory-leak"])
async def test_the_documented_mitigation_recovers(name: str, tmp_path: Path, require):
    sim = Simulation(name, speed=SPEED)
    skipped = await sim.needs()
    require(skipped is None, skipped.reason if skipped else "")
    try:
        await sim.start()
        async with Console(sim, tmp_path) as console:
            linked = sim.scenario.mitigation_action()["checks"]
            script_end = sim.scenario.events[-1].at.total_seconds() + 30
            await until(lambda: sim.elapsed >= script_end, 20, "the script to run")
            await until(lambda: any(console.state(n) is State.CRITICAL for n in linked), 20,
                        f"{name} to fail ({', '.join(linked)})")
            executed, verified = await console.mitigate(sim.scenario.mitigation)
            assert verified is True, [r.summary for r in console.runner.latest.values()]
            if name == "memory-leak":
                # A restart clears the leak for a while; it comes back.
                await until(lambda: console.state("orders-memory") is State.CRITICAL, 20, "the leak to return")
            if name == "db-pool-exhaustion":
                assert sim.postgres.long_count == 0
                await until(lambda: sim.postgres.idle_count == 0, 10, "the app to release its idle sessions")
            if name == "cache-pressure":
                assert sim.cache.present == 0
    finally:
        await sim.stop()
    await assert_clean(sim)


# --- (f) the simulated API server's own rules ---------------------------------------------------


def pod_template(**container) -> dict:
    base = {"name": "app", "image": "registry.example/app:1", "ports": [{"containerPort": 8080}],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}]}
    return {"metadata": {"labels": {"app": "api"}},
            "spec": {"containers": [{**base, **container}, {"name": "sidecar", "image": "registry.example/side:1"}],
                     "volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]}}


@pytest.fixture
async def api():
    from warroom.sim.kubeapi import KubeAPI
    from warroom.sim.kubeobjects import make_deployment

    async with KubeAPI() as server:
        deployment = make_deployment("api", NS, revision=7)
        deployment["spec"]["template"] = pod_template()
        server.add(deployment)
        yield server


DEPLOY_URL = f"/apis/apps/v1/namespaces/{NS}/deployments/api"
STRATEGIC = "application/strategic-merge-patch+json"


async def call(api, method: str, body=None, *, path: str = DEPLOY_URL, content_type: str = STRATEGIC,
               query: dict | None = None) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.request(method, api.base_url + path, params=query or {},
                                data=None if body is None else json.dumps(body),
                                headers={"Content-Type": content_type}) as response:
            return response.status, await response.json()


async def test_strategic_merge_uses_the_real_merge_keys_and_directives(api):
    status, body = await call(api, "PATCH", {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
        "containers": [{"name": "app",
                        "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090}],
                        "volumeMounts": [{"mountPath": "/tmp", "$patch": "delete"}],
                        "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "3"}]}]}}}})
    assert status == 200, body
    sidecar, app = body["spec"]["template"]["spec"]["containers"]
    assert (sidecar["name"], app["name"]) == ("sidecar", "app")
    assert app["ports"] == [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090}]
    assert app["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]
    assert app["image"] == "registry.example/app:1"

    status, body = await call(api, "PATCH", {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"$patch": "replace"}, {"name": "ONLY", "value": "x"}]}]}}}})
    assert status == 200 and body["spec"]["template"]["spec"]["containers"][1]["env"] == [{"name": "ONLY", "value": "x"}]
    status, body = await call(api, "PATCH", {"spec": {"strategy": {
        "$retainKeys": ["type"], "type": "Recreate"}}})
    assert status == 200 and body["spec"]["strategy"] == {"type": "Recreate"}
    status, body = await call(api, "PATCH", {"spec": {"strategy": {"$patch": "replace", "type": "RollingUpdate"}}})
    assert status == 200 and body["spec"]["strategy"] == {"type": "RollingUpdate"}
    assert "$" not in json.dumps(api.get("Deployment", NS, "api"))


@pytest.mark.parametrize(("patch", "status", "words"), [
    ({"spec": {"$patch": "merge-harder"}}, 400, "unknown $patch directive"),
    ({"spec": {"$frobnicate": 1}}, 400, "unknown strategic merge patch directive"),
    ({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}, 422, "merge key name"),
    ({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}, 422, "$retainKeys"),
])
async def test_a_strategic_patch_the_server_would_refuse_is_refused_and_not_stored(api, patch, status, words):
    before = api.get("Deployment", NS, "api")
    got, body = await call(api, "PATCH", patch)
    assert got == status and words in body["message"], body
    assert api.get("Deployment", NS, "api") == before


@pytest.mark.parametrize(("patch", "words"), [
    ({"spec": {"replicas": -1}}, "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    ({"spec": {"replicas": "3"}}, 'spec.replicas: Invalid value: "3": must be an integer'),
    ({"spec": {"replicas": 1.5}}, "spec.replicas: Invalid value: 1.5: must be an integer"),
    ({"spec": {"selector": {"matchLabels": {"app": "api", "tier": "web"}}}}, "field is immutable"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": None}]}}}},
     "spec.template.spec.containers[0].image: Required value"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 70000}]}]}}}},
     "containerPort: Invalid value: 70000"),
])
async def test_invalid_or_immutable_fields_are_422(api, patch, words):
    before = api.get("Deployment", NS, "api")
    status, body = await call(api, "PATCH", patch)
    assert status == 422 and body["reason"] == "Invalid" and words in body["message"], body
    assert body["details"]["kind"] == "Deployment" and body["details"]["causes"]
    assert api.get("Deployment", NS, "api") == before


async def test_stale_resource_version_is_409_and_dry_run_is_never_stored(api):
    current = api.get("Deployment", NS, "api")
    version = current["metadata"]["resourceVersion"]
    status, body = await call(api, "PATCH", {"metadata": {"resourceVersion": version, "labels": {"a": "b"}}},
                              content_type="application/merge-patch+json")
    assert status == 200 and body["metadata"]["resourceVersion"] != version
    current["spec"]["replicas"] = 1
    status, body = await call(api, "PUT", current, content_type="application/json")
    assert status == 409 and body["reason"] == "Conflict" and "the object has been modified" in body["message"]
    stored = api.get("Deployment", NS, "api")
    stored["spec"]["replicas"] = 1
    status, body = await call(api, "PUT", stored, content_type="application/json", query={"dryRun": "All"})
    assert status == 200 and body["spec"]["replicas"] == 1
    assert api.get("Deployment", NS, "api")["spec"]["replicas"] == 3
    status, body = await call(api, "PUT", stored, content_type="application/json")
    assert status == 200 and api.get("Deployment", NS, "api")["spec"]["replicas"] == 1
    assert body["metadata"]["generation"] == stored["metadata"]["generation"] + 1


async def test_a_watch_resumes_from_its_resource_version_and_honours_the_field_selector(api):
    from warroom.sim import kubeapi
    from warroom.sim.kubeobjects import make_deployment

    api.add(make_deployment("worker", NS))
    since = api.get("Deployment", NS, "api")["metadata"]["resourceVersion"]
    api.patch("Deployment", NS, "api", {"metadata": {"labels": {"step": "1"}}})
    api.patch("Deployment", NS, "worker", {"metadata": {"labels": {"step": "1"}}})
    url = api.base_url + f"/apis/apps/v1/namespaces/{NS}/deployments"
    async with aiohttp.ClientSession() as http:
        params = {"watch": "true", "resourceVersion": since, "fieldSelector": "metadata.name=api",
                  "timeoutSeconds": "5"}
        async with http.get(url, params=params) as response:
            first = json.loads(await response.content.readline())
            api.patch("Deployment", NS, "worker", {"metadata": {"labels": {"step": "2"}}})
            api.delete("Deployment", NS, "api")
            second = json.loads(await response.content.readline())
            assert await response.content.readline() == b""  # the stream ends at timeoutSeconds
        assert (first["type"], first["object"]["metadata"]["labels"]["step"]) == ("MODIFIED", "1")
        assert (second["type"], second["object"]["metadata"]["name"]) == ("DELETED", "api")
        for _ in range(kubeapi.HISTORY):
            api.patch("Deployment", NS, "worker", {"metadata": {"annotations": {"n": str(_)}}})
        async with http.get(url, params={**params, "timeoutSeconds": "1"}) as response:
            expired = json.loads(await response.content.readline())
        assert expired["type"] == "ERROR" and expired["object"]["code"] == 410


async def test_logs_follow_streams_until_the_container_restarts(api):
    from warroom.sim.kubeobjects import make_pod, make_replicaset

    rs = make_replicaset(api.get("Deployment", NS, "api"), 7)
    api.add(rs, make_pod(rs, "api-a"))
    api.set_log(NS, "api-a", "one\n")
    async with aiohttp.ClientSession() as http:
        url = api.base_url + f"/api/v1/namespaces/{NS}/pods/api-a/log"
        async with http.get(url, params={"follow": "true", "container": "app"}) as response:
            assert await response.content.readline() == b"one\n"
            api.set_log(NS, "api-a", "one\ntwo\n")
            assert await response.content.readline() == b"two\n"
            api.set_log(NS, "api-a", "fresh start\n")  # a new container instance: this stream is over
            assert await response.content.read() == b""


async def test_controllers_act_after_the_write_and_keep_the_history_a_cluster_keeps(tmp_path: Path):
    clock = FixedClock()
    quiet = parse_scenario(re.sub(r"\[\[event\]\]\nat = [^\n]*\ndo = [^\n]*\n\n", "", BASE), "quiet.toml")
    assert not quiet.events
    async with Simulation(quiet, clock=clock, autorun=False) as sim:
        kubeconfig = sim.endpoints.kubeconfig
        config = models.KubernetesRestart(name="restart-api", namespace=NS, deployment="api", kubeconfig=kubeconfig)
        action = build_action(config)
        try:
            await action.execute(await action.preview())
        finally:
            await action.close()
        deployment = sim.kube.get("Deployment", NS, "api")
        assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"] - 1
        assert sim.cluster.pending
        await sim.settled()
        deployment = sim.kube.get("Deployment", NS, "api")
        assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"]
        assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "8"

        # The change-cause goes with the template to the new ReplicaSet; history beyond the limit goes.
        sim.kube.patch("Deployment", NS, "api", {"metadata": {"annotations": {
            "kubernetes.io/change-cause": "kubectl set image api=v1.7.4"}}, "spec": {
            "revisionHistoryLimit": 1, "template": {"spec": {"containers": [
                {"name": "api", "image": "registry.example/api:v1.7.4"}]}}}})
        for _ in range(120):
            clock.advance(seconds=1)
            sim.tick()
        sets = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs
                for rs in sim.kube.objects("ReplicaSet", NS)}
        assert set(sets) == {"8", "9"}, "revisionHistoryLimit 1: the current one and one more"
        assert sets["9"]["metadata"]["annotations"]["kubernetes.io/change-cause"] == "kubectl set image api=v1.7.4"

        # Paused: the template changes, no ReplicaSet comes until resumed.
        sim.kube.patch("Deployment", NS, "api", {"spec": {"paused": True, "template": {"spec": {"containers": [
            {"name": "api", "image": "registry.example/api:v1.7.5"}]}}}})
        sim.tick()
        assert len(sim.kube.objects("ReplicaSet", NS)) == 2
        progressing = sim.kube.get("Deployment", NS, "api")["status"]["conditions"][1]
        assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")
        sim.kube.patch("Deployment", NS, "api", {"spec": {"paused": False}})
        sim.tick()
        assert {rs["spec"]["template"]["spec"]["containers"][0]["image"]
                for rs in sim.kube.objects("ReplicaSet", NS)} >= {"registry.example/api:v1.7.5"}


async def test_the_simulations_api_wants_its_token_over_https(tmp_path: Path):
    from warroom.sim.kubeapi import KubeAPI
    from warroom.sim.kubeobjects import make_deployment

    async with Simulation("bad-deploy", speed=SPEED) as sim:
        assert sim.endpoints.kube.startswith("https://") and "token:" in sim.endpoints.kubeconfig.read_text()
        config = models.KubernetesRollback(name="rollback-api", namespace=NS, deployment="api",
                                           kubeconfig=sim.endpoints.kubeconfig)
        action = build_action(config)
        try:
            assert "revision" in (await action.preview()).summary
        finally:
            await action.close()
        assert all(r.headers.get("Authorization", "").startswith("Bearer ") for r in sim.kube.requests)
    async with KubeAPI(secure=True, tokens={"w": "admin", "r": "view"}) as api:
        api.add(make_deployment("api", NS))
        context = ssl.create_default_context(cadata=api.ca_pem.decode())
        url = api.base_url + DEPLOY_URL
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http:
            for token, method, status in ((None, "GET", 401), ("wrong", "GET", 401), ("r", "GET", 200),
                                          ("r", "PATCH", 403), ("w", "PATCH", 200)):
                headers = {"Content-Type": STRATEGIC, **({"Authorization": f"Bearer {token}"} if token else {})}
                async with http.request(method, url, headers=headers,
                                        data=json.dumps({"spec": {"replicas": 2}})) as response:
                    body = await response.json()
                assert response.status == status, (token, method, body)
                if status == 403:
                    assert body["message"] == ('deployments.apps "api" is forbidden: User "view" cannot patch '
                                               'resource "deployments" in API group "apps" in the namespace "production"')
                if status == 401:
                    assert body["reason"] == "Unauthorized"


def test_a_condition_keeps_its_times_while_its_status_and_reason_hold():
    from warroom.sim.cluster import keep_condition_times

    before = [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
               "lastUpdateTime": "t1", "lastTransitionTime": "t0"},
              {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
               "lastUpdateTime": "t1", "lastTransitionTime": "t1"}]
    after = [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
              "lastUpdateTime": "t9", "lastTransitionTime": "t9"},
             {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
              "lastUpdateTime": "t9", "lastTransitionTime": "t9"}]
    keep_condition_times(before, after)
    assert (after[0]["lastUpdateTime"], after[0]["lastTransitionTime"]) == ("t1", "t0")
    assert (after[1]["lastUpdateTime"], after[1]["lastTransitionTime"]) == ("t9", "t9")
