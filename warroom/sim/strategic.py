"""Strategic merge patch as the API server applies it to Deployments, ReplicaSets and Pods:
lists merged by their real merge keys (containers by name, ports by containerPort,
volumeMounts by mountPath, env and volumes by name), and the directives ``$patch``
(replace, delete), ``$retainKeys``, ``$setElementOrder/FIELD`` and
``$deleteFromPrimitiveList/FIELD`` applied. A directive the server would not understand
is refused (400, or 422 for a list item without its merge key); no directive is ever
stored literally."""

from __future__ import annotations

import copy
from typing import Any

from warroom.sim.kubeobjects import APIError

MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "ports": "containerPort", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "volumes": "name", "imagePullSecrets": "name", "hostAliases": "ip", "conditions": "type",
    "ownerReferences": "uid", "resourceClaims": "name",
}
"""The patchMergeKey of the lists of objects these kinds hold; other lists are replaced."""
PRIMITIVE_MERGE = frozenset({"finalizers"})
"""Lists of strings merged as sets (patchStrategy merge)."""
_DELETE = object()


def strategic_merge(original: Any, patch: Any) -> Any:
    """``original`` with ``patch`` applied; APIError when the patch is not one."""
    if not isinstance(patch, dict):
        raise APIError(400, "a strategic merge patch must be a JSON object")
    merged = _map(original if isinstance(original, dict) else {}, patch, "")
    if merged is _DELETE:
        raise APIError(400, "$patch: delete of the whole object is not a patch")
    return merged


def _map(original: dict, patch: dict, path: str) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _map({}, {k: v for k, v in patch.items() if k != "$patch"}, path)
    if directive is not None:
        raise APIError(400, f"{path or '.'}: unknown $patch directive {directive!r} (expected replace or delete)")
    result = copy.deepcopy(original)
    retain = patch.get("$retainKeys")
    if retain is not None:
        if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
            raise APIError(400, f"{path or '.'}: $retainKeys must be a list of strings")
        extra = [k for k in patch if not k.startswith("$") and k not in retain]
        if extra:
            raise APIError(422, f"{path or '.'}: $retainKeys {retain} does not contain {', '.join(extra)}")
        result = {k: v for k, v in result.items() if k in retain}
    orders: dict[str, Any] = {}
    for key, value in patch.items():
        where = f"{path}.{key}" if path else key
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if not isinstance(value, list) or not isinstance(result.get(field, []), list):
                raise APIError(400, f"{where}: must be a list of values of a list of values")
            result[field] = [v for v in result.get(field, []) if v not in value]
            continue
        if key.startswith("$"):
            raise APIError(400, f"{where}: unknown strategic merge patch directive")
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            merged = _map(current if isinstance(current, dict) else {}, value, where)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            current = result.get(key)
            result[key] = _list(key, current if isinstance(current, list) else [], value, where)
        else:
            result[key] = value
    for field, order in orders.items():
        result[field] = _ordered(field, result.get(field, []), order, f"{path}.$setElementOrder/{field}".lstrip("."))
    return result


def _list(key: str, original: list, patch: list, path: str) -> list:
    merge_key = MERGE_KEYS.get(key)
    if merge_key is None:
        if key in PRIMITIVE_MERGE:
            return [*original, *(v for v in patch if v not in original)]
        # Replaced: the items are plain values, any directive in them is applied to nothing.
        return [_map({}, item, f"{path}[{i}]") if isinstance(item, dict) else copy.deepcopy(item)
                for i, item in enumerate(patch)]
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_map({}, item, f"{path}[{i}]") for i, item in enumerate(patch)
                if isinstance(item, dict) and item.get("$patch") != "replace"]
    result = copy.deepcopy(original)
    for i, item in enumerate(patch):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise APIError(400, f"{where}: expected an object with the merge key {merge_key}")
        if merge_key not in item:
            raise APIError(422, f"{where}: map does not contain the declared merge key {merge_key}")
        same = [j for j, old in enumerate(result) if isinstance(old, dict) and old.get(merge_key) == item[merge_key]]
        if item.get("$patch") == "delete":
            result = [old for j, old in enumerate(result) if j not in same]
            continue
        if same:
            merged = _map(result[same[0]], item, where)
            result[same[0]] = merged
        else:
            result.append(_map({}, item, where))
    return result


def _ordered(field: str, items: list, order: Any, path: str) -> list:
    if not isinstance(order, list):
        raise APIError(400, f"{path}: must be a list")
    merge_key = MERGE_KEYS.get(field)
    if merge_key is None:
        wanted = list(order)
        key = lambda item: item  # noqa: E731 - primitives order by value
    else:
        if not all(isinstance(o, dict) and merge_key in o for o in order):
            raise APIError(400, f"{path}: every item must name its {merge_key}")
        wanted = [o[merge_key] for o in order]
        key = lambda item: item.get(merge_key) if isinstance(item, dict) else None  # noqa: E731
    rank = {value: i for i, value in enumerate(wanted)}
    listed = sorted((item for item in items if key(item) in rank), key=lambda item: rank[key(item)])
    return listed + [item for item in items if key(item) not in rank]
