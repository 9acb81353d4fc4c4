"""The API server's validation of what it is asked to store (422 Invalid), for the kinds
the simulator serves: replicas a non-negative integer, a Deployment's or ReplicaSet's
selector present, matching its template and immutable, containers named, imaged and
unique, ports and env entries well formed, every object's labels and annotations strings."""

from __future__ import annotations

import json
from typing import Any

from warroom.sim.kubeobjects import APIError

Obj = dict[str, Any]


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def problems(kind: str, obj: Obj, old: Obj | None) -> list[str]:
    """``field: Invalid value: ...`` for each problem; empty when ``obj`` may be stored."""
    found: list[str] = []
    meta = obj.get("metadata") or {}
    for field in ("labels", "annotations"):
        values = meta.get(field) or {}
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            found.append(f"metadata.{field}: Invalid value: {json.dumps(values)}: values must be strings")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return found + ["spec: Required value"] if kind in ("Deployment", "ReplicaSet", "Pod") else found
    if kind in ("Deployment", "ReplicaSet"):
        replicas = spec.get("replicas", 1)
        if not _int(replicas):
            found.append(f"spec.replicas: Invalid value: {json.dumps(replicas)}: must be an integer")
        elif replicas < 0:
            found.append(f"spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0")
        selector = spec.get("selector")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        match = (selector or {}).get("matchLabels") if isinstance(selector, dict) else None
        if not match and not (selector or {}).get("matchExpressions"):
            found.append("spec.selector: Required value")
        elif match and any(labels.get(k) != v for k, v in match.items()):
            found.append(f"spec.template.metadata.labels: Invalid value: {json.dumps(labels)}: "
                         "`selector` does not match template `labels`")
        if old is not None and kind == "Deployment" and selector != old.get("spec", {}).get("selector"):
            found.append(f"spec.selector: Invalid value: {json.dumps(selector)}: field is immutable")
        for key in ("revisionHistoryLimit", "progressDeadlineSeconds", "minReadySeconds"):
            if key in spec and (not _int(spec[key]) or spec[key] < 0):
                found.append(f"spec.{key}: Invalid value: {json.dumps(spec[key])}: must be greater than or equal to 0")
        found += _pod_spec((spec.get("template") or {}).get("spec"), "spec.template.spec")
    elif kind == "Pod":
        found += _pod_spec(spec, "spec")
        if old is not None and _without_images(spec) != _without_images(old.get("spec") or {}):
            found.append("spec: Forbidden: pod updates may not change fields other than "
                         "`spec.containers[*].image`, `spec.initContainers[*].image`, "
                         "`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations)")
    return found


def _without_images(spec: Obj) -> Obj:
    copied = json.loads(json.dumps(spec))
    for key in ("containers", "initContainers"):
        for container in copied.get(key) or []:
            container.pop("image", None)
    for key in ("activeDeadlineSeconds", "tolerations"):
        copied.pop(key, None)
    return copied


def _pod_spec(spec: Any, at: str) -> list[str]:
    if not isinstance(spec, dict):
        return [f"{at}: Required value"]
    found = []
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return [f"{at}.containers: Required value"]
    volumes = {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)}
    seen: set[str] = set()
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            where = f"{at}.{key}[{i}]"
            if not isinstance(c, dict):
                found.append(f"{where}: Invalid value: must be an object")
                continue
            if not c.get("name"):
                found.append(f"{where}.name: Required value")
            elif c["name"] in seen:
                found.append(f"{where}.name: Duplicate value: {json.dumps(c['name'])}")
            seen.add(c.get("name"))
            if not c.get("image"):
                found.append(f"{where}.image: Required value")
            for j, port in enumerate(c.get("ports") or []):
                number = port.get("containerPort") if isinstance(port, dict) else None
                if not _int(number) or not 0 < number < 65536:
                    found.append(f"{where}.ports[{j}].containerPort: Invalid value: {json.dumps(number)}: "
                                 "must be between 1 and 65535, inclusive")
            for j, env in enumerate(c.get("env") or []):
                if not isinstance(env, dict) or not env.get("name"):
                    found.append(f"{where}.env[{j}].name: Required value")
            for j, mount in enumerate(c.get("volumeMounts") or []):
                if not isinstance(mount, dict) or not mount.get("mountPath"):
                    found.append(f"{where}.volumeMounts[{j}].mountPath: Required value")
                elif mount.get("name") not in volumes:
                    found.append(f"{where}.volumeMounts[{j}].name: Not found: {json.dumps(mount.get('name'))}")
    return found


def validate(kind: str, name: str, group: str, obj: Obj, old: Obj | None) -> None:
    """APIError 422 (reason Invalid) naming every problem, as the server words it."""
    found = problems(kind, obj, old)
    if found:
        qualified = f"{kind}.{group}" if group else kind
        raise APIError(422, f'{qualified} "{name}" is invalid: {", ".join(found)}', name=name, kind=kind,
                       causes=[tuple(problem.split(": ", 1)) for problem in found])
