"""What the simulated API server says about itself and prints for ``kubectl get``: the
discovery documents (``/api``, ``/apis``, each group version's resources with their
verbs, short names and subresources) and the ``meta.k8s.io/v1`` Table of each kind, with
the columns a real server prints (ages in kubectl's human duration)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

Obj = dict[str, Any]
_READ = ("get", "list", "watch")
_WRITE = ("get", "list", "watch", "update", "patch")


@dataclass(frozen=True, slots=True)
class Resource:
    kind: str
    group: str
    plural: str
    short: tuple[str, ...]
    verbs: tuple[str, ...]
    subresources: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (name, kind, verbs)

    @property
    def api_version(self) -> str:
        return f"{self.group}/v1" if self.group else "v1"

    @property
    def qualified(self) -> str:
        """``deployments.apps``, ``pods``: how error messages name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES = {r.kind: r for r in (
    Resource("Deployment", "apps", "deployments", ("deploy",), _WRITE,
             (("scale", "Scale", ("get", "patch", "update")), ("status", "Deployment", ("get",)))),
    Resource("ReplicaSet", "apps", "replicasets", ("rs",), _WRITE, (("status", "ReplicaSet", ("get",)),)),
    Resource("Pod", "", "pods", ("po",), (*_WRITE, "delete"), (("log", "Pod", ("get",)), ("status", "Pod", ("get",)))),
    Resource("Event", "", "events", ("ev",), (*_READ, "delete")),
)}
KINDS = tuple(RESOURCES)


def api_versions(address: str) -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}


def _group(name: str) -> Obj:
    version = {"groupVersion": f"{name}/v1", "version": "v1"}
    return {"name": name, "versions": [version], "preferredVersion": version}


def api_groups() -> Obj:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group("apps")]}


def api_group(name: str) -> Obj | None:
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)} if name == "apps" else None


def resource_list(group: str) -> Obj | None:
    served = [r for r in RESOURCES.values() if r.group == group]
    if not served:
        return None
    resources = []
    for r in served:
        resources.append({"name": r.plural, "singularName": r.kind.lower(), "namespaced": True, "kind": r.kind,
                          "verbs": list(r.verbs), "shortNames": list(r.short),
                          **({"categories": ["all"]} if r.kind != "Event" else {})})
        for sub, kind, verbs in r.subresources:
            resources.append({"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": True,
                              **({"group": "autoscaling", "version": "v1"} if kind == "Scale" else {}),
                              "kind": kind, "verbs": list(verbs)})
    if not group:
        resources.append({"name": "namespaces", "singularName": "namespace", "namespaced": False,
                          "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": served[0].api_version,
            "resources": resources}


# --- Tables ---------------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """An age as kubectl prints it: 45s, 3m20s, 17m, 5h12m, 3d4h, 40d, 2y10d."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    if days < 365 * 8:
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{days // 365}y"


def _age(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "<unknown>"
    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return human_duration((now - when).total_seconds())


def _column(name: str, kind: str = "string", priority: int = 0, description: str = "") -> Obj:
    return {"name": name, "type": kind, "format": "name" if name == "Name" else "", "description": description,
            "priority": priority}


def _containers(template_spec: Obj) -> tuple[str, str]:
    containers = template_spec.get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _selector(selector: Obj | None) -> str:
    labels = (selector or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in labels.items()) or "<none>"


def _deployment(d: Obj, now: datetime) -> list[Any]:
    spec, status = d.get("spec", {}), d.get("status", {})
    names, images = _containers(spec.get("template", {}).get("spec", {}))
    return [d["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0),
            _age(d["metadata"].get("creationTimestamp"), now), names, images, _selector(spec.get("selector"))]


def _replicaset(rs: Obj, now: datetime) -> list[Any]:
    spec, status = rs.get("spec", {}), rs.get("status", {})
    names, images = _containers(spec.get("template", {}).get("spec", {}))
    return [rs["metadata"]["name"], spec.get("replicas", 1), status.get("replicas", 0),
            status.get("readyReplicas", 0), _age(rs["metadata"].get("creationTimestamp"), now), names, images,
            _selector(spec.get("selector"))]


def pod_status(pod: Obj) -> str:
    """The STATUS column: a waiting or terminated reason wins over the phase."""
    status = pod.get("status", {})
    reason = status.get("reason") or status.get("phase", "Unknown")
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            reason = state["terminated"].get("reason") or f"ExitCode:{state['terminated'].get('exitCode', 0)}"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _pod(pod: Obj, now: datetime) -> list[Any]:
    status = pod.get("status", {})
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in statuses)
    finished = [c["lastState"]["terminated"].get("finishedAt") for c in statuses
                if (c.get("lastState") or {}).get("terminated")]
    shown = f"{restarts} ({_age(max(finished), now)} ago)" if restarts and finished else str(restarts)
    return [pod["metadata"]["name"], f"{ready}/{len(pod.get('spec', {}).get('containers') or [])}",
            pod_status(pod), shown, _age(pod["metadata"].get("creationTimestamp"), now),
            status.get("podIP", "<none>"), pod.get("spec", {}).get("nodeName", "<none>"), "<none>", "<none>"]


def _event(e: Obj, now: datetime) -> list[Any]:
    involved = e.get("involvedObject", {})
    return [_age(e.get("lastTimestamp"), now), e.get("type", ""), e.get("reason", ""),
            f"{involved.get('kind', '').lower()}/{involved.get('name', '')}", involved.get("fieldPath", ""),
            (e.get("source") or {}).get("component", ""), e.get("message", ""),
            _age(e.get("firstTimestamp"), now), e.get("count", 1), e["metadata"]["name"]]


_COLUMNS: dict[str, tuple[list[Obj], Callable[[Obj, datetime], list[Any]]]] = {
    "Deployment": ([_column("Name"), _column("Ready"), _column("Up-to-date", "integer"),
                    _column("Available", "integer"), _column("Age"), _column("Containers", priority=1),
                    _column("Images", priority=1), _column("Selector", priority=1)], _deployment),
    "ReplicaSet": ([_column("Name"), _column("Desired", "integer"), _column("Current", "integer"),
                    _column("Ready", "integer"), _column("Age"), _column("Containers", priority=1),
                    _column("Images", priority=1), _column("Selector", priority=1)], _replicaset),
    "Pod": ([_column("Name"), _column("Ready"), _column("Status"), _column("Restarts"), _column("Age"),
             _column("IP", priority=1), _column("Node", priority=1), _column("Nominated Node", priority=1),
             _column("Readiness Gates", priority=1)], _pod),
    "Event": ([_column("Last Seen"), _column("Type"), _column("Reason"), _column("Object"),
               _column("Subobject", priority=1), _column("Source", priority=1), _column("Message"),
               _column("First Seen", priority=1), _column("Count", "integer", 1), _column("Name", priority=1)],
              _event),
}


def table(kind: str, objects: list[Obj], now: datetime, include: str = "Metadata",
          resource_version: str = "") -> Obj:
    """The Table of ``objects``; ``include`` (includeObject) is None, Metadata or Object."""
    columns, cells = _COLUMNS[kind]
    rows = []
    for obj in objects:
        row: Obj = {"cells": cells(obj, now)}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": columns, "rows": rows}
