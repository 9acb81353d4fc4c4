"""The controllers a real cluster runs, for the one simulated Deployment: the Deployment
controller (a pod template change makes or revives a ReplicaSet with the next revision,
then a rolling update within maxSurge/maxUnavailable; a /scale patch resizes), the
ReplicaSet controller (pods created and removed to match) and a kubelet (pods start after
``pod_start``, crash-loop with back-off when their revision crashes, are OOMKilled when a
leak fills their memory: it grows at the leak rate, a quarter of it above 85%). Everything moves on simulated time (``step(t)``).

KubeAPI serves what this writes; writes made through the API (the rollback's JSON Patch,
restart's annotation, scale, pod deletions) reach it through ``KubeAPI.subscribe``. As in a
cluster, the controllers act after the write, not during it: until the next ``step`` the
Deployment's new generation is not observed (``pending``; ``caught_up`` is set once it
is). A paused Deployment gets no new ReplicaSet until resumed; ReplicaSets beyond
``revisionHistoryLimit`` that run nothing are deleted; the Deployment's annotations (its
change-cause) are carried to its new ReplicaSet; each move is recorded as an Event.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from warroom.kube import SKIPPED_ANNOTATIONS, digest, same_template, without_hash
from warroom.sim.kubeapi import KubeAPI
from warroom.sim.kubeobjects import (
    REVISION, TEMPLATE_HASH, Obj, _condition, _owner, _short_hash, _uid, make_deployment, make_pod,
    timestamp,
)
from warroom.sim.scenario import Deployment, Revision

BACKOFF = 10.0
"""The kubelet's first crash-loop back-off, in simulated seconds; it doubles each restart."""
MAX_BACKOFF = 80.0
"""Cap of the back-off (a real kubelet's is 5 min; shorter, so a demo's loop is visible)."""
PROGRESS_DEADLINE = 600.0
HEALTHY = Revision(revision=1, image="unknown")


@dataclass
class Pod:
    name: str
    rs: str
    created: datetime
    waiting: str | None  # ContainerCreating, CrashLoopBackOff; None while running
    until: float  # simulated time the wait ends
    started: float = 0.0
    restarts: int = 0
    last: str | None = None  # last terminated reason
    memory: float = 0.0
    node: str = "node-1"
    spread: float = 0.5  # 0..1, fixed per pod: pods of one revision do not crash in step


    @property
    def ready(self) -> bool:
        return self.waiting is None


@dataclass
class ReplicaSet:
    name: str
    template: Obj  # with the pod-template-hash label
    revision: int
    created: datetime
    annotations: dict[str, str]
    replicas: int = 0
    history: list[int] = field(default_factory=list)


class Cluster:
    def __init__(self, api: KubeAPI, spec: Deployment, *, wall: Callable[[], datetime]) -> None:
        self.api, self.spec, self.wall = api, spec, wall
        self.ns, self.name = spec.namespace, spec.name
        self.behaviours = {r.image: r for r in spec.revisions}
        self.sets: dict[str, ReplicaSet] = {}
        self.pods: dict[str, Pod] = {}
        self.new: ReplicaSet | None = None
        self.t = 0.0
        self.rollout_started = 0.0
        self.complete = True
        self._numbers = itertools.count(1)
        self._template_digest = ""
        self._shown: dict[tuple[str, str], Any] = {}
        self.pending = False
        """A write the controllers have not acted on yet."""
        self.caught_up = asyncio.Event()
        self.caught_up.set()

    # -- set-up and writes ------------------------------------------------------------------

    def install(self) -> None:
        """The Deployment at its current revision with its history, and ready pods."""
        spec, now = self.spec, self.wall()
        current = spec.revision(spec.current)
        assert current is not None
        deployment = make_deployment(self.name, self.ns, current.image, spec.replicas, spec.current,
                                     container=spec.container, created=now - timedelta(days=30))
        self.api.add(deployment)
        for rev in sorted((r for r in spec.revisions if r.revision <= spec.current), key=lambda r: r.revision):
            template = copy.deepcopy(deployment["spec"]["template"])
            template["spec"]["containers"][0]["image"] = rev.image
            rs = self._new_set(template, rev.revision, now - timedelta(days=2 * (spec.current - rev.revision + 1)),
                               {"kubernetes.io/change-cause": f"deploy {rev.image}"})
            if rev.revision == spec.current:
                rs.replicas = spec.replicas
                self.new = rs
        for _ in range(spec.replicas):
            pod = self._pod(self.new, -86400.0, now - timedelta(days=1))
            pod.waiting, pod.started, pod.memory = None, -86400.0, spec.memory_base
        self._template_digest = self._seen(deployment)
        self.api.subscribe(self._on_write)
        self._render(self.t)

    def deploy(self, revision: int) -> None:
        """What CI does: the Deployment's template gets the revision's image."""
        rev = self.spec.revision(revision)
        assert rev is not None
        deployment = self._deployment()
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = rev.image
        deployment["metadata"]["generation"] += 1
        deployment["metadata"].setdefault("annotations", {})["kubernetes.io/change-cause"] = f"deploy {rev.image}"
        self.api.replace(deployment)
        self.sync()

    def _on_write(self, verb: str, kind: str, obj: Obj) -> None:
        meta = obj["metadata"]
        if meta.get("namespace") != self.ns:
            return
        if kind == "Deployment" and meta["name"] == self.name:
            self.pending = True  # the Deployment controller sees it at its next turn
            self.caught_up.clear()
        elif kind == "Pod" and verb == "delete" and meta["name"] in self.pods:
            del self.pods[meta["name"]]
            self._shown.pop(("Pod", meta["name"]), None)
            self._event(obj, "Killing", f"Stopping container {obj['spec']['containers'][0]['name']}",
                        "kubelet", field_path=f"spec.containers{{{obj['spec']['containers'][0]['name']}}}")

    def sync(self) -> None:
        """The Deployment controller's first move on a change: find or make (unless paused)
        the ReplicaSet of the pod template, give it the next revision and the Deployment's
        annotations, observe the generation."""
        self.pending = False
        deployment = self._deployment()
        template = deployment["spec"]["template"]
        paused = bool(deployment["spec"].get("paused"))
        self._template_digest = self._seen(deployment)
        new = next((rs for rs in self.sets.values() if same_template(rs.template, template)), None)
        top = max((rs.revision for rs in self.sets.values()), default=0)
        own = {k: v for k, v in (deployment["metadata"].get("annotations") or {}).items()
               if k not in SKIPPED_ANNOTATIONS}
        if new is None and not paused:
            new = self._new_set(copy.deepcopy(template), top + 1, self.wall(), own)
        elif new is not None and new.revision != top and not paused:
            new.history.append(new.revision)  # as the controller does on a rollback
            new.revision = top + 1
        if new is not None and not paused:
            new.annotations.update(own)
            if new is not self.new:
                self.new, self.complete, self.rollout_started = new, False, self.t
        assert self.new is not None
        deployment["metadata"].setdefault("annotations", {})[REVISION] = str(self.new.revision)
        deployment.setdefault("status", {})["observedGeneration"] = deployment["metadata"]["generation"]
        self.api.replace(deployment)
        self._shown.pop(("Deployment", self.name), None)

    def _clean_history(self, limit: int) -> None:
        """Delete old ReplicaSets that run nothing, oldest first, beyond ``limit``."""
        idle = sorted((rs for rs in self.sets.values() if rs is not self.new and rs.replicas == 0
                       and not any(p.rs == rs.name for p in self.pods.values())), key=lambda rs: rs.revision)
        for rs in idle[:max(0, len(idle) - limit)]:
            del self.sets[rs.name]
            self._shown.pop(("ReplicaSet", rs.name), None)
            try:
                self.api.delete("ReplicaSet", self.ns, rs.name)
            except KeyError:
                pass

    def _event(self, involved: Obj, reason: str, message: str, component: str, *, warning: bool = False,
               field_path: str | None = None) -> None:
        self.api.record_event(involved, reason, message, type="Warning" if warning else "Normal",
                              component=component, at=self.wall(), field_path=field_path)

    @staticmethod
    def _seen(deployment: Obj) -> str:
        """What the Deployment controller acts on: the template and whether it is paused."""
        return digest([deployment["spec"]["template"], bool(deployment["spec"].get("paused"))])

    def _deployment(self) -> Obj:
        return self.api.get("Deployment", self.ns, self.name)

    def _new_set(self, template: Obj, revision: int, created: datetime, annotations: dict[str, str]) -> ReplicaSet:
        pod_hash = _short_hash(self.name, digest(without_hash(template)))
        template.setdefault("metadata", {}).setdefault("labels", {})[TEMPLATE_HASH] = pod_hash
        rs = ReplicaSet(f"{self.name}-{pod_hash}", template, revision, created, annotations)
        self.sets[rs.name] = rs
        return rs

    def _pod(self, rs: ReplicaSet, t: float, created: datetime) -> Pod:
        number = next(self._numbers)
        name = f"{rs.name}-{_short_hash(rs.name, number, length=5)}"
        spread = int(hashlib.sha256(name.encode()).hexdigest()[:4], 16) / 0xFFFF
        pod = Pod(name, rs.name, created, "ContainerCreating", t + self.spec.pod_start.total_seconds(),
                  node=f"node-{1 + number % 3}", spread=spread)
        self.pods[name] = pod
        return pod

    def behaviour(self, rs_name: str) -> Revision:
        rs = self.sets.get(rs_name)
        image = rs.template["spec"]["containers"][0].get("image") if rs else None
        return self.behaviours.get(image, HEALTHY)

    # -- the controllers, on simulated time -------------------------------------------------

    def step(self, t: float, leak_per_second: float = 0.0) -> None:
        dt, self.t = max(0.0, t - self.t), t
        deployment = self._deployment()
        if self.pending or self._seen(deployment) != self._template_digest:
            self.sync()  # a write through the API, or from Python (a test, another driver)
            deployment = self._deployment()
        for pod in list(self.pods.values()):
            self._kubelet(pod, t, dt, leak_per_second)
        sizes = {rs.name: rs.replicas for rs in self.sets.values()}
        if not deployment["spec"].get("paused"):
            self._roll(deployment["spec"].get("replicas", 1))
        for rs in self.sets.values():
            if rs.replicas != sizes[rs.name]:
                direction = "up" if rs.replicas > sizes[rs.name] else "down"
                self._event(deployment, "ScalingReplicaSet", f"Scaled {direction} replica set {rs.name} from "
                            f"{sizes[rs.name]} to {rs.replicas}", "deployment-controller")
        for rs in self.sets.values():
            self._replicate(rs, t)
        if self.complete:  # as the controller cleans up once a rollout is complete
            self._clean_history(deployment["spec"].get("revisionHistoryLimit", 10))
        self._render(t)
        self.caught_up.set()

    def _kubelet(self, pod: Pod, t: float, dt: float, leak: float) -> None:
        if pod.waiting is not None:
            if t < pod.until:
                return
            pod.waiting, pod.started, pod.memory = None, t, self.spec.memory_base
            self._pod_event(pod, "Started", f"Started container {self.spec.container}")
            return
        crash_after = self.behaviour(pod.rs).crash_after
        if crash_after is not None and t - pod.started >= crash_after.total_seconds() * (0.6 + 0.8 * pod.spread):
            self._crash(pod, t, "Error")
            return
        # Above 85% the garbage collector reclaims harder (and burns CPU doing it): the
        # leak slows down, the pod stays sick for a while before the OOM kill.
        pod.memory += leak * dt * (0.85 + 0.3 * pod.spread) * (0.25 if pod.memory > 0.85 else 1.0)
        if pod.memory >= 1.0:
            self._crash(pod, t, "OOMKilled")

    def _crash(self, pod: Pod, t: float, reason: str) -> None:
        pod.restarts += 1
        pod.last, pod.waiting, pod.memory = reason, "CrashLoopBackOff", 0.0
        pod.until = t + min(BACKOFF * 2 ** (pod.restarts - 1), MAX_BACKOFF)
        self._pod_event(pod, "BackOff", f"Back-off restarting failed container {self.spec.container} in pod "
                        f"{pod.name}_{self.ns}({_uid('Pod', self.ns, pod.name)})", warning=True)

    def _pod_event(self, pod: Pod, reason: str, message: str, *, warning: bool = False) -> None:
        involved = {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pod.name, "namespace": self.ns, "uid": _uid("Pod", self.ns, pod.name)}}
        self._event(involved, reason, message, "kubelet", warning=warning,
                    field_path=f"spec.containers{{{self.spec.container}}}")

    def _ready(self, rs: ReplicaSet) -> int:
        return sum(1 for p in self.pods.values() if p.rs == rs.name and p.ready)

    def _roll(self, desired: int) -> None:
        """A rolling update (maxSurge 25% up, maxUnavailable 25% down), as the Deployment
        controller's reconcileNewReplicaSet / reconcileOldReplicaSets do it."""
        new = self.new
        assert new is not None
        olds = sorted((rs for rs in self.sets.values() if rs is not new and rs.replicas > 0),
                      key=lambda rs: rs.revision)
        if not olds:
            new.replicas = desired
            if not self.complete and self._ready(new) == desired == sum(p.rs == new.name for p in self.pods.values()):
                self.complete = True
            return
        surge, unavailable = math.ceil(desired * 0.25), math.floor(desired * 0.25)
        if surge == unavailable == 0:
            surge = 1
        total = sum(rs.replicas for rs in self.sets.values())
        new.replicas = min(desired, max(new.replicas, new.replicas + desired + surge - total))
        for rs in olds:  # old pods that are not ready serve nothing: they go first
            rs.replicas -= max(0, min(rs.replicas, rs.replicas - self._ready(rs)))
        total = sum(rs.replicas for rs in self.sets.values())
        budget = total - (desired - unavailable) - (new.replicas - self._ready(new))
        for rs in olds:
            take = max(0, min(rs.replicas, budget))
            rs.replicas -= take
            budget -= take

    def _replicate(self, rs: ReplicaSet, t: float) -> None:
        mine = [p for p in self.pods.values() if p.rs == rs.name]
        for _ in range(rs.replicas - len(mine)):
            pod = self._pod(rs, t, self.wall())
            self._event(self._set_ref(rs), "SuccessfulCreate", f"Created pod: {pod.name}", "replicaset-controller")
        if len(mine) > rs.replicas:
            # Not-ready pods first, then the youngest: as the ReplicaSet controller ranks them.
            doomed = sorted(mine, key=lambda p: (p.ready, -p.created.timestamp()))[: len(mine) - rs.replicas]
            for pod in doomed:
                del self.pods[pod.name]
                self._event(self._set_ref(rs), "SuccessfulDelete", f"Deleted pod: {pod.name}",
                            "replicaset-controller")
                self._shown.pop(("Pod", pod.name), None)
                try:
                    self.api.delete("Pod", self.ns, pod.name)
                except KeyError:
                    pass

    def _set_ref(self, rs: ReplicaSet) -> Obj:
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs.name, "namespace": self.ns, "uid": _uid("ReplicaSet", self.ns, rs.name)}}

    # -- what the API shows --------------------------------------------------------------------

    def _render(self, t: float) -> None:
        deployment = self._deployment()
        objects: dict[str, Obj] = {}
        for rs in self.sets.values():
            ready = self._ready(rs)
            count = sum(1 for p in self.pods.values() if p.rs == rs.name)
            key = ("ReplicaSet", rs.name)
            shown = (rs.replicas, rs.revision, count, ready)
            objects[rs.name] = obj = self._set_object(rs, deployment, count, ready)
            if self._shown.get(key) != shown:
                self._shown[key] = shown
                self.api.add(obj)
        for pod in self.pods.values():
            key = ("Pod", pod.name)
            shown = (pod.waiting, pod.restarts, pod.last)
            if self._shown.get(key) == shown:
                continue
            self._shown[key] = shown
            phase = "Pending" if pod.waiting == "ContainerCreating" and not pod.restarts else "Running"
            self.api.add(make_pod(objects[pod.rs], pod.name, phase, pod.ready, pod.restarts, pod.waiting,
                                  pod.last, created=pod.created, node=pod.node))
            self._logs(pod)
        status = self.status(deployment["spec"].get("replicas", 1), deployment["metadata"]["generation"], t,
                             bool(deployment["spec"].get("paused")))
        key = ("Deployment", self.name)
        shown = repr(sorted((k, str(v)) for k, v in status.items() if k != "conditions")) \
            + repr([(c["type"], c["status"], c["reason"]) for c in status["conditions"]])
        if self._shown.get(key) != shown:
            self._shown[key] = shown
            keep_condition_times((deployment.get("status") or {}).get("conditions") or (), status["conditions"])
            deployment["status"] = status
            self.api.replace(deployment)

    def _set_object(self, rs: ReplicaSet, deployment: Obj, count: int, ready: int) -> Obj:
        selector = dict(deployment["spec"]["selector"]["matchLabels"])
        labels = dict(rs.template["metadata"]["labels"])
        annotations = {**rs.annotations, REVISION: str(rs.revision),
                       "deployment.kubernetes.io/desired-replicas": str(deployment["spec"].get("replicas", 1)),
                       "deployment.kubernetes.io/max-replicas": str(deployment["spec"].get("replicas", 1) + 1)}
        if rs.history:
            annotations["deployment.kubernetes.io/revision-history"] = ",".join(map(str, rs.history))
        return {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs.name, "namespace": self.ns, "uid": _uid("ReplicaSet", self.ns, rs.name),
                         "labels": labels, "annotations": annotations, "ownerReferences": [_owner(deployment)],
                         "creationTimestamp": timestamp(rs.created), "generation": 1},
            "spec": {"replicas": rs.replicas,
                     "selector": {"matchLabels": {**selector, TEMPLATE_HASH: labels[TEMPLATE_HASH]}},
                     "template": copy.deepcopy(rs.template)},
            "status": {"replicas": count, "fullyLabeledReplicas": count, "readyReplicas": ready,
                       "availableReplicas": ready, "observedGeneration": 1},
        }

    def _logs(self, pod: Pod) -> None:
        rev = self.behaviour(pod.rs)
        image = self.sets[pod.rs].template["spec"]["containers"][0].get("image", "")
        at = timestamp(self.wall())
        started = f"{at} INFO starting {image}\n{at} INFO listening on :8080\n"
        if pod.last == "OOMKilled":
            previous = f"{started}{at} WARN heap at 97% of limit, GC running continuously\n"
        else:
            previous = started + (rev.log if rev.log.endswith("\n") or not rev.log else rev.log + "\n")
        try:
            self.api.set_log(self.ns, pod.name, previous if rev.crash_after else started)
            if pod.restarts:
                self.api.set_log(self.ns, pod.name, previous, previous=True)
        except KeyError:
            pass

    def status(self, desired: int, generation: int, t: float, paused: bool = False) -> Obj:
        pods = list(self.pods.values())
        ready = sum(p.ready for p in pods)
        updated = sum(p.rs == (self.new.name if self.new else "") for p in pods)
        unavailable = math.floor(desired * 0.25)
        has_minimum = ready >= desired - unavailable
        if paused:
            reason, message = "DeploymentPaused", "Deployment is paused"
        elif self.complete:
            reason, message = "NewReplicaSetAvailable", f'ReplicaSet "{self.new.name}" has successfully progressed.'
        elif t - self.rollout_started > PROGRESS_DEADLINE:
            reason, message = "ProgressDeadlineExceeded", f'ReplicaSet "{self.new.name}" has timed out progressing.'
        else:
            reason, message = "ReplicaSetUpdated", f'ReplicaSet "{self.new.name}" is progressing.'
        at = timestamp(self.wall())
        return {
            "observedGeneration": generation, "replicas": len(pods), "updatedReplicas": updated,
            "readyReplicas": ready, "availableReplicas": ready, "unavailableReplicas": max(0, desired - ready),
            "conditions": [
                _condition("Available", has_minimum,
                           "MinimumReplicasAvailable" if has_minimum else "MinimumReplicasUnavailable",
                           "Deployment has minimum availability." if has_minimum
                           else "Deployment does not have minimum availability.", at),
                {**_condition("Progressing", reason != "ProgressDeadlineExceeded", reason, message, at),
                 **({"status": "Unknown"} if paused else {})},
            ],
        }

    # -- what the world reads ---------------------------------------------------------------------

    def state(self) -> dict[str, float]:
        deployment = self._deployment()
        pods = list(self.pods.values())
        ready = [p for p in pods if p.ready]
        rates = [self.behaviour(p.rs).error_rate for p in ready]
        return {
            "replicas": float(deployment["spec"].get("replicas", 1)),
            "ready": float(len(ready)),
            "pods": float(len(pods)),
            "bad_pods": float(sum(self.behaviour(p.rs).bad for p in pods)),
            "restarts": float(sum(p.restarts for p in pods)),
            "error_rate": sum(rates) / len(rates) if rates else 1.0,
            "memory": max((p.memory for p in ready), default=0.0),
        }


def keep_condition_times(before: Iterable[Obj], after: list[Obj]) -> None:
    """The deployment controller's SetDeploymentCondition: a condition whose status and
    reason did not change keeps both its times (so "deployed N ago" reads when the rollout
    finished, not the last status write); one whose status did not change keeps its
    lastTransitionTime."""
    previous = {c.get("type"): c for c in before}
    for condition in after:
        old = previous.get(condition["type"])
        if old is None or old.get("status") != condition["status"]:
            continue
        condition["lastTransitionTime"] = old.get("lastTransitionTime", condition["lastTransitionTime"])
        if old.get("reason") == condition["reason"]:
            condition["lastUpdateTime"] = old.get("lastUpdateTime", condition["lastUpdateTime"])
