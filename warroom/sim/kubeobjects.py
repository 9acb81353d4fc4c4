"""Kubernetes objects as the simulated API server and the simulation's controllers make
and change them: Deployments, ReplicaSets and Pods shaped like the real API's, label
selectors, merge and JSON patches (``strategic`` does strategic merge), and the error the server turns into a Status.
``kubeapi`` serves them over HTTP; ``cluster`` moves them along like controllers."""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"

Obj = dict[str, Any]


class APIError(Exception):
    """Turned into a ``Status`` response by the server."""

    def __init__(self, status: int, message: str, *, name: str | None = None,
                 kind: str | None = None, causes: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.name, self.kind = status, message, name, kind
        self.causes = causes or []
        """(field, message) of each invalid field (a 422's details.causes)."""


def timestamp(when: datetime | None = None) -> str:
    """RFC 3339 in UTC with second precision, as the API server writes it."""
    when = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- label selectors -----------------------------------------------------------------------

_REQUIREMENT = re.compile(r"(?:[^,(]|\([^)]*\))+")
_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"


def parse_selector(text: str) -> Callable[[dict[str, str]], bool]:
    """A label selector (``a=b,c!=d,e in (f,g),!h``) as a predicate on labels; ValueError
    when malformed."""
    tests: list[Callable[[dict[str, str]], bool]] = []
    for part in (p.strip() for p in _REQUIREMENT.findall(text or "")):
        if not part:
            continue
        if m := re.fullmatch(rf"({_KEY})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)", part):
            key, op, value = m.groups()
            if op == "!=":
                tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif m := re.fullmatch(rf"({_KEY})\s+(in|notin)\s+\(([^)]*)\)", part):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if op == "in":
                tests.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                tests.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif m := re.fullmatch(rf"!\s*({_KEY})", part):
            tests.append(lambda labels, k=m.group(1): k not in labels)
        elif re.fullmatch(_KEY, part):
            tests.append(lambda labels, k=part: k in labels)
        else:
            raise ValueError(f"unable to parse requirement: {part!r}")
    return lambda labels: all(test(labels) for test in tests)


# --- patches -------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 merge patch: null deletes, lists replace (``strategic`` merges by keys)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def canonical(obj: Obj) -> Obj:
    """``obj`` in the one form the server stores, whichever client wrote it: a pod
    template's zero creationTimestamp (null, as Go clients send it) and a container's
    empty ``resources`` are omitted, as the simulator's own objects omit them."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    template = spec.get("template") if isinstance(spec.get("template"), dict) else None
    pod_specs = [spec] if obj.get("kind") == "Pod" else []
    if template is not None:
        meta = template.get("metadata")
        if isinstance(meta, dict) and "creationTimestamp" in meta and meta["creationTimestamp"] is None:
            del meta["creationTimestamp"]
        if isinstance(template.get("spec"), dict):
            pod_specs.append(template["spec"])
    for pod_spec in pod_specs:
        for key in ("containers", "initContainers"):
            for container in pod_spec.get(key) or []:
                if isinstance(container, dict) and container.get("resources") == {}:
                    del container["resources"]
    return obj


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise APIError(422, f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(target: Obj, operations: list[Any]) -> Obj:
    """RFC 6902 JSON Patch: add, replace, remove and test."""
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise APIError(400, f"invalid JSON Patch operation: {op!r}")
        *parents, last = _pointer(op["path"]) or [None]
        node: Any = doc
        for token in parents:
            try:
                node = node[int(token)] if isinstance(node, list) else node[token]
            except (KeyError, IndexError, ValueError):
                raise APIError(422, f"doc is missing path: {op['path']!r}") from None
        kind = op["op"]
        if last is None:
            raise APIError(422, "patching the whole document is not supported")
        if kind not in ("add", "replace", "remove", "test"):
            raise APIError(422, f"unsupported JSON Patch operation {kind!r}")
        slot: int | str = last
        if isinstance(node, list):
            slot = len(node) if last == "-" and kind == "add" else _index(last, op["path"])
            if slot > len(node) or (kind != "add" and slot == len(node)):
                raise APIError(422, f"doc is missing path: {op['path']!r}")
            if kind == "add":
                node.insert(slot, copy.deepcopy(op.get("value")))
                continue
        elif not isinstance(node, dict) or (kind != "add" and last not in node):
            raise APIError(422, f"doc is missing path: {op['path']!r}")
        if kind in ("add", "replace"):
            node[slot] = copy.deepcopy(op.get("value"))
        elif kind == "remove":
            del node[slot]
        elif node[slot] != op.get("value"):
            raise APIError(422, f"test failed at {op['path']!r}")
    return doc


def _index(token: str, path: str) -> int:
    if not token.isdigit():
        raise APIError(422, f"invalid array index in {path!r}")
    return int(token)


# --- object constructors -------------------------------------------------------------------


def _uid(*parts: str) -> str:
    # Stable across runs so demo screens and snapshots do not change.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "warroom-sim/" + "/".join(parts)))


def _short_hash(*parts: object, length: int = 10) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for name suffixes
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def _owner(obj: Obj) -> Obj:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _condition(kind: str, status: bool, reason: str, message: str, at: str) -> Obj:
    return {"type": kind, "status": "True" if status else "False", "reason": reason,
            "message": message, "lastUpdateTime": at, "lastTransitionTime": at}


def make_deployment(name: str, ns: str = "default", image: str = "registry.example/app:1.0",
                    replicas: int = 3, revision: int = 1, *, ready: int | None = None,
                    updated: int | None = None, available: int | None = None,
                    total: int | None = None, generation: int = 1,
                    observed_generation: int | None = None, progress_deadline_exceeded: bool = False,
                    progressing_reason: str | None = None,
                    paused: bool = False, labels: dict[str, str] | None = None,
                    container: str = "app", created: datetime | None = None,
                    uid: str | None = None) -> Obj:
    """A Deployment whose status says ``ready``/``updated``/``available`` of ``replicas``
    (all of them unless given); ``total`` is status.replicas (old pods included). The
    Progressing condition follows from those unless ``progressing_reason`` is given."""
    selector = dict(labels or {"app": name})
    ready = replicas if ready is None else ready
    updated = replicas if updated is None else updated
    available = ready if available is None else available
    total = max(replicas, updated) if total is None else total
    at = timestamp(created)
    # A finished rollout keeps NewReplicaSetAvailable when pods later become unavailable.
    reason = progressing_reason or ("ProgressDeadlineExceeded" if progress_deadline_exceeded
                                    else "NewReplicaSetAvailable" if updated == replicas == total
                                    else "ReplicaSetUpdated")
    progressing = _condition("Progressing", reason != "ProgressDeadlineExceeded", reason, {
        "ProgressDeadlineExceeded": f'ReplicaSet "{name}" has timed out progressing.',
        "NewReplicaSetAvailable": f'ReplicaSet "{name}" has successfully progressed.',
    }.get(reason, f'ReplicaSet "{name}" is progressing.'), at)
    has_minimum = available >= replicas - max(1, replicas // 4) or replicas == 0
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": name, "namespace": ns, "uid": uid or _uid("Deployment", ns, name),
            "labels": dict(selector), "annotations": {REVISION: str(revision)},
            "creationTimestamp": at, "generation": generation, "resourceVersion": "1",
        },
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": dict(selector)},
            "template": {
                "metadata": {"labels": dict(selector)},
                "spec": {"containers": [{"name": container, "image": image}]},
            },
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600, "paused": paused,
        },
        "status": {
            "observedGeneration": generation if observed_generation is None else observed_generation,
            "replicas": total, "updatedReplicas": updated, "readyReplicas": ready,
            "availableReplicas": available, "unavailableReplicas": max(0, replicas - available),
            "conditions": [
                _condition("Available", has_minimum,
                           "MinimumReplicasAvailable" if has_minimum else "MinimumReplicasUnavailable",
                           "Deployment has minimum availability." if has_minimum
                           else "Deployment does not have minimum availability.", at),
                progressing,
            ],
        },
    }


def make_replicaset(deployment: Obj, revision: int, image: str | None = None, *,
                    replicas: int | None = None, ready: int | None = None,
                    created: datetime | None = None, name: str | None = None,
                    owned: bool = True) -> Obj:
    """A ReplicaSet of ``deployment`` at ``revision``: its pod template with ``image``, the
    revision annotation and the pod-template-hash label. ``replicas`` defaults to the
    Deployment's when this is its current revision, else 0 (an old, scaled-down one)."""
    meta, spec = deployment["metadata"], deployment["spec"]
    template = copy.deepcopy(spec["template"])
    if image is not None:
        template["spec"]["containers"][0]["image"] = image
    images = [c["image"] for c in template["spec"]["containers"]]
    pod_hash = _short_hash(meta["name"], revision, *images)
    template["metadata"].setdefault("labels", {})[TEMPLATE_HASH] = pod_hash
    current = str(revision) == meta.get("annotations", {}).get(REVISION)
    if replicas is None:
        replicas = spec["replicas"] if current else 0
    ready = replicas if ready is None else ready
    name = name or f"{meta['name']}-{pod_hash}"
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": name, "namespace": meta["namespace"], "uid": _uid("ReplicaSet", meta["namespace"], name),
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {REVISION: str(revision), "deployment.kubernetes.io/desired-replicas":
                            str(spec["replicas"]), "deployment.kubernetes.io/max-replicas":
                            str(spec["replicas"] + 1)},
            "ownerReferences": [_owner(deployment)] if owned else [],
            "creationTimestamp": timestamp(created), "generation": 1, "resourceVersion": "1",
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {**spec["selector"]["matchLabels"], TEMPLATE_HASH: pod_hash}},
            "template": template,
        },
        "status": {"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": ready,
                   "availableReplicas": ready, "observedGeneration": 1},
    }


def make_pod(rs: Obj, name: str | None = None, phase: str = "Running", ready: bool | None = None,
             restart_count: int = 0, waiting_reason: str | None = None,
             last_terminated_reason: str | None = None, *, created: datetime | None = None,
             node: str = "node-1") -> Obj:
    """A Pod of ReplicaSet ``rs``. The state describes its first container (the app; any
    others are healthy sidecars); ``ready`` defaults to Running and not waiting."""
    meta, template = rs["metadata"], rs["spec"]["template"]
    name = name or f"{meta['name']}-{_short_hash(meta['name'], next(_POD_NUMBERS), length=5)}"
    at = timestamp(created)
    if ready is None:
        ready = phase == "Running" and waiting_reason is None
    statuses = []
    for index, container in enumerate(template["spec"]["containers"]):
        main = index == 0
        waiting = waiting_reason if main else None
        status: Obj = {
            "name": container["name"], "image": container["image"],
            "imageID": "" if waiting in ("ImagePullBackOff", "ErrImagePull")
            else f"{container['image']}@sha256:{hashlib.sha256(container['image'].encode()).hexdigest()}",
            "ready": ready if main else True, "started": waiting is None,
            "restartCount": restart_count if main else 0,
            "state": ({"waiting": {"reason": waiting, "message": _WAITING.get(waiting, waiting)}}
                      if waiting else {"running": {"startedAt": at}}),
        }
        if main and last_terminated_reason:
            status["lastState"] = {"terminated": {
                "reason": last_terminated_reason, "exitCode": 137 if last_terminated_reason == "OOMKilled" else 1,
                "startedAt": at, "finishedAt": at}}
        statuses.append(status)
    all_ready = all(s["ready"] for s in statuses)
    not_ready = "" if all_ready else "ContainersNotReady"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": meta["namespace"], "uid": _uid("Pod", meta["namespace"], name),
            "labels": dict(template["metadata"].get("labels", {})),
            "ownerReferences": [_owner(rs)], "creationTimestamp": at, "resourceVersion": "1",
        },
        "spec": {"containers": copy.deepcopy(template["spec"]["containers"]), "nodeName": node},
        "status": {
            "phase": phase, "startTime": at,
            "podIP": f"10.0.0.{1 + hashlib.sha256(name.encode()).digest()[0] % 250}",
            "conditions": [_condition("Ready", all_ready, not_ready, "", at),
                           _condition("ContainersReady", all_ready, not_ready, "", at)],
            "containerStatuses": statuses,
        },
    }


_POD_NUMBERS = itertools.count()
_WAITING = {
    "CrashLoopBackOff": "back-off 5m0s restarting failed container",
    "ImagePullBackOff": "Back-off pulling image",
    "ErrImagePull": "failed to pull and unpack image",
}
