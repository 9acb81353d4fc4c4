"""Kubernetes Deployment health: ready replicas, the rollout judged the way
`kubectl rollout status` judges it, the current revision and when it was deployed, the
rollout history, and the pods' restarts and waiting reasons.

The kubernetes client (``kubernetes.aio``) takes ~0.9 s to import, so it is imported on
the first sample (in a thread, not blocking the event loop), never when this module is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

from warroom.checks.base import Check, CheckFailed, Probe, State
from warroom.domain.clock import Clock, system_clock
from warroom.domain.durations import coarse, format_duration
from warroom.errors import WarroomError
from warroom.kube import KubeClient, KubeUnavailable, import_client, revision_of, selector_query
from warroom.kube.deployments import became_current
from warroom.kube.quantity import parse_quantity
from warroom.text import mask_text

# Waiting reasons that mean the pod will not come up without someone acting.
FAILING = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull")


@dataclass(frozen=True, slots=True)
class Rollout:
    """`kubectl rollout status` for a Deployment: ``phase`` is complete, progressing,
    stuck, unobserved or degraded (a finished rollout whose pods became unavailable,
    which kubectl also reports as waiting); ``message`` says what it waits for."""

    phase: str
    message: str

    @property
    def done(self) -> bool:
        return self.phase == "complete"


def judge_rollout(deployment: Any) -> Rollout:
    """kubectl's DeploymentStatusViewer, step for step (rollout_status.go)."""
    meta, spec, status = deployment.metadata, deployment.spec, deployment.status
    if status is None or (meta.generation or 0) > (status.observed_generation or 0):
        return Rollout("unobserved", "waiting for rollout to be observed")
    progressing = next((c for c in status.conditions or () if c.type == "Progressing"), None)
    if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        return Rollout("stuck", "rollout stuck: progress deadline exceeded")
    desired = spec.replicas if spec.replicas is not None else 1
    updated, total = status.updated_replicas or 0, status.replicas or 0
    available = status.available_replicas or 0
    if updated < desired:
        return Rollout("progressing", f"{updated} of {desired} updated")
    if total > updated:
        return Rollout("progressing", f"{total - updated} old replicas terminating")
    if available < updated:
        finished = progressing is not None and progressing.reason == "NewReplicaSetAvailable"
        return Rollout("degraded" if finished else "progressing", f"{available} of {updated} available")
    return Rollout("complete", "complete")


def controller_uid(obj: Any) -> str | None:
    for ref in obj.metadata.owner_references or ():
        if ref.controller:
            return ref.uid
    return None


def history_entry(rs: Any) -> dict[str, Any]:
    """One line of `kubectl rollout history`, with the images and when it was created."""
    template = rs.spec.template
    created = rs.metadata.creation_timestamp
    return {
        "revision": revision_of(rs.metadata.annotations), "name": rs.metadata.name,
        "images": [c.image for c in template.spec.containers] if template and template.spec else [],
        "created": created.isoformat() if created else None,
        "replicas": rs.spec.replicas or 0,
        "ready": (rs.status.ready_replicas or 0) if rs.status else 0,
    }


def pod_facts(pod: Any) -> dict[str, Any]:
    """One pod as the detail view shows it; the most telling container state wins (a
    failing waiting reason over any other; init containers included)."""
    status = pod.status
    containers = [*(status.init_container_statuses or ()), *(status.container_statuses or ())]
    waiting = [c.state.waiting.reason for c in containers if c.state and c.state.waiting and c.state.waiting.reason]
    terminated = [c.last_state.terminated.reason for c in containers
                  if c.last_state and c.last_state.terminated and c.last_state.terminated.reason]
    ready_condition = next((c for c in status.conditions or () if c.type == "Ready"), None)
    ready = (ready_condition.status == "True" if ready_condition is not None
             else bool(status.container_statuses) and all(c.ready for c in status.container_statuses))
    current_terminated = [c.state.terminated.reason for c in containers
                          if c.state and c.state.terminated and c.state.terminated.reason]
    unready_since = None
    if not ready:
        unready_since = (ready_condition.last_transition_time if ready_condition is not None
                         else pod.metadata.creation_timestamp)
    return {
        "name": pod.metadata.name,
        "phase": "Terminating" if pod.metadata.deletion_timestamp else status.phase,
        "ready": ready,
        "restarts": sum(c.restart_count or 0 for c in containers),
        "waiting_reason": next((r for r in waiting if r in FAILING), waiting[0] if waiting else None),
        "last_terminated_reason": next((r for r in terminated if r == "OOMKilled"),
                                       terminated[0] if terminated else None),
        "terminated_reason": next((r for r in current_terminated if r == "Error"),
                                  current_terminated[0] if current_terminated else None),
        "not_ready_since": unready_since.isoformat() if unready_since else None,
        "containers": [c.name for c in pod.spec.containers],
        "node": pod.spec.node_name,
        "limits": {c.name: dict(c.resources.limits) for c in pod.spec.containers
                   if c.resources is not None and c.resources.limits},
    }


STARTING = ("ContainerCreating", "PodInitializing")  # a new pod of a rollout, on its way up


def failing_reason(facts: dict[str, Any], now: datetime, unready_for: timedelta) -> str | None:
    """Why a pod counts as failing, for a delete_pod that names no pod; None for a pod to
    leave alone. Failing: a failing waiting reason (CrashLoopBackOff, ImagePullBackOff,
    ErrImagePull), a container that ended in Error, a Failed pod (evicted), or not ready
    for ``unready_for`` or longer. Never a pod still being created: in a normal rollout
    the new pods are unready in ContainerCreating, and deleting them stalls the rollout."""
    if facts["waiting_reason"] in FAILING:
        return facts["waiting_reason"]
    if facts.get("terminated_reason") == "Error":
        return "Error"
    if facts["phase"] == "Failed":
        return "Failed"
    if facts["ready"] or facts["waiting_reason"] in STARTING or not facts.get("not_ready_since"):
        return None
    unready = now - datetime.fromisoformat(facts["not_ready_since"])
    return f"not ready for {format_duration(coarse(unready))}" if unready >= unready_for else None


PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure")
NEAR_LIMIT = 0.9
"""A container using this share of its limit: memory near an OOM kill, CPU throttled."""


def with_resources(probe: Probe, pods: list[dict[str, Any]], usage: dict[str, dict[str, Any]] | None,
                   pressure: dict[str, list[str]]) -> Probe:
    """The sample with what the guides look at first beside the pods' state: CPU and memory
    against each container's limit (metrics-server), and pressure on the pods' nodes. A
    container at 90% of a limit, or a node under pressure, is a warning."""
    notes: list[str] = []
    for pod in pods:
        for container, used in (usage or {}).get(pod["name"], {}).items():
            pod.setdefault("usage", {})[container] = dict(used)
            limits = pod.get("limits", {}).get(container, {})
            for resource, word in (("memory", "memory"), ("cpu", "CPU (throttled)")):
                try:
                    share = parse_quantity(used[resource]) / parse_quantity(limits[resource])
                except (KeyError, ValueError, ZeroDivisionError):
                    continue
                if share >= NEAR_LIMIT:
                    notes.append(f"{pod['name']} {word} at {float(share):.0%} of its limit")
    notes += [f"node {node} {', '.join(kinds)}" for node, kinds in pressure.items()]
    details = {**probe.details, "metrics": usage is not None, "node_pressure": pressure}
    if not notes:
        return Probe(probe.state, probe.summary, probe.value, details)
    state = State.worst((probe.state, State.WARN))
    return Probe(state, ", ".join([probe.summary, *notes]), probe.value, details)


def _count(n: int, what: str) -> str:
    return f"{n} pod{'s' if n != 1 else ''} {what}"


class KubernetesCheck(Check):
    """One Deployment. Keeps one ApiClient between samples; a 401 drops it so the next
    sample reloads the kubeconfig (and re-runs an exec credential plugin, as kubectl
    would on its next invocation)."""

    def __init__(self, config: Any, secrets: Iterable[str] = (), *,
                 clock: Clock = system_clock) -> None:
        super().__init__(config, secrets)
        self.configured_namespace: str | None = config.namespace
        self.namespace: str = config.namespace or "default"
        """The namespace acted on: the configured one, else the context's (known once the
        kubeconfig is read), else "default"."""
        self.deployment: str = config.deployment
        self.context: str | None = config.context
        self.kubeconfig: Path | None = config.kubeconfig
        self.clock = clock
        self._kube = KubeClient(self.kubeconfig, self.context, timeout=self.timeout)
        self._restarts: dict[str, int] | None = None

    # -- connection (warroom.kube, shared with the actions) --

    @property
    def _k8s(self) -> Any:
        """The kubernetes.aio.client module, once imported."""
        return self._kube.k8s

    @property
    def _client(self) -> Any:
        """The ApiClient, None until the next sample after a 401."""
        return self._kube.api_client

    async def prepare(self) -> None:
        # The import costs ~1 s: it must not eat the first sample's timeout.
        await import_client()

    async def _api(self) -> tuple[Any, Any]:
        try:
            apis = await self._kube.apis()
            self.namespace = await self._kube.namespace(self.configured_namespace)
        except KubeUnavailable as exc:
            raise CheckFailed(exc.summary) from None
        return apis

    async def close(self) -> None:
        await self._kube.close()

    def target(self) -> str:
        return self._kube.target()

    # -- the sample --

    async def probe(self) -> Probe:
        apps, core = await self._api()
        try:
            return await self._sample(apps, core)
        except self._k8s.ApiException as exc:
            if exc.status == 404:
                raise CheckFailed(f"deployment {self.deployment} not found in namespace {self.namespace}") from None
            if exc.status == 401:
                # Expired credentials (an exec plugin's token): reload them next time.
                await self.close()
            raise

    async def _sample(self, apps: Any, core: Any) -> Probe:
        deployment = await apps.read_namespaced_deployment(self.deployment, self.namespace)
        selector = selector_query(deployment.spec.selector.to_dict(serialize=True))
        replica_sets, pods = await asyncio.gather(
            apps.list_namespaced_replica_set(self.namespace, label_selector=selector),
            core.list_namespaced_pod(self.namespace, label_selector=selector),
        )
        # Same labels are not the same owner: another Deployment (or an orphan) may match.
        owned = [rs for rs in replica_sets.items if controller_uid(rs) == deployment.metadata.uid]
        owned_uids = {rs.metadata.uid for rs in owned}
        facts = [pod_facts(p) for p in sorted(pods.items, key=lambda p: p.metadata.name)
                 if controller_uid(p) in owned_uids]
        usage, pressure = await asyncio.gather(self._pod_usage(selector),
                                               self._node_pressure(core, {p["node"] for p in facts if p["node"]}))
        probe = self._judge(deployment, owned, facts)
        return with_resources(probe, facts, usage, pressure)

    async def _pod_usage(self, selector: str) -> dict[str, dict[str, Any]] | None:
        """metrics-server's CPU and memory per pod and container; None where the cluster
        has none (404), or it is not ours to read (403) or not ready (503)."""
        metrics = self._k8s.CustomObjectsApi(self._client)
        try:
            answer = await metrics.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", self.namespace,
                                                                 "pods", label_selector=selector)
        except self._k8s.ApiException as exc:
            if exc.status in (403, 404, 503):
                return None
            raise
        return {item["metadata"]["name"]: {c["name"]: c.get("usage", {}) for c in item.get("containers", ())}
                for item in answer.get("items", ())}

    async def _node_pressure(self, core: Any, nodes: set[str]) -> dict[str, list[str]]:
        """The pressure conditions True on the nodes the pods run on (nodes are cluster
        objects: a namespaced role may not read them, and then nothing is said)."""
        pressure: dict[str, list[str]] = {}
        for name in sorted(nodes):
            try:
                node = await core.read_node(name)
            except self._k8s.ApiException as exc:
                if exc.status in (403, 404):
                    continue
                raise
            found = [c.type for c in node.status.conditions or () if c.type in PRESSURE and c.status == "True"]
            if found:
                pressure[name] = found
        return pressure

    def _judge(self, deployment: Any, owned: list[Any], pods: list[dict[str, Any]]) -> Probe:
        spec = deployment.spec
        status = deployment.status or self._k8s.V1DeploymentStatus()  # a brand-new object has none
        desired = spec.replicas if spec.replicas is not None else 1
        ready = status.ready_replicas or 0
        rollout = judge_rollout(deployment)
        revision = revision_of(deployment.metadata.annotations)
        history = sorted((history_entry(rs) for rs in owned if revision_of(rs.metadata.annotations) is not None),
                         key=lambda h: h["revision"])
        if revision is None and history:
            revision = history[-1]["revision"]
        current = next((rs for rs in owned if revision is not None and revision_of(rs.metadata.annotations) == revision), None)
        changed_at = became_current(deployment.to_dict(serialize=True), current.to_dict(serialize=True)) if current else None

        restarts = {p["name"]: p["restarts"] for p in pods}
        previous, self._restarts = self._restarts, restarts
        new_restarts = sum(max(0, n - previous[name]) for name, n in restarts.items()
                           if previous is not None and name in previous)

        failing: dict[str, int] = {}
        for pod in pods:
            if pod["waiting_reason"] in FAILING:
                failing[pod["waiting_reason"]] = failing.get(pod["waiting_reason"], 0) + 1
        oom = sum(1 for p in pods if p["last_terminated_reason"] == "OOMKilled")

        state = State.OK
        if (desired > 0 and ready == 0) or rollout.phase == "stuck" or failing:
            state = State.CRITICAL
        elif ready < desired or not rollout.done or new_restarts:
            state = State.WARN

        parts = [f"{self.deployment} {ready}/{desired} ready"]
        if spec.paused:
            parts.append("rollout paused")
        if rollout.phase == "stuck":
            parts.append("rollout stuck (ProgressDeadlineExceeded)")
        elif rollout.phase == "unobserved":
            parts.append("rollout not yet observed")
        elif rollout.phase == "progressing" and not spec.paused:
            parts.append(f"rollout in progress ({rollout.message})")
        if revision is not None:
            when = f" deployed {format_duration(coarse(self.clock() - changed_at))} ago" if changed_at else ""
            parts.append(f"revision {revision}{when}")
        parts += [_count(n, reason) for reason, n in failing.items()]
        if oom:
            parts.append(_count(oom, "OOMKilled"))
        if new_restarts:
            parts.append(f"+{new_restarts} restart{'s' if new_restarts != 1 else ''}")

        details = {
            "ready": ready, "desired": desired, "updated": status.updated_replicas or 0,
            "available": status.available_replicas or 0, "revision": revision,
            "revision_changed_at": changed_at.isoformat() if changed_at else None,
            "rollout": rollout.message, "rollout_phase": rollout.phase, "paused": bool(spec.paused),
            "new_restarts": new_restarts, "history": history, "pods": pods,
            **self._kube.located(self.namespace),
        }
        return Probe(state, ", ".join(parts), value=float(ready), details=details)

    # -- logs for the detail view --

    async def pod_logs(self, pod: str, container: str | None = None, tail: int = 100,
                       previous: bool = False) -> str:
        """The last ``tail`` lines of a pod's container log (``previous``: the instance
        before the last restart, where a crash-looping container's error is)."""
        try:
            _, core = await self._api()
            return await core.read_namespaced_pod_log(pod, self.namespace, container=container,
                                                      tail_lines=tail, previous=previous)
        except WarroomError:  # already the one line (no kubeconfig, say)
            raise
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:  # shown as one line in the detail view
            raise WarroomError(f"logs of pod {pod}: {self.describe(exc)}") from None

    # -- errors --

    def describe(self, exc: BaseException) -> str:
        return mask_text(self._kube.describe(exc), self.secrets)
