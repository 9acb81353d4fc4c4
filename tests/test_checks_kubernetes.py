"""The Kubernetes check, run by the real runner with the real `kubernetes` client against
the simulated API (warroom.sim.kubeapi) served over HTTP on loopback."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import REPO, child_env, free_port
from warroom.checks.base import State
from warroom.checks.kubernetes import KubernetesCheck
from warroom.checks.registry import build_check
from warroom.checks.runner import Runner
from warroom.config.models import KubernetesCheck as KubernetesCheckConfig
from warroom.errors import WarroomError
from warroom.kube import is_loopback
from warroom.sim.kubeapi import KubeAPI, write_kubeconfig
from warroom.sim.kubeobjects import make_deployment, make_pod, make_replicaset, parse_selector

NS = "production"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
DEPLOYMENT_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments/api"


def minutes_ago(n: float) -> datetime:
    return NOW - timedelta(minutes=n)


@pytest.fixture
async def kube(monkeypatch: pytest.MonkeyPatch):
    # Isolated from the developer's proxies (loopback bypasses them anyway: see
    # test_a_proxy_from_the_environment_never_carries_loopback_traffic).
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    for var in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(var, raising=False)
    api = KubeAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def kubeconfig(kube: KubeAPI, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", kube.base_url)


def check_config(kubeconfig: Path | None, **overrides) -> KubernetesCheckConfig:
    fields = {"name": "api-deploy", "namespace": NS, "deployment": "api", "kubeconfig": kubeconfig}
    return KubernetesCheckConfig(**{**fields, **overrides})


@pytest.fixture
async def runner(kubeconfig: Path):
    """A runner with one check on Deployment production/api and a fixed clock."""
    check = KubernetesCheck(check_config(kubeconfig), clock=lambda: NOW)
    runner = Runner([check], clock=lambda: NOW)
    yield runner
    await runner.close()


def world(kube: KubeAPI, *, replicas: int = 5, revision: int = 7, **status) -> tuple[dict, dict, dict]:
    """Deployment api at ``revision`` (deployed 12 minutes ago) and the revision before it
    (two days ago, scaled down); no pods yet."""
    deployment = make_deployment("api", NS, f"registry.example/api:{revision}", replicas, revision,
                                 created=NOW - timedelta(days=30), **status)
    finished_at(deployment, minutes_ago(12))
    current = make_replicaset(deployment, revision, created=minutes_ago(12))
    old = make_replicaset(deployment, revision - 1, f"registry.example/api:{revision - 1}",
                          created=NOW - timedelta(days=2))
    kube.add(deployment, current, old)
    return deployment, current, old


def finished_at(deployment: dict, when: datetime) -> None:
    """The Progressing condition's times, as the controller leaves them when the rollout
    of the current revision finished at ``when``."""
    for condition in deployment["status"]["conditions"]:
        if condition["type"] == "Progressing":
            condition["lastUpdateTime"] = condition["lastTransitionTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")


def healthy_pods(kube: KubeAPI, rs: dict, n: int) -> list[dict]:
    pods = [make_pod(rs, f"{rs['metadata']['name']}-{i}", created=minutes_ago(11)) for i in range(n)]
    kube.add(*pods)
    return pods


PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


async def test_a_proxy_from_the_environment_never_carries_loopback_traffic(
        kube: KubeAPI, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch):
    """As kubectl: HTTPS_PROXY and kin are ignored for 127.0.0.1, and nobody had to set
    NO_PROXY (the demo used to, in os.environ)."""
    _, current, _ = world(kube)
    healthy_pods(kube, current, 5)
    dead = f"http://127.0.0.1:{free_port()}"
    for var in PROXY_VARS:
        monkeypatch.setenv(var, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    check = KubernetesCheck(check_config(kubeconfig), clock=lambda: NOW)
    try:
        probe = await check.probe()
    finally:
        await check.close()
    assert probe.state is State.OK and probe.summary.startswith("api 5/5 ready")

    # The control: a proxy the kubeconfig names is used, loopback or not, so the one
    # above really would have stood in the way.
    kubeconfig.write_text(kubeconfig.read_text().replace("    server:", f'    proxy-url: "{dead}"\n    server:'))
    check = KubernetesCheck(check_config(kubeconfig), clock=lambda: NOW)
    try:
        with pytest.raises(Exception) as caught:
            await check.probe()
        assert "refused" in check.describe(caught.value)
    finally:
        await check.close()


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:8080", True), ("https://127.3.4.5", True), ("https://[::1]:6443", True),
    ("https://LOCALHOST:6443", True), ("https://10.0.0.1:6443", False), ("https://api.example:6443", False),
    ("https://localhost.example", False), ("https://[::ffff:127.0.0.1]", True),
])
def test_is_loopback(url: str, loopback: bool):
    assert is_loopback(url) is loopback


async def test_healthy_deployment_is_ok_with_its_revision_and_history(kube: KubeAPI, runner: Runner):
    _, current, old = world(kube)
    healthy_pods(kube, current, 5)

    [result] = await runner.run_once()

    assert result.state is State.OK
    assert result.summary == "api 5/5 ready, revision 7 deployed 12m ago"
    assert result.kind == "kubernetes" and result.latency_ms is not None and result.value == 5
    details = result.details
    assert (details["ready"], details["desired"], details["updated"], details["available"]) == (5, 5, 5, 5)
    assert details["revision"] == 7 and details["rollout"] == "complete"
    assert details["revision_changed_at"] == minutes_ago(12).isoformat()
    assert [(h["revision"], h["images"], h["name"]) for h in details["history"]] == [
        (6, ["registry.example/api:6"], old["metadata"]["name"]),
        (7, ["registry.example/api:7"], current["metadata"]["name"]),
    ]
    assert details["history"][0]["created"] == (NOW - timedelta(days=2)).isoformat()
    assert len(details["pods"]) == 5 and all(p["ready"] and p["restarts"] == 0 for p in details["pods"])
    # The reads kubectl would make, by the Deployment's selector (the two lists run concurrently).
    first, *lists = [(r.method, r.path, r.query) for r in kube.requests]
    assert first == ("GET", DEPLOYMENT_PATH, {})
    assert sorted(lists) == [  # then metrics-server's usage and the pods' node (none here: 404s)
        ("GET", f"/api/v1/namespaces/{NS}/pods", {"labelSelector": "app=api"}),
        ("GET", "/api/v1/nodes/node-1", {}),
        ("GET", f"/apis/apps/v1/namespaces/{NS}/replicasets", {"labelSelector": "app=api"}),
        ("GET", f"/apis/metrics.k8s.io/v1beta1/namespaces/{NS}/pods", {"labelSelector": "app=api"}),
    ]
    assert details["metrics"] is False and details["node_pressure"] == {}
    assert {r.method for r in kube.requests} == {"GET"} and all(r.body is None for r in kube.requests)


async def test_crash_looping_pod_is_critical_with_restarts_and_oom(kube: KubeAPI, runner: Runner):
    _, current, _ = world(kube, replicas=3, ready=2, available=2)
    healthy_pods(kube, current, 2)
    kube.add(make_pod(current, "api-crash", restart_count=5, waiting_reason="CrashLoopBackOff",
                      last_terminated_reason="OOMKilled", created=minutes_ago(11)))

    [result] = await runner.run_once()

    assert result.state is State.CRITICAL
    assert result.summary == ("api 2/3 ready, revision 7 deployed 12m ago, "
                              "1 pod CrashLoopBackOff, 1 pod OOMKilled")
    crash = next(p for p in result.details["pods"] if p["name"] == "api-crash")
    assert crash == {
        "name": "api-crash", "phase": "Running", "ready": False, "restarts": 5,
        "waiting_reason": "CrashLoopBackOff", "last_terminated_reason": "OOMKilled",
        "terminated_reason": None, "not_ready_since": minutes_ago(11).isoformat(),
        "containers": ["app"], "node": "node-1", "limits": {},
    }


async def test_memory_near_its_limit_and_node_pressure_warn(kube: KubeAPI, runner: Runner):
    _, current, _ = world(kube, replicas=2)
    current["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "limits": {"memory": "512Mi", "cpu": "500m"}}
    first, second = healthy_pods(kube, current, 2)
    kube.set_pod_metrics(NS, first["metadata"]["name"], {"app": {"cpu": "100m", "memory": "480Mi"}})
    kube.set_pod_metrics(NS, second["metadata"]["name"], {"app": {"cpu": "0.5", "memory": "100Mi"}})
    kube.set_node("node-1", pressure=("DiskPressure",))

    [result] = await runner.run_once()

    assert result.state is State.WARN
    assert result.summary == ("api 2/2 ready, revision 7 deployed 12m ago, "
                              f"{first['metadata']['name']} memory at 94% of its limit, "
                              f"{second['metadata']['name']} CPU (throttled) at 100% of its limit, "
                              "node node-1 DiskPressure")
    pod = result.details["pods"][0]
    assert pod["usage"] == {"app": {"cpu": "100m", "memory": "480Mi"}}
    assert pod["limits"] == {"app": {"memory": "512Mi", "cpu": "500m"}}
    assert result.details["node_pressure"] == {"node-1": ["DiskPressure"]}


async def test_image_pull_backoff_is_critical(kube: KubeAPI, runner: Runner):
    _, current, _ = world(kube, replicas=2, ready=1, available=1)
    healthy_pods(kube, current, 1)
    kube.add(make_pod(current, "api-pull", phase="Pending", waiting_reason="ImagePullBackOff"))

    [result] = await runner.run_once()

    assert result.state is State.CRITICAL
    assert "1 pod ImagePullBackOff" in result.summary


async def test_stuck_rollout_is_critical(kube: KubeAPI, runner: Runner):
    deployment, current, old = world(kube, ready=3, updated=2, available=3, total=5,
                                     progress_deadline_exceeded=True)
    healthy_pods(kube, old, 3)
    for i in range(2):
        kube.add(make_pod(current, f"api-new-{i}", restart_count=4, waiting_reason="CrashLoopBackOff"))

    [result] = await runner.run_once()

    assert result.state is State.CRITICAL
    assert result.summary == ("api 3/5 ready, rollout stuck (ProgressDeadlineExceeded), "
                              "revision 7 deployed 12m ago, 2 pods CrashLoopBackOff")
    assert result.details["rollout"] == "rollout stuck: progress deadline exceeded"


async def test_fresh_revision_in_progress_is_a_warning(kube: KubeAPI, runner: Runner):
    deployment = make_deployment("api", NS, "registry.example/api:8", 5, 8, ready=5, updated=1,
                                 available=5, total=6, created=NOW - timedelta(days=30))
    rs8 = make_replicaset(deployment, 8, replicas=1, created=minutes_ago(1))
    rs7 = make_replicaset(deployment, 7, "registry.example/api:7", replicas=5, created=NOW - timedelta(days=1))
    kube.add(deployment, rs8, rs7)
    healthy_pods(kube, rs7, 5)
    healthy_pods(kube, rs8, 1)

    [result] = await runner.run_once()

    assert result.state is State.WARN
    assert result.summary == "api 5/5 ready, rollout in progress (1 of 5 updated), revision 8 deployed 1m ago"
    assert result.details["revision"] == 8
    assert result.details["revision_changed_at"] == minutes_ago(1).isoformat()
    assert [h["revision"] for h in result.details["history"]] == [7, 8]


@pytest.mark.parametrize(("status", "rollout", "summary"), [
    ({"generation": 4, "observed_generation": 3}, "waiting for rollout to be observed",
     "api 5/5 ready, rollout not yet observed, revision 7 deployed 12m ago"),
    ({"total": 7}, "2 old replicas terminating",
     "api 5/5 ready, rollout in progress (2 old replicas terminating), revision 7 deployed 12m ago"),
    ({"ready": 5, "available": 4, "progressing_reason": "ReplicaSetUpdated"}, "4 of 5 available",
     "api 5/5 ready, rollout in progress (4 of 5 available), revision 7 deployed 12m ago"),
    # kubectl waits here too, but the rollout had finished: pods became unavailable since.
    ({"ready": 4, "available": 4}, "4 of 5 available", "api 4/5 ready, revision 7 deployed 12m ago"),
])
async def test_rollout_judged_like_kubectl_rollout_status(kube: KubeAPI, runner: Runner, status,
                                                          rollout, summary):
    _, current, _ = world(kube, **status)
    healthy_pods(kube, current, 5)

    [result] = await runner.run_once()

    assert result.details["rollout"] == rollout
    assert (result.state, result.summary) == (State.WARN, summary)


async def test_restarts_since_the_previous_sample_warn(kube: KubeAPI, runner: Runner):
    _, current, _ = world(kube, replicas=2)
    pods = healthy_pods(kube, current, 2)
    [check] = runner.checks

    first = await runner.sample(check)
    assert first.state is State.OK
    kube.patch("Pod", NS, pods[0]["metadata"]["name"],
               {"status": {"containerStatuses": [{**pods[0]["status"]["containerStatuses"][0], "restartCount": 2}]}})
    second = await runner.sample(check)
    third = await runner.sample(check)

    assert second.state is State.WARN and second.summary.endswith("+2 restarts")
    assert second.details["new_restarts"] == 2
    assert third.state is State.OK  # no new restarts since the previous sample


async def test_replicasets_and_pods_of_another_owner_are_ignored(kube: KubeAPI, runner: Runner):
    _, current, _ = world(kube, replicas=2)
    healthy_pods(kube, current, 2)
    # A canary Deployment selecting the same labels, mid-way through a broken revision 9,
    # and an orphaned ReplicaSet: both match app=api, neither belongs to Deployment api.
    canary = make_deployment("api-canary", NS, "registry.example/api:9", 1, 9, labels={"app": "api"})
    canary_rs = make_replicaset(canary, 9, created=minutes_ago(1))
    orphan = make_replicaset(canary, 10, "registry.example/api:10", name="api-orphan", owned=False)
    kube.add(canary, canary_rs, orphan,
             make_pod(canary_rs, "api-canary-crash", waiting_reason="CrashLoopBackOff", restart_count=9))
    assert canary_rs["metadata"]["labels"]["app"] == "api"

    [result] = await runner.run_once()

    assert result.state is State.OK
    assert result.summary == "api 2/2 ready, revision 7 deployed 12m ago"
    assert [h["revision"] for h in result.details["history"]] == [6, 7]
    assert all(p["name"].startswith(current["metadata"]["name"]) for p in result.details["pods"])


async def test_missing_deployment(kube: KubeAPI, runner: Runner):
    [result] = await runner.run_once()

    assert result.state is State.CRITICAL
    assert result.summary == "deployment api not found in namespace production"
    assert kube.requests_to("GET", DEPLOYMENT_PATH)


async def test_api_down_is_connection_refused(kube: KubeAPI, runner: Runner, kubeconfig: Path):
    _, current, _ = world(kube)
    healthy_pods(kube, current, 5)
    [check] = runner.checks
    assert (await runner.sample(check)).state is State.OK

    await kube.stop()  # the connection the client keeps alive goes too
    down = await runner.sample(check)
    fresh = KubernetesCheck(check_config(kubeconfig))
    try:
        never_up = await runner.sample(fresh)
    finally:
        await fresh.close()

    for result in (down, never_up):
        assert result.state is State.CRITICAL
        assert result.summary == f"connection refused 127.0.0.1:{kube.port}"


@pytest.mark.parametrize("status", [401, 403])
async def test_forbidden(kube: KubeAPI, runner: Runner, status: int):
    world(kube)
    message = ('deployments.apps "api" is forbidden: User "system:serviceaccount:ops:warroom" '
               'cannot get resource "deployments" in API group "apps" in the namespace "production"')
    kube.fail(status, path=DEPLOYMENT_PATH, message=message if status == 403 else "Unauthorized")
    [check] = runner.checks

    result = await runner.sample(check)

    assert result.state is State.CRITICAL
    if status == 403:
        assert result.summary == ('forbidden: get deployments.apps "api" in namespace production as '
                                  f"system:serviceaccount:ops:warroom (403 from 127.0.0.1:{kube.port})")
    else:
        assert result.summary == (f'unauthorized: credentials of user "warroom-test" rejected by '
                                  f"127.0.0.1:{kube.port} (401)")
        assert check._client is None  # credentials are reloaded on the next sample
    kube.clear_failures()
    assert (await runner.sample(check)).state is State.OK


async def test_context_and_kubeconfig_discovery(kube: KubeAPI, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch):
    world(kube)
    path = write_kubeconfig(tmp_path / "from-env", kube.base_url, context="staging")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    async def summary(config: KubernetesCheckConfig) -> tuple[State, str]:
        check = KubernetesCheck(config, clock=lambda: NOW)
        try:
            result = await Runner([check]).sample(check)
        finally:
            await check.close()
        return result.state, result.summary

    monkeypatch.setenv("KUBECONFIG", str(path))
    assert (await summary(check_config(None, context="staging")))[1].startswith("api 5/5 ready")
    assert await summary(check_config(None, context="prod")) == (
        State.CRITICAL, f'kubeconfig context "prod" not found in {path}')
    monkeypatch.delenv("KUBECONFIG")
    default = tmp_path / "home" / ".kube" / "config"
    assert await summary(check_config(None)) == (
        State.CRITICAL, f"no kubeconfig: {default} not found and not running in a cluster")
    default.parent.mkdir(parents=True)
    write_kubeconfig(default, kube.base_url)
    assert (await summary(check_config(None)))[0] is State.OK
    # A $KUBECONFIG naming no existing file is not silently replaced by ~/.kube/config.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "gone"))
    assert await summary(check_config(None)) == (
        State.CRITICAL, f"no kubeconfig: $KUBECONFIG ({tmp_path / 'gone'}) not found and not running in a cluster")
    missing = tmp_path / "nope.yaml"
    assert await summary(check_config(missing)) == (State.CRITICAL, f"kubeconfig {missing} not found")


async def test_previous_container_log(kube: KubeAPI, runner: Runner):
    _, current, _ = world(kube, replicas=1)
    kube.add(make_pod(current, "api-crash", restart_count=3, waiting_reason="CrashLoopBackOff",
                      last_terminated_reason="OOMKilled"))
    kube.set_log(NS, "api-crash", "starting\n")
    kube.set_log(NS, "api-crash", "".join(f"line {i}\n" for i in range(150)) + "fatal: out of memory\n",
                 previous=True)
    [check] = runner.checks

    previous = await check.pod_logs("api-crash", previous=True)
    current_log = await check.pod_logs("api-crash", tail=5)

    assert previous.endswith("line 149\nfatal: out of memory\n") and len(previous.splitlines()) == 100
    assert current_log == "starting\n"
    [logs, _] = kube.requests_to("GET", f"/api/v1/namespaces/{NS}/pods/api-crash/log")
    assert logs.query == {"previous": "true", "tailLines": "100"}
    with pytest.raises(WarroomError, match='pods "api-gone" not found'):
        await check.pod_logs("api-gone")


def test_kubernetes_client_is_imported_only_when_a_check_runs():
    script = (
        "import sys\n"
        "import warroom.checks.registry as registry\n"
        "from warroom.config.models import KubernetesCheck\n"
        "registry.build_check(KubernetesCheck(name='k', deployment='api'))\n"
        "import warroom.sim.kubeapi\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes'))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=child_env(),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


async def test_registry_builds_the_check(kubeconfig: Path, kube: KubeAPI):
    world(kube)
    check = build_check(check_config(kubeconfig))
    try:
        [result] = await Runner([check]).run_once()
    finally:
        await check.close()
    assert isinstance(check, KubernetesCheck)
    assert result.state is State.OK and result.summary.startswith("api 5/5 ready, revision 7 deployed")


# --- the simulated API itself, as the client sees it --------------------------------------


async def test_sim_honours_the_patch_content_types_the_client_sends(kube: KubeAPI, kubeconfig: Path):
    from kubernetes.aio import client, config

    deployment, _, _ = world(kube)
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration,
                                  persist_config=False)
    async with client.ApiClient(configuration) as api_client:
        apps = client.AppsV1Api(api_client)
        template = {**deployment["spec"]["template"]}
        template["spec"] = {"containers": [{"name": "app", "image": "registry.example/api:6"}]}
        # A list body goes as JSON Patch ...
        await apps.patch_namespaced_deployment("api", NS, [
            {"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/metadata/annotations",
             "value": {"deployment.kubernetes.io/revision": "7", "note": "rolled back"}},
        ])
        # ... a dict as strategic merge (containers merged by name) ...
        await apps.patch_namespaced_deployment("api", NS, {"spec": {"template": {
            "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-24T09:00:00Z"}},
            "spec": {"containers": [{"name": "app", "env": [{"name": "FEATURE_X", "value": "off"}]}]}}}})
        # ... and the scale subresource as a merge patch when asked.
        scale = await apps.patch_namespaced_deployment_scale(
            "api", NS, {"spec": {"replicas": 2}}, _content_type="application/merge-patch+json")
        assert scale.spec.replicas == 2 and scale.status.selector == "app=api"
        await apps.patch_namespaced_deployment("api", NS, {"metadata": {"annotations": {"note": None}}},
                                               _content_type="application/merge-patch+json")
        read = await apps.read_namespaced_deployment("api", NS)

    patches = kube.requests_to("PATCH", DEPLOYMENT_PATH + "*")
    assert [r.content_type for r in patches] == [
        "application/json-patch+json", "application/strategic-merge-patch+json",
        "application/merge-patch+json", "application/merge-patch+json"]
    assert patches[0].body[0] == {"op": "replace", "path": "/spec/template", "value": template}
    assert patches[2].path == DEPLOYMENT_PATH + "/scale"
    assert read.spec.replicas == 2
    assert read.metadata.annotations == {"deployment.kubernetes.io/revision": "7"}
    [container] = read.spec.template.spec.containers
    assert container.image == "registry.example/api:6" and container.env[0].name == "FEATURE_X"
    assert read.metadata.generation == 4  # three spec changes; the annotation patch is not one
    assert read.metadata.uid == deployment["metadata"]["uid"]


async def test_sim_rejects_a_json_patch_on_a_missing_path(kube: KubeAPI, kubeconfig: Path):
    from kubernetes.aio import client, config

    world(kube)
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration,
                                  persist_config=False)
    async with client.ApiClient(configuration) as api_client:
        with pytest.raises(client.ApiException) as caught:
            await client.AppsV1Api(api_client).patch_namespaced_deployment(
                "api", NS, [{"op": "remove", "path": "/spec/nothing"}])
    assert caught.value.status == 422


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ("app=api,tier==web", {"app": "api", "tier": "web"}, True),
    ("app=api,tier=web", {"app": "api"}, False),
    ("app!=api", {"app": "worker"}, True),
    ("tier in (web, edge),!canary", {"tier": "edge"}, True),
    ("tier notin (web),canary", {"tier": "edge", "canary": "true"}, True),
    ("", {"anything": "x"}, True),
])
def test_label_selectors(selector: str, labels: dict, expected: bool):
    assert parse_selector(selector)(labels) is expected


async def test_deployed_ago_is_when_the_revision_last_became_current_not_when_its_replicaset_was_made(
        kube: KubeAPI, runner: Runner):
    """After a rollback the current ReplicaSet is an old one (created days ago, with a
    revision-history): the Progressing condition says when its rollout finished."""
    deployment, current, old = world(kube, revision=9)
    finished_at(deployment, minutes_ago(3))
    rolled_back = make_replicaset(deployment, 9, created=NOW - timedelta(days=40))
    rolled_back["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] = "5,7"
    kube.delete("ReplicaSet", NS, current["metadata"]["name"])
    kube.add(deployment, rolled_back)
    healthy_pods(kube, rolled_back, 5)
    [check] = runner.checks

    result = await runner.sample(check)
    assert result.summary == "api 5/5 ready, revision 9 deployed 3m ago"
    assert result.details["revision_changed_at"] == minutes_ago(3).isoformat()

    # Rolling out again to that old ReplicaSet: when that started is not in the objects.
    in_progress = make_deployment("api", NS, "registry.example/api:9", 5, 9, updated=2,
                                  created=NOW - timedelta(days=30))
    kube.add(in_progress)
    result = await runner.sample(check)
    assert result.summary == "api 5/5 ready, rollout in progress (2 of 5 updated), revision 9"
    assert result.details["revision_changed_at"] is None
