"""The Kubernetes mitigations, run with the real `kubernetes` client against the simulated
API (warroom.sim.kubeapi) on loopback: what they preview, the evidence they keep, and the
exact requests they send."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import pytest

from tests.conftest import REPO, child_env
from warroom import kube as kube_rules
from warroom.actions import kubernetes as actions
from warroom.actions.base import ActionFailed, Preview
from warroom.actions.registry import build_action
from warroom.config import models
from warroom.secrets import Secrets
from warroom.sim.kubeapi import KubeAPI, write_kubeconfig
from warroom.sim.kubeobjects import make_deployment, make_pod, make_replicaset
from warroom.kube.quantity import parse_quantity

NS = "production"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
DEPLOYMENT_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments/api"
REVISION = "deployment.kubernetes.io/revision"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CHANGE_CAUSE = "kubernetes.io/change-cause"
CONFIGS = {
    actions.Rollback: models.KubernetesRollback, actions.Scale: models.KubernetesScale,
    actions.Restart: models.KubernetesRestart, actions.DeletePod: models.KubernetesDeletePod,
    actions.SetEnv: models.KubernetesSetEnv, actions.Pause: models.KubernetesPause,
    actions.Resume: models.KubernetesResume,
}


@pytest.fixture
async def kube(monkeypatch: pytest.MonkeyPatch):
    # Isolated from the developer's shell (loopback bypasses their proxies anyway).
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(var, raising=False)
    async with KubeAPI() as api:
        yield api


@pytest.fixture
def kubeconfig(kube: KubeAPI, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", kube.base_url)


@pytest.fixture
async def make(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch):
    """``make(Rollback, to_revision=6)``: an action on production/api, closed afterwards;
    the kubeconfig found through $KUBECONFIG, as kubectl in the same shell finds it."""
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    built = []

    def build(cls, **fields):
        config = CONFIGS[cls](**{"name": "mitigate-api", "namespace": NS, "deployment": "api", **fields})
        action = cls(config, clock=lambda: NOW)
        built.append(action)
        return action

    yield build
    for action in built:
        await action.close()


def world(kube: KubeAPI, *, revisions=(6, 7), paused: bool = False, replicas: int = 5,
          containers: list[dict] | None = None) -> tuple[dict, dict[int, dict]]:
    """Deployment api at the last of ``revisions`` (image registry.example/api:N), one
    ReplicaSet per revision; the Deployment's template is the last one's."""
    current = revisions[-1]
    deployment = make_deployment("api", NS, f"registry.example/api:{current}", replicas, current,
                                 paused=paused, created=NOW - timedelta(days=30))
    if containers is not None:
        deployment["spec"]["template"]["spec"]["containers"] = containers
    deployment["metadata"]["annotations"].update({LAST_APPLIED: '{"kind":"Deployment"}', "team": "payments",
                                                  CHANGE_CAUSE: f"deploy {current}"})
    replica_sets = {}
    for revision in revisions:
        rs = make_replicaset(deployment, revision, f"registry.example/api:{revision}",
                             created=NOW - timedelta(hours=100 - revision))
        rs["metadata"]["annotations"][CHANGE_CAUSE] = f"deploy {revision}"
        replica_sets[revision] = rs
    kube.add(deployment, *replica_sets.values())
    return deployment, replica_sets


def on(kube: KubeAPI) -> str:
    """What a preview says of the cluster and the context it acts on."""
    return f" on context warroom-test at {kube.base_url}"


def patches(kube: KubeAPI) -> list:
    return kube.requests_to("PATCH", DEPLOYMENT_PATH + "*")


# --- rollout undo -------------------------------------------------------------------------


async def test_rollback_to_the_previous_revision_as_kubectl_does(kube: KubeAPI, make):
    deployment, replica_sets = world(kube)
    replica_sets[6]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] = "2,4"
    kube.add(replica_sets[6])
    # Another Deployment selecting the same labels, with a higher revision: not ours.
    canary = make_deployment("api-canary", NS, "registry.example/api:9", 1, 9, labels={"app": "api"})
    kube.add(canary, make_replicaset(canary, 9), make_replicaset(canary, 8, "registry.example/api:8"))
    rollback = make(actions.Rollback)

    preview = await rollback.preview()

    assert preview.summary == (f"deployment/api (production){on(kube)}: revision 7 image registry.example/api:7 -> "
                               "revision 6 image registry.example/api:6")
    assert preview.equivalent == "kubectl rollout undo deployment/api -n production"
    assert preview.target == "api" and preview.noop is None
    assert preview.lines == ('spec.containers[app].image: "registry.example/api:7" -> "registry.example/api:6"',)
    assert not patches(kube)

    outcome = await rollback.execute(preview)

    [patch] = patches(kube)
    assert patch.path == DEPLOYMENT_PATH and patch.content_type == "application/json-patch+json"
    assert patch.body == [
        {"op": "replace", "path": "/spec/template", "value": {
            "metadata": {"labels": {"app": "api"}},
            "spec": {"containers": [{"name": "app", "image": "registry.example/api:6"}]}}},
        # kubectl: the Deployment keeps its own revision and last-applied annotations and
        # takes every other one from the ReplicaSet ("team", only on the Deployment, goes).
        {"op": "replace", "path": "/metadata/annotations", "value": {
            REVISION: "7", LAST_APPLIED: '{"kind":"Deployment"}', CHANGE_CAUSE: "deploy 6"}},
    ]
    stored = kube.get("Deployment", NS, "api")
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/api:6"
    assert stored["metadata"]["uid"] == deployment["metadata"]["uid"]
    assert outcome.ok and outcome.summary == ("deployment/api (production) rolled back to revision 6 "
                                              "(image registry.example/api:6)")
    assert outcome.before == {"revision": 7, "images": ["registry.example/api:7"]}
    assert outcome.after == {"revision": 6, "images": ["registry.example/api:6"]}


async def test_rollback_to_a_given_revision(kube: KubeAPI, make):
    world(kube, revisions=(5, 6, 7))

    preview = await make(actions.Rollback, to_revision=5).preview()
    await make(actions.Rollback, to_revision=5).execute(preview)

    assert preview.summary.endswith("-> revision 5 image registry.example/api:5")
    assert preview.equivalent == "kubectl rollout undo deployment/api -n production --to-revision=5"
    [patch] = patches(kube)
    assert patch.body[0]["value"]["spec"]["containers"][0]["image"] == "registry.example/api:5"
    with pytest.raises(ActionFailed, match=r"^revision 3 not found in the history of deployment api "
                                           r"\(revisions: 5, 6, 7\)$"):
        await make(actions.Rollback, to_revision=3).preview()


async def test_rollback_refuses_a_paused_deployment(kube: KubeAPI, make):
    world(kube, paused=True)
    rollback = make(actions.Rollback)

    with pytest.raises(ActionFailed) as caught:
        await rollback.preview()

    assert caught.value.summary == "deployment api is paused: resume it first"
    assert rollback.describe(caught.value) == "deployment api is paused: resume it first"
    assert not patches(kube)


async def test_rollback_without_history(kube: KubeAPI, make):
    world(kube, revisions=(7,))

    with pytest.raises(ActionFailed, match="^no previous revision of deployment api to roll back to "
                                           r"\(only revision 7\)$"):
        await make(actions.Rollback).preview()


async def test_rollback_to_the_current_template_is_a_noop(kube: KubeAPI, make):
    world(kube)  # the ReplicaSet carries pod-template-hash, the Deployment does not

    preview = await make(actions.Rollback, to_revision=7).preview()

    assert preview.noop == "current template already matches revision 7"
    assert preview.lines == ()
    assert not patches(kube)


async def test_rollback_refuses_a_preview_gone_stale(kube: KubeAPI, make):
    world(kube)
    rollback = make(actions.Rollback)
    preview = await rollback.preview()
    kube.patch("Deployment", NS, "api", {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "registry.example/api:8"}]}}}})

    with pytest.raises(ActionFailed, match="^deployment api changed since the preview: preview it again$"):
        await rollback.execute(preview)
    assert not patches(kube)


async def test_rollback_evidence_specs_and_the_logs_of_the_pods_it_replaces(kube: KubeAPI, make):
    _, replica_sets = world(kube)
    current, old = replica_sets[7], replica_sets[6]
    kube.add(make_pod(current, "api-ok"), make_pod(old, "api-old"),
             make_pod(current, "api-crash", restart_count=4, waiting_reason="CrashLoopBackOff"))
    kube.set_log(NS, "api-ok", "serving\n")
    kube.set_log(NS, "api-crash", "starting\n")
    kube.set_log(NS, "api-crash", "".join(f"line {i}\n" for i in range(150)) + "panic: nil map\n",
                 previous=True)
    rollback = make(actions.Rollback)

    evidence = await rollback.evidence(await rollback.preview())

    titles = [e.title for e in evidence]
    assert titles == [
        "deployment/api (revision 7)",
        f"replicaset/{current['metadata']['name']} (revision 7, current)",
        f"replicaset/{old['metadata']['name']} (revision 6, target)",
        "logs of pod api-crash", "logs of pod api-ok",  # not api-old: it belongs to the target
    ]
    assert '"image": "registry.example/api:6"' in evidence[2].text
    crash = evidence[3].text
    assert crash.startswith("pod api-crash (CrashLoopBackOff, 4 restarts, node node-1)\n")
    assert "--- container app (current): last 100 lines ---\nstarting\n" in crash
    previous = crash.split("(previous instance, before the last restart): last 100 lines ---\n")[1]
    assert previous.endswith("line 149\npanic: nil map\n") and len(previous.splitlines()) == 100
    assert evidence[3].data["logs"] == [{"container": "app", "previous": False},
                                        {"container": "app", "previous": True}]
    assert "previous instance" not in evidence[4].text and "serving\n" in evidence[4].text
    logs = kube.requests_to("GET", f"/api/v1/namespaces/{NS}/pods/*/log")
    assert {(r.path.split("/")[-2], r.query.get("previous")) for r in logs} == {
        ("api-crash", "false"), ("api-crash", "true"), ("api-ok", "false")}
    assert all(r.query["tailLines"] == "100" for r in logs)


# --- scale, restart, pause, resume ----------------------------------------------------------


async def test_scale_is_a_merge_patch_of_the_scale_subresource(kube: KubeAPI, make):
    world(kube, replicas=5)
    scale = make(actions.Scale, replicas=10)

    preview = await scale.preview()
    outcome = await scale.execute(preview)

    assert preview.summary == f"deployment/api (production){on(kube)}: scale 5 -> 10 replicas"
    assert preview.equivalent == "kubectl scale deployment/api -n production --replicas=10"
    [patch] = patches(kube)
    assert (patch.path, patch.content_type, patch.body) == (
        DEPLOYMENT_PATH + "/scale", "application/merge-patch+json", {"spec": {"replicas": 10}})
    assert kube.get("Deployment", NS, "api")["spec"]["replicas"] == 10
    assert (outcome.before, outcome.after) == ({"replicas": 5}, {"replicas": 10})
    assert (await make(actions.Scale, replicas=10).preview()).noop == "already at 10 replicas"


async def test_restart_patches_restarted_at_with_strategic_merge(kube: KubeAPI, make):
    _, replica_sets = world(kube)
    kube.add(make_pod(replica_sets[7], "api-a"), make_pod(replica_sets[7], "api-b"))
    restart = make(actions.Restart)

    preview = await restart.preview()
    evidence = await restart.evidence(preview)
    outcome = await restart.execute(preview)

    assert preview.summary == (f"deployment/api (production){on(kube)}: restart 2 pods "
                               "(revision 7, image registry.example/api:7)")
    assert preview.equivalent == "kubectl rollout restart deployment/api -n production"
    assert [e.title for e in evidence] == ["logs of pod api-a", "logs of pod api-b"]
    [patch] = patches(kube)
    assert patch.content_type == "application/strategic-merge-patch+json"
    assert patch.body == {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-11-24T09:00:00Z"}}}}}
    assert outcome.after["restartedAt"] == "2026-11-24T09:00:00Z" and outcome.before["restartedAt"] is None


async def test_restart_refuses_a_paused_deployment(kube: KubeAPI, make):
    world(kube, paused=True)
    with pytest.raises(ActionFailed, match="^deployment api is paused: resume it first$"):
        await make(actions.Restart).preview()


@pytest.mark.parametrize(("cls", "paused", "verb"), [(actions.Pause, True, "pause"),
                                                     (actions.Resume, False, "resume")])
async def test_pause_and_resume(kube: KubeAPI, make, cls, paused: bool, verb: str):
    world(kube, paused=not paused)
    action = make(cls)

    preview = await action.preview()
    outcome = await action.execute(preview)

    assert preview.equivalent == f"kubectl rollout {verb} deployment/api -n production"
    assert preview.summary == (f"deployment/api (production){on(kube)}: {verb} the rollout "
                               "(revision 7, image registry.example/api:7)")
    [patch] = patches(kube)
    assert (patch.content_type, patch.body) == ("application/strategic-merge-patch+json",
                                                {"spec": {"paused": paused}})
    assert (outcome.before, outcome.after) == ({"paused": not paused}, {"paused": paused})
    assert (await make(cls).preview()).noop is not None


# --- set env ---------------------------------------------------------------------------------


async def test_set_env_on_every_container_merged_by_name(kube: KubeAPI, make):
    world(kube, containers=[
        {"name": "app", "image": "registry.example/api:7", "env": [
            {"name": "FEATURE_X", "value": "on"}, {"name": "LOG_LEVEL", "value": "debug"},
            {"name": "REGION", "valueFrom": {"configMapKeyRef": {"name": "site", "key": "region"}}}]},
        {"name": "proxy", "image": "registry.example/proxy:1"},
    ])
    set_env = make(actions.SetEnv, env={"FEATURE_X": "off", "LOG_LEVEL": "debug", "REGION": "eu"})

    preview = await set_env.preview()
    outcome = await set_env.execute(preview)

    assert preview.summary == (f'deployment/api (production){on(kube)}: set env FEATURE_X="off" (was "on" in app, '
                               'unset in proxy), LOG_LEVEL="debug" (was unset), REGION="eu" (was from '
                               'configMapKeyRef site/region in app, unset in proxy)')
    assert preview.lines == (
        'app: FEATURE_X "on" -> "off"', 'app: REGION from configMapKeyRef site/region -> "eu"',
        'proxy: FEATURE_X unset -> "off"', 'proxy: LOG_LEVEL unset -> "debug"', 'proxy: REGION unset -> "eu"')
    assert preview.equivalent == ("kubectl set env deployment/api -n production FEATURE_X=off "
                                  "LOG_LEVEL=debug REGION=eu")
    [patch] = patches(kube)
    assert patch.content_type == "application/strategic-merge-patch+json"
    assert patch.body == {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "FEATURE_X", "value": "off"},
                                {"name": "REGION", "value": "eu", "valueFrom": None}]},
        {"name": "proxy", "env": [{"name": "FEATURE_X", "value": "off"}, {"name": "LOG_LEVEL", "value": "debug"},
                                  {"name": "REGION", "value": "eu"}]},
    ]}}}}
    app, proxy = kube.get("Deployment", NS, "api")["spec"]["template"]["spec"]["containers"]
    assert app["env"] == [{"name": "FEATURE_X", "value": "off"}, {"name": "LOG_LEVEL", "value": "debug"},
                          {"name": "REGION", "value": "eu"}]
    assert [e["name"] for e in proxy["env"]] == ["FEATURE_X", "LOG_LEVEL", "REGION"]
    assert outcome.after == {"env": {"app": {"FEATURE_X": '"off"', "LOG_LEVEL": '"debug"', "REGION": '"eu"'},
                                     "proxy": {"FEATURE_X": '"off"', "LOG_LEVEL": '"debug"', "REGION": '"eu"'}}}
    again = await make(actions.SetEnv, env={"FEATURE_X": "off"}).preview()
    assert again.noop == "FEATURE_X already set on every container"


async def test_set_env_masks_secret_values(kube: KubeAPI, make, kubeconfig: Path):
    world(kube)
    config = models.KubernetesSetEnv(name="token", namespace=NS, deployment="api", kubeconfig=kubeconfig,
                                     env={"API_TOKEN": "s3cr3t-value"})
    action = actions.SetEnv(config, ["s3cr3t-value"])
    try:
        preview = await action.preview()
    finally:
        await action.close()
    assert "s3cr3t" not in preview.summary + preview.equivalent + "".join(preview.lines)
    assert preview.plan["patch"]["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "s3cr3t-value"


async def test_set_env_sends_the_value_and_shows_the_template(kube: KubeAPI, kubeconfig: Path):
    world(kube)
    config = models.KubernetesSetEnv(name="token", namespace=NS, deployment="api", kubeconfig=kubeconfig,
                                     env={"API_TOKEN": "${WR_API_TOKEN}"})
    action = actions.SetEnv(config, Secrets({"WR_API_TOKEN": "s3cr3t-value"}))
    try:
        preview = await action.preview()
        outcome = await action.execute(preview)
        again = await action.preview()
    finally:
        await action.close()
    shown = repr((preview.summary, preview.equivalent, preview.lines, preview.plan, outcome))
    assert "s3cr3t" not in shown and "${WR_API_TOKEN}" in preview.summary
    [patch] = patches(kube)
    assert patch.body["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "API_TOKEN", "value": "s3cr3t-value"}]
    assert outcome.after == {"env": {"app": {"API_TOKEN": '"${WR_API_TOKEN}"'}}}
    assert again.noop == "API_TOKEN already set on every container"  # compared by value


# --- delete pod -------------------------------------------------------------------------------


def ended_in_error(pod: dict) -> dict:
    """The pod's app container between two restarts: terminated with reason Error."""
    pod["status"]["containerStatuses"][0]["state"] = {"terminated": {"reason": "Error", "exitCode": 1}}
    return pod


async def test_delete_pod_deletes_only_the_failing_pods(kube: KubeAPI, make):
    _, replica_sets = world(kube)
    rs = replica_sets[7]
    ago = lambda minutes: NOW - timedelta(minutes=minutes)  # noqa: E731
    kube.add(make_pod(rs, "api-ok-1"), make_pod(rs, "api-ok-2"),
             make_pod(rs, "api-crash", restart_count=7, waiting_reason="CrashLoopBackOff",
                      last_terminated_reason="Error"),
             make_pod(rs, "api-pull", waiting_reason="ImagePullBackOff"),
             ended_in_error(make_pod(rs, "api-error", restart_count=2, ready=False, created=ago(1))),
             make_pod(rs, "api-stuck", ready=False, created=ago(12)),
             # Left alone: unready for less than the threshold, and still being created
             # (a normal rollout's new pod), however long that takes.
             make_pod(rs, "api-warming", ready=False, created=ago(2)),
             make_pod(rs, "api-creating", phase="Pending", waiting_reason="ContainerCreating", created=ago(30)))
    canary = make_deployment("api-canary", NS, "registry.example/api:9", 1, 9, labels={"app": "api"})
    canary_rs = make_replicaset(canary, 9)
    kube.add(canary, canary_rs, make_pod(canary_rs, "canary-crash", waiting_reason="CrashLoopBackOff"))
    kube.set_log(NS, "api-crash", "booting\n")
    kube.set_log(NS, "api-crash", "panic: connection pool exhausted\n", previous=True)
    delete = make(actions.DeletePod)

    preview = await delete.preview()
    evidence = await delete.evidence(preview)
    outcome = await delete.execute(preview)

    failing = ["api-crash", "api-error", "api-pull", "api-stuck"]
    assert preview.summary == (f"deployment/api (production){on(kube)}: delete 4 pods: "
                               "api-crash (CrashLoopBackOff, 7 restarts) (+3 more)")
    assert preview.lines == ("api-crash (CrashLoopBackOff, 7 restarts)", "api-error (Error, 2 restarts)",
                             "api-pull (ImagePullBackOff, 0 restarts)", "api-stuck (not ready for 12m, 0 restarts)")
    assert preview.equivalent == "kubectl delete pod api-crash api-error api-pull api-stuck -n production"
    assert [e.title for e in evidence] == [f"logs of pod {name}" for name in failing]
    assert "panic: connection pool exhausted" in evidence[0].text
    assert [r.path.rsplit("/", 1)[1] for r in kube.requests if r.method == "DELETE"] == failing
    assert sorted(p["metadata"]["name"] for p in kube.objects("Pod", NS)) == [
        "api-creating", "api-ok-1", "api-ok-2", "api-warming", "canary-crash"]
    assert outcome.summary == f"deleted 4 pods of deployment/api (production): {', '.join(failing)}"
    assert (await make(actions.DeletePod).preview()).noop == (
        "no failing pod in deployment/api (production) (crash-looping, erroring, or unready for 5m)")
    # The threshold is the action's: at 1 minute the warming pod counts too.
    assert (await make(actions.DeletePod, unready_for="1m").preview()).plan["pods"] == ["api-warming"]


async def test_delete_a_configured_pod(kube: KubeAPI, make):
    _, replica_sets = world(kube)
    canary = make_deployment("api-canary", NS, "registry.example/api:9", 1, 9, labels={"app": "api"})
    canary_rs = make_replicaset(canary, 9)
    kube.add(make_pod(replica_sets[7], "api-1"), canary, canary_rs, make_pod(canary_rs, "canary-1"))

    preview = await make(actions.DeletePod, pod="api-1").preview()
    assert preview.plan["pods"] == ["api-1"] and preview.noop is None
    with pytest.raises(ActionFailed, match="^pod canary-1 does not belong to deployment api$"):
        await make(actions.DeletePod, pod="canary-1").preview()
    with pytest.raises(ActionFailed, match="^pod api-gone not found in namespace production$"):
        await make(actions.DeletePod, pod="api-gone").preview()
    kube.delete("Pod", NS, "api-1")  # gone between preview and execute: not a failure
    outcome = await make(actions.DeletePod, pod="api-1").execute(preview)
    assert outcome.ok and outcome.after == {"deleted": [], "already_gone": ["api-1"]}


# --- errors, registry, imports ------------------------------------------------------------------


async def test_errors_are_one_line(kube: KubeAPI, make, kubeconfig: Path):
    rollback = make(actions.Rollback)
    with pytest.raises(ActionFailed) as missing:
        await rollback.preview()
    assert rollback.describe(missing.value) == "deployment api not found in namespace production"

    world(kube)
    message = ('deployments.apps "api" is forbidden: User "system:serviceaccount:ops:warroom" '
               'cannot patch resource "deployments/scale" in API group "apps" in the namespace "production"')
    kube.fail(403, method="PATCH", path=DEPLOYMENT_PATH + "/scale", message=message)
    scale = make(actions.Scale, replicas=2)
    preview = await scale.preview()
    with pytest.raises(Exception) as forbidden:
        await scale.execute(preview)
    assert scale.describe(forbidden.value) == (
        'forbidden: patch deployments.apps/scale "api" in namespace production as '
        f"system:serviceaccount:ops:warroom (403 from 127.0.0.1:{kube.port})")

    await kube.stop()
    pause = make(actions.Pause)
    with pytest.raises(Exception) as refused:
        await pause.preview()
    assert pause.describe(refused.value) == f"connection refused 127.0.0.1:{kube.port}"


async def test_no_kubeconfig_is_one_line(kube: KubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = models.KubernetesPause(name="pause", namespace=NS, deployment="api", context="prod")
    action = actions.Pause(config)
    with pytest.raises(ActionFailed) as caught:
        await action.preview()
    assert action.describe(caught.value) == (
        f"no kubeconfig: {tmp_path / 'home' / '.kube' / 'config'} not found and not running in a cluster")


@pytest.mark.parametrize("cls", list(CONFIGS))
def test_registry_builds_each_kind(cls, kubeconfig: Path):
    extra = {"replicas": 1} if cls is actions.Scale else {"env": {"A": "1"}} if cls is actions.SetEnv else {}
    config = CONFIGS[cls](name="x", namespace=NS, deployment="api", kubeconfig=kubeconfig, **extra)
    assert type(build_action(config)) is cls


def test_equivalent_names_the_context_and_a_kubeconfig_kubectl_would_not_read(
        kubeconfig: Path, monkeypatch: pytest.MonkeyPatch):
    config = models.KubernetesRollback(name="x", namespace=NS, deployment="api", context="prod-eu",
                                       to_revision=6)
    assert actions.Rollback(config).equivalent("--to-revision=6") == (
        "kubectl rollout undo deployment/api -n production --to-revision=6 --context=prod-eu")
    named = models.KubernetesRollback(name="x", namespace=NS, deployment="api", kubeconfig=kubeconfig)
    assert actions.Rollback(named).equivalent() == (
        f"kubectl rollout undo deployment/api -n production --kubeconfig={kubeconfig}")
    # The file kubectl reads anyway needs no flag.
    monkeypatch.setenv("HOME", str(kubeconfig.parent))
    default = kubeconfig.parent / ".kube" / "config"
    default.parent.mkdir()
    default.write_text(kubeconfig.read_text())
    plain = models.KubernetesRollback(name="x", namespace=NS, deployment="api", kubeconfig=default)
    assert actions.Rollback(plain).equivalent() == "kubectl rollout undo deployment/api -n production"


async def test_a_second_restart_within_the_same_second_is_refused_as_kubectl_does(kube: KubeAPI, make):
    world(kube)
    first = make(actions.Restart)
    await first.execute(await first.preview())

    again = make(actions.Restart)  # the same clock: the same second
    message = ("deployment api: a restart was already triggered within the past second "
               "(restartedAt 2026-11-24T09:00:00Z): wait before triggering another")
    with pytest.raises(ActionFailed, match=re.escape(message)):
        await again.preview()
    with pytest.raises(ActionFailed, match=re.escape(message)):  # and if it was previewed before the first
        await again.execute(Preview("restart", "", "api", {"state": {}, "pods": []}))
    assert len(patches(kube)) == 1
    later = actions.Restart(again.config, clock=lambda: NOW + timedelta(seconds=1))
    try:
        await later.execute(await later.preview())
    finally:
        await later.close()
    assert len(patches(kube)) == 2


def test_the_kubernetes_client_is_not_imported_with_the_module():
    script = ("import sys, warroom.actions.kubernetes\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes'))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=child_env(),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("annotations", "revision"), [
    ({REVISION: "7"}, 7),
    ({REVISION: "+7"}, 7),  # strconv.ParseInt takes a sign
    (None, None),  # no annotations at all (the client's model gives None)
    ({}, None),  # kubectl's Revision says 0 here: see revision_of
    ({REVISION: ""}, None),
    ({REVISION: "x"}, None),
    ({REVISION: " 7"}, None),  # Python's int() would take these three; ParseInt does not
    ({REVISION: "1_0"}, None),
    ({REVISION: "\u0667"}, None),  # an Arabic-Indic 7
    ({REVISION: str(2**63)}, None),  # beyond int64
])
def test_revision_of(annotations, revision):
    assert kube_rules.revision_of(annotations) == revision


def test_an_unnumbered_replicaset_is_never_the_previous_revision():
    rs = lambda n, rev: {"metadata": {"name": n, "annotations": {REVISION: rev} if rev else {}}}  # noqa: E731
    with pytest.raises(kube_rules.NoRevision, match=r"only revision 3"):
        kube_rules.choose_revision([rs("adopted", None), rs("c", "3")], None, "api")


def test_the_selector_reads_the_same_from_json_and_from_the_clients_model():
    from kubernetes.aio.client import V1LabelSelector, V1LabelSelectorRequirement

    model = V1LabelSelector(match_labels={"b": "2", "a": "1"}, match_expressions=[
        V1LabelSelectorRequirement(key="tier", operator="NotIn", values=["web"]),
        V1LabelSelectorRequirement(key="canary", operator="Exists")])
    assert kube_rules.selector_query(model.to_dict(serialize=True)) == "a=1,b=2,tier notin (web),canary"
    assert kube_rules.selector_query(V1LabelSelector().to_dict(serialize=True)) == ""


def test_kubectl_rules_on_plain_objects():
    rs = lambda n, rev: {"metadata": {"name": n, "annotations": {REVISION: rev} if rev else {}}}  # noqa: E731
    # A ReplicaSet without the annotation or with an unparsable one has no revision: skipped.
    history = [rs("a", None), rs("b", "x"), rs("c", "3"), rs("d", "10"), rs("e", "2")]
    assert kube_rules.choose_revision(history, None, "api")["metadata"]["name"] == "c"
    assert kube_rules.choose_revision(history, 0, "api")["metadata"]["name"] == "c"  # 0: kubectl's "previous"
    assert kube_rules.choose_revision(history, 2, "api")["metadata"]["name"] == "e"
    a = {"metadata": {"labels": {"app": "api", "pod-template-hash": "abc"}, "annotations": {}},
         "spec": {"containers": [{"name": "app", "image": "x", "env": []}]}}
    b = {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}
    assert kube_rules.same_template(a, b)
    assert not kube_rules.same_template(a, {**b, "spec": {"containers": [{"name": "app", "image": "y"}]}})
    assert kube_rules.selector_query({"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["web", "edge"]}, {"key": "canary", "operator": "DoesNotExist"}]}
    ) == "a=1,b=2,tier in (web,edge),!canary"
    # No annotations at all: "add" (a JSON Patch "replace" needs the member to exist).
    bare = {"metadata": {"name": "api"}, "spec": {"template": b}}
    assert kube_rules.rollback_patch(bare, {"metadata": {}, "spec": {"template": a}})[1] == {
        "op": "add", "path": "/metadata/annotations", "value": {}}


# --- Semantic.DeepEqual: quantities by value, empty values ----------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("1", 1), ("1000m", 1), ("0.5", Fraction(1, 2)), ("500m", Fraction(1, 2)), ("100n", Fraction(1, 10**7)),
    ("250u", Fraction(1, 4000)), ("1k", 1000), ("1M", 10**6), ("2G", 2 * 10**9), ("1T", 10**12),
    ("1P", 10**15), ("1E", 10**18), ("1Ki", 1024), ("1Mi", 2**20), ("1Gi", 2**30), ("1.5Gi", 3 * 2**29),
    ("1Ti", 2**40), ("1Pi", 2**50), ("1Ei", 2**60), ("1e3", 1000), ("1E3", 1000), ("5e-3", Fraction(1, 200)),
    ("+2", 2), ("-1", -1), (".5", Fraction(1, 2)), ("1.", 1), (2, 2), (0.25, Fraction(1, 4)),
])
def test_quantities_parse_as_apimachinery_reads_them(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "1 Gi", "1gi", "1Gb", "Mi", "1e", "--1", "1..0", "0x10", True])
def test_what_is_not_a_quantity(text):
    with pytest.raises(ValueError):
        parse_quantity(text)


def test_template_equality_is_semantic():
    def template(resources=None, env=None, volumes=None):
        container = {"name": "app", "image": "x", **({"resources": resources} if resources else {}),
                     **({"env": env} if env is not None else {})}
        return {"metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [container], **({"volumes": volumes} if volumes else {})}}

    same = [
        ({"limits": {"cpu": "1", "memory": "1Gi"}}, {"limits": {"cpu": "1000m", "memory": "1024Mi"}}),
        ({"requests": {"cpu": 1}}, {"requests": {"cpu": "1"}}),
        ({"requests": {"memory": "1e3"}}, {"requests": {"memory": "1k"}}),
    ]
    for a, b in same:
        assert kube_rules.same_template(template(a), template(b)), (a, b)
        assert kube_rules.template_diff(template(a), template(b)) == []
    assert not kube_rules.same_template(template({"limits": {"cpu": "1"}}), template({"limits": {"cpu": "1001m"}}))
    assert kube_rules.template_diff(template({"limits": {"cpu": "1"}}), template({"limits": {"cpu": "2"}})) == [
        'spec.containers[app].resources.limits.cpu: "1" -> "2"']
    # Empty and missing are the same (a string's zero value, nil vs empty lists and maps).
    assert kube_rules.same_template(template(env=[{"name": "A", "value": ""}]), template(env=[{"name": "A"}]))
    assert kube_rules.same_template(template(env=[]), template())
    assert not kube_rules.same_template(template(env=[{"name": "A", "value": "1"}]), template(env=[{"name": "A"}]))
    size = lambda s: [{"name": "tmp", "emptyDir": {"sizeLimit": s}}]  # noqa: E731
    assert kube_rules.same_template(template(volumes=size("1Gi")), template(volumes=size("1073741824")))
    assert not kube_rules.same_template(template(volumes=size("1Gi")), template(volumes=size("1G")))
    # Only where a quantity goes: an image tag "1" is not "1000m".
    assert not kube_rules.same_template({"spec": {"containers": [{"name": "a", "image": "1"}]}},
                                        {"spec": {"containers": [{"name": "a", "image": "1000m"}]}})
