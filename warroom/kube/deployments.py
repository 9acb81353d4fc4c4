"""kubectl's rules on Deployments and ReplicaSets, read as the server's JSON: the revision
history, rollback.go's template comparison and patch, label selectors, ControllerRefs,
and a template change told field by field."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import datetime
from typing import Any, Mapping

from warroom.kube.quantity import canonical

REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"
# rollback.go's annotationsToSkip: the Deployment keeps its own values of these, and every
# other annotation comes from the ReplicaSet rolled back to.
SKIPPED_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", REVISION,
    "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to",
})
DIFF_LINES = 12
_INT64 = re.compile(r"[+-]?[0-9]+")  # strconv.ParseInt(v, 10, 64): no spaces, no "_"

Obj = dict[str, Any]


class NoRevision(LookupError):
    """The revision to roll back to is not in the Deployment's history."""


def revision_of(annotations: Mapping[str, str] | None) -> int | None:
    """The revision an object's annotations give (a Deployment's or a ReplicaSet's, as JSON
    or as the client's model); None when unknown: no annotation, or not an integer as
    strconv.ParseInt reads one.

    kubectl's deploymentutil.Revision calls a missing annotation revision 0, so `rollout
    undo` could pick a ReplicaSet the controller never numbered (an adopted orphan) as
    "the previous revision". Here it is no candidate, as an unparsable one is for kubectl,
    and a Deployment the controller has not numbered yet shows no revision, not "0"."""
    value = (annotations or {}).get(REVISION)
    if value is None or not _INT64.fullmatch(value):
        return None
    number = int(value)
    return number if -(2**63) <= number < 2**63 else None


def choose_revision(replica_sets: list[Obj], to_revision: int | None, deployment: str) -> Obj:
    """rollback.go's deploymentRevision: the ReplicaSet with revision ``to_revision``, else
    (None or 0) the one with the second-highest revision."""
    latest: tuple[int, Obj | None] = (-1, None)
    previous: tuple[int, Obj | None] = (-1, None)
    for rs in replica_sets:
        revision = revision_of(rs["metadata"].get("annotations"))
        if revision is None:
            continue
        if to_revision:
            if revision == to_revision:
                return rs
        elif latest[0] < revision:
            latest, previous = (revision, rs), latest
        elif previous[0] < revision:
            previous = (revision, rs)
    known = ", ".join(str(r) for r in sorted({revision_of(rs["metadata"].get("annotations")) for rs in replica_sets} - {None}))
    if to_revision:
        raise NoRevision(f"revision {to_revision} not found in the history of deployment {deployment}"
                           f" (revisions: {known or 'none'})")
    if previous[1] is None:
        only = f" (only revision {known})" if known else ""
        raise NoRevision(f"no previous revision of deployment {deployment} to roll back to{only}")
    return previous[1]


def without_hash(template: Obj) -> Obj:
    """A pod template without the pod-template-hash label the ReplicaSet added."""
    template = copy.deepcopy(template)
    labels = (template.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(TEMPLATE_HASH, None)
        if not labels:  # an empty map is omitted, as Go's omitempty does
            del template["metadata"]["labels"]
    return template


def _normal(value: Any) -> Any:
    # apiequality.Semantic.DeepEqual on the decoded structs: nil and empty maps/slices are
    # equal, and a missing string field decodes to "" (Go's zero value). 0 and false stay
    # values: some of those fields are pointers, where nil and 0 differ.
    if isinstance(value, dict):
        items = {k: _normal(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


QUANTITY_MAPS = frozenset({"limits", "requests", "overhead"})  # resource name -> quantity
QUANTITY_FIELDS = frozenset({"sizeLimit"})


def _semantic(value: Any, key: str | None = None) -> Any:
    """``_normal`` with resource quantities by value (``1`` == ``1000m``), as
    Semantic.DeepEqual compares resource.Quantity."""
    if isinstance(value, dict):
        if key in QUANTITY_MAPS:
            return {k: canonical(v) for k, v in value.items()}
        return {k: _semantic(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return canonical(value) if key in QUANTITY_FIELDS else value


def same_template(a: Obj, b: Obj) -> bool:
    """rollback.go's equalIgnoreHash: Semantic.DeepEqual without pod-template-hash."""
    return _semantic(_normal(without_hash(a))) == _semantic(_normal(without_hash(b)))


def rollback_annotations(deployment: Obj, rs: Obj) -> dict[str, str]:
    """The Deployment's own values of the skipped annotations (revision, last-applied, ...),
    then every other annotation of the ReplicaSet. The Deployment's other annotations go:
    the controller copied them onto each ReplicaSet, so the old ones come back from it."""
    own = deployment["metadata"].get("annotations") or {}
    annotations = {k: v for k, v in own.items() if k in SKIPPED_ANNOTATIONS}
    annotations.update({k: v for k, v in (rs["metadata"].get("annotations") or {}).items()
                        if k not in SKIPPED_ANNOTATIONS})
    return annotations


def rollback_patch(deployment: Obj, rs: Obj) -> list[Obj]:
    """The one JSON Patch `kubectl rollout undo` sends."""
    # "replace" needs the member to exist; a Deployment without annotations gets "add".
    verb = "replace" if "annotations" in deployment["metadata"] else "add"
    return [{"op": "replace", "path": "/spec/template", "value": without_hash(rs["spec"]["template"])},
            {"op": verb, "path": "/metadata/annotations", "value": rollback_annotations(deployment, rs)}]


def selector_query(selector: Obj) -> str:
    """A label selector (JSON; the client's model gives it as ``.to_dict(serialize=True)``)
    in the query syntax: ``a=1,b=2,tier in (web,edge),!canary``."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or ():
        key, values = expr["key"], ",".join(expr.get("values") or ())
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                      "Exists": key, "DoesNotExist": f"!{key}"}[expr["operator"]])
    return ",".join(parts)


def controller_of(obj: Obj) -> str | None:
    """The uid of the object's controller (its ControllerRef)."""
    return next((r.get("uid") for r in obj["metadata"].get("ownerReferences") or () if r.get("controller")), None)


def images(template: Obj) -> list[str]:
    return [c.get("image", "") for c in (template.get("spec") or {}).get("containers") or ()]


def image_text(names: list[str]) -> str:
    return f"image {names[0]}" if len(names) == 1 else f"images {', '.join(names)}"


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(_normal(value), sort_keys=True).encode()).hexdigest()


def _flat(value: Any, path: str = "") -> dict[str, Any]:
    # Lists of named objects (containers, env) keyed by name, so a diff says which one.
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{path}.{key}" if path else key))
        return out
    if isinstance(value, list) and value and all(isinstance(i, dict) and "name" in i for i in value):
        return {k: v for item in value for k, v in _flat(item, f"{path}[{item['name']}]").items()}
    return {path: value}


def _shown(value: Any) -> str:
    return "unset" if value is None else json.dumps(value)


def template_diff(old: Obj, new: Obj) -> list[str]:
    """What a template change changes, one line per field (``spec.containers[app].image:
    a -> b``), at most DIFF_LINES of them."""
    old, new = _normal(without_hash(old)), _normal(without_hash(new))
    a, b = _flat(old), _flat(new)
    sa, sb = _flat(_semantic(old)), _flat(_semantic(new))  # 1 -> 1000m is no change
    lines = [f"{k}: {_shown(a.get(k))} -> {_shown(b.get(k))}" for k in sorted(a.keys() | b.keys())
             if sa.get(k) != sb.get(k)]
    return lines if len(lines) <= DIFF_LINES else [*lines[:DIFF_LINES], f"... {len(lines) - DIFF_LINES} more"]


# --- when the current revision became current --------------------------------------------------

REVISION_HISTORY = "deployment.kubernetes.io/revision-history"


def became_current(deployment: Obj, current: Obj) -> datetime | None:
    """When the Deployment's current revision became current: for a finished rollout, the
    Progressing condition's lastUpdateTime (the controller sets it when the reason turns
    to NewReplicaSetAvailable and keeps it after); during a rollout, the ReplicaSet's
    creation, only if it was never current before (no revision-history annotation). A
    ReplicaSet's creation time alone is wrong after a rollback: it was created long ago.
    None when unknown. Both objects as JSON (or the client's ``to_dict(serialize=True)``)."""
    status = deployment.get("status") or {}
    progressing = next((c for c in status.get("conditions") or () if c.get("type") == "Progressing"), None)
    if progressing is not None and progressing.get("reason") == "NewReplicaSetAvailable":
        return _time(progressing.get("lastUpdateTime"))
    if REVISION_HISTORY in (current["metadata"].get("annotations") or {}):
        return None
    return _time(current["metadata"].get("creationTimestamp"))


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None
