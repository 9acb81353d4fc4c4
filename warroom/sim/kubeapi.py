"""A small, stateful Kubernetes API served over HTTP on loopback, for tests and the demo.

It speaks the subset warroom uses (Deployments and their scale subresource, ReplicaSets,
Pods, pod logs) with the real API's URLs, JSON shapes, label selectors, patch content
types and Status errors, so the real ``kubernetes`` client runs against it unchanged.
There are no controllers: nothing creates ReplicaSets or Pods or moves a rollout along on
its own; whoever drives the simulation (a test, the demo scenario) does that through the
Python methods. Every request is recorded in ``KubeAPI.requests`` so a test can assert
exactly what the client sent. The objects, selectors and patches are ``kubeobjects``'.
"""

from __future__ import annotations

import copy
import fnmatch
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from aiohttp import web

from warroom.files import write_file
from warroom.sim.kubeobjects import APIError, Obj, json_patch, merge_patch, parse_selector, timestamp

KINDS = ("Deployment", "ReplicaSet", "Pod")
_API_VERSIONS = {"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "Pod": "v1"}
_RESOURCES = {"Deployment": "deployments.apps", "ReplicaSet": "replicasets.apps", "Pod": "pods"}
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            409: "Conflict", 415: "UnsupportedMediaType", 422: "Invalid", 500: "InternalError"}
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"



@dataclass(frozen=True, slots=True)
class Request:
    """One request as the server received it; ``body`` is parsed JSON when it is JSON."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str | None
    body: Any
    headers: dict[str, str]


@dataclass
class _Failure:
    status: int
    method: str | None
    path: str
    message: str
    times: int | None


def write_kubeconfig(path: Path | str, base_url: str, context: str = "warroom-test", *,
                     namespace: str | None = None, token: str | None = None) -> Path:
    """A kubeconfig (YAML) whose ``context`` (also the current one) points at ``base_url``
    over plain HTTP, with no credentials unless ``token`` is given."""
    path = Path(path)
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    lines = [
        "apiVersion: v1", "kind: Config", "preferences: {}",
        "clusters:", f"- name: {q(context)}", "  cluster:", f"    server: {q(base_url)}",
        "contexts:", f"- name: {q(context)}", "  context:", f"    cluster: {q(context)}",
        f"    user: {q(context)}",
        *([f"    namespace: {q(namespace)}"] if namespace else []),
        "users:", f"- name: {q(context)}",
        *(["  user:", f"    token: {q(token)}"] if token else ["  user: {}"]),
        f"current-context: {q(context)}", "",
    ]
    write_file(path, "\n".join(lines))
    return path


# --- the server ----------------------------------------------------------------------------


class KubeAPI:
    """In-memory Deployments, ReplicaSets, Pods and pod logs behind the Kubernetes REST API.

    ``add``/``get``/``patch``/``replace``/``delete``/``set_log`` change the world from
    Python; ``fail`` makes matching requests answer with an error Status; ``subscribe``
    tells a simulation about writes made through the API (a rollback's patch, a pod
    deletion) so it can play the controllers' part.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.requests: list[Request] = []
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {kind: {} for kind in KINDS}
        self._logs: dict[tuple[str, str, str, bool], str] = {}
        self._failures: list[_Failure] = []
        self._listeners: list[Callable[[str, str, Obj], None]] = []
        self._version = itertools.count(2)
        self._runner: web.AppRunner | None = None
        self.base_url: str | None = None

    # -- lifecycle --

    async def start(self) -> str:
        """Listen on ``host:port`` (0: a free port); the base URL, e.g. http://127.0.0.1:PORT."""
        app = web.Application(middlewares=[self._middleware])
        apps = "/apis/apps/v1/namespaces/{ns}"
        app.router.add_get("/version", self._version_info)
        app.router.add_get(apps + "/deployments", self._list("Deployment"))
        app.router.add_get(apps + "/deployments/{name}", self._read("Deployment"))
        app.router.add_patch(apps + "/deployments/{name}", self._patch_deployment)
        app.router.add_get(apps + "/deployments/{name}/scale", self._read_scale)
        app.router.add_patch(apps + "/deployments/{name}/scale", self._patch_scale)
        app.router.add_get(apps + "/replicasets", self._list("ReplicaSet"))
        app.router.add_get(apps + "/replicasets/{name}", self._read("ReplicaSet"))
        app.router.add_get("/api/v1/namespaces/{ns}/pods", self._list("Pod"))
        app.router.add_get("/api/v1/namespaces/{ns}/pods/{name}", self._read("Pod"))
        app.router.add_delete("/api/v1/namespaces/{ns}/pods/{name}", self._delete_pod)
        app.router.add_get("/api/v1/namespaces/{ns}/pods/{name}/log", self._pod_log)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://{self.host}:{self.port}"
        return self.base_url

    async def stop(self) -> None:
        """Close the listening socket and every open connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> KubeAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the world, from Python --

    def add(self, *objs: Obj) -> None:
        """Store objects (from the make_* helpers or hand-written), replacing same-named ones."""
        for obj in objs:
            kind, meta = obj["kind"], obj["metadata"]
            if kind not in self._objects:
                raise ValueError(f"KubeAPI does not serve {kind}")
            stored = copy.deepcopy(obj)
            stored["metadata"]["resourceVersion"] = str(next(self._version))
            self._objects[kind][(meta["namespace"], meta["name"])] = stored

    def get(self, kind: str, ns: str, name: str) -> Obj:
        """A copy of a stored object; KeyError if there is none."""
        return copy.deepcopy(self._objects[kind][(ns, name)])

    def objects(self, kind: str, ns: str | None = None) -> list[Obj]:
        return [copy.deepcopy(o) for (n, _), o in self._objects[kind].items() if ns in (None, n)]

    def replace(self, obj: Obj) -> None:
        """Replace a stored object (KeyError if absent), e.g. after editing a ``get`` copy."""
        self.get(obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])
        self.add(obj)

    def patch(self, kind: str, ns: str, name: str, changes: Obj) -> Obj:
        """Merge ``changes`` into a stored object (None deletes a key), e.g. a new status."""
        self.add(merge_patch(self.get(kind, ns, name), changes))
        return self.get(kind, ns, name)

    def delete(self, kind: str, ns: str, name: str) -> Obj:
        return self._objects[kind].pop((ns, name))

    def set_log(self, ns: str, pod: str, text: str, *, container: str | None = None,
                previous: bool = False) -> None:
        """The log of a pod's container (its first one by default); ``previous`` is the
        log of the container instance that ran before the last restart."""
        if container is None:
            container = self._objects["Pod"][(ns, pod)]["spec"]["containers"][0]["name"]
        self._logs[(ns, pod, container, previous)] = text

    def fail(self, status: int, *, path: str = "*", method: str | None = None,
             message: str | None = None, times: int | None = None) -> None:
        """Answer requests whose path matches the glob ``path`` (and ``method``) with an
        error Status, ``times`` times or until ``clear_failures``."""
        text = message or f"simulated {_REASONS.get(status, 'error').lower()} for {path}"
        self._failures.append(_Failure(status, method, path, text, times))

    def clear_failures(self) -> None:
        self._failures.clear()

    def subscribe(self, listener: Callable[[str, str, Obj], None]) -> None:
        """Call ``listener(verb, kind, obj)`` after each write made through the API
        (verb "patch" or "delete")."""
        self._listeners.append(listener)

    def requests_to(self, method: str, path: str) -> list[Request]:
        """Recorded requests with this method whose path matches the glob ``path``."""
        return [r for r in self.requests if r.method == method and fnmatch.fnmatchcase(r.path, path)]

    # -- HTTP --

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        raw = await request.read()
        content_type = request.headers.get("Content-Type")
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        self.requests.append(Request(request.method, request.path, dict(request.query),
                                     content_type.split(";")[0].strip() if content_type else None,
                                     body, dict(request.headers)))
        try:
            self._injected_failure(request)
            return await handler(request)
        except APIError as exc:
            return _status(exc)
        except web.HTTPNotFound:
            return _status(APIError(404, "the server could not find the requested resource"))
        except web.HTTPMethodNotAllowed:
            return _status(APIError(405, f"the server does not allow this method on {request.path}"))

    def _injected_failure(self, request: web.Request) -> None:
        for failure in self._failures:
            if failure.method not in (None, request.method) or not fnmatch.fnmatchcase(request.path, failure.path):
                continue
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
            raise APIError(failure.status, failure.message)

    async def _version_info(self, request: web.Request) -> web.Response:
        return web.json_response({
            "major": "1", "minor": "31", "gitVersion": "v1.31.0-warroom-sim", "gitCommit": "",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22",
            "compiler": "gc", "platform": "linux/amd64",
        })

    def _find(self, kind: str, ns: str, name: str) -> Obj:
        try:
            return self._objects[kind][(ns, name)]
        except KeyError:
            raise APIError(404, f'{_RESOURCES[kind]} "{name}" not found', name=name, kind=kind) from None

    def _list(self, kind: str) -> Callable:
        async def handler(request: web.Request) -> web.Response:
            ns = request.match_info["ns"]
            try:
                matches = parse_selector(request.query.get("labelSelector", ""))
            except ValueError as exc:
                raise APIError(400, str(exc)) from None
            items = [o for (n, _), o in sorted(self._objects[kind].items())
                     if n == ns and matches(o["metadata"].get("labels") or {})]
            return web.json_response({
                "apiVersion": _API_VERSIONS[kind], "kind": f"{kind}List",
                "metadata": {"resourceVersion": str(next(self._version))}, "items": items,
            })
        return handler

    def _read(self, kind: str) -> Callable:
        async def handler(request: web.Request) -> web.Response:
            return web.json_response(self._find(kind, request.match_info["ns"], request.match_info["name"]))
        return handler

    async def _apply(self, request: web.Request, current: Obj) -> Obj:
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise APIError(400, "the request body is not JSON") from None
        if content_type == JSON_PATCH:
            if not isinstance(body, list):
                raise APIError(400, "a JSON Patch must be a list of operations")
            return json_patch(current, body)
        if content_type in (MERGE_PATCH, STRATEGIC_PATCH):
            if not isinstance(body, dict):
                raise APIError(400, "a merge patch must be an object")
            return merge_patch(current, body, strategic=content_type == STRATEGIC_PATCH)
        raise APIError(415, f"the body of the request was in an unknown format - accepted media "
                            f"types include: {JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_PATCH}")

    def _store(self, kind: str, before: Obj, after: Obj) -> Obj:
        # Identity and server-owned metadata cannot be patched.
        for key in ("name", "namespace", "uid", "creationTimestamp", "generation"):
            if key in before["metadata"]:
                after.setdefault("metadata", {})[key] = before["metadata"][key]
        after["apiVersion"], after["kind"] = before["apiVersion"], before["kind"]
        if after.get("spec") != before.get("spec") and "generation" in before["metadata"]:
            after["metadata"]["generation"] = before["metadata"]["generation"] + 1
        after["metadata"]["resourceVersion"] = str(next(self._version))
        meta = after["metadata"]
        self._objects[kind][(meta["namespace"], meta["name"])] = after
        self._notify("patch", kind, after)
        return after

    def _notify(self, verb: str, kind: str, obj: Obj) -> None:
        for listener in list(self._listeners):
            listener(verb, kind, copy.deepcopy(obj))

    async def _patch_deployment(self, request: web.Request) -> web.Response:
        current = self._find("Deployment", request.match_info["ns"], request.match_info["name"])
        return web.json_response(self._store("Deployment", current, await self._apply(request, current)))

    @staticmethod
    def _scale_of(deployment: Obj) -> Obj:
        meta, spec = deployment["metadata"], deployment["spec"]
        selector = ",".join(f"{k}={v}" for k, v in sorted(spec["selector"].get("matchLabels", {}).items()))
        return {
            "apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": {"replicas": deployment.get("status", {}).get("replicas", 0), "selector": selector},
        }

    async def _read_scale(self, request: web.Request) -> web.Response:
        deployment = self._find("Deployment", request.match_info["ns"], request.match_info["name"])
        return web.json_response(self._scale_of(deployment))

    async def _patch_scale(self, request: web.Request) -> web.Response:
        deployment = self._find("Deployment", request.match_info["ns"], request.match_info["name"])
        scale = await self._apply(request, self._scale_of(deployment))
        replicas = scale.get("spec", {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise APIError(422, f"spec.replicas: Invalid value: {replicas!r}: must be a non-negative integer")
        updated = copy.deepcopy(deployment)
        updated["spec"]["replicas"] = replicas
        return web.json_response(self._scale_of(self._store("Deployment", deployment, updated)))

    async def _delete_pod(self, request: web.Request) -> web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        pod = copy.deepcopy(self._find("Pod", ns, name))
        del self._objects["Pod"][(ns, name)]
        pod["metadata"]["deletionTimestamp"] = timestamp()
        pod["metadata"]["resourceVersion"] = str(next(self._version))
        self._notify("delete", "Pod", pod)
        return web.json_response(pod)

    async def _pod_log(self, request: web.Request) -> web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        pod = self._find("Pod", ns, name)
        names = [c["name"] for c in pod["spec"]["containers"]]
        container = request.query.get("container")
        if container is None:
            if len(names) != 1:
                raise APIError(400, f"a container name must be specified for pod {name}, "
                                    f"choose one of: [{' '.join(names)}]")
            container = names[0]
        elif container not in names:
            raise APIError(400, f"container {container} is not valid for pod {name}")
        previous = request.query.get("previous", "false").lower() == "true"
        key = (ns, name, container, previous)
        if previous and key not in self._logs:
            raise APIError(400, f'previous terminated container "{container}" in pod "{name}" not found')
        text = self._logs.get(key, "")
        if "tailLines" in request.query:
            try:
                tail = int(request.query["tailLines"])
            except ValueError:
                raise APIError(400, "tailLines must be an integer") from None
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-tail:]) if tail > 0 else ""
        return web.Response(text=text, content_type="text/plain")


def _status(exc: APIError) -> web.Response:
    reason = _REASONS.get(exc.status, "Unknown")
    body: Obj = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
                 "message": exc.message, "reason": reason, "code": exc.status}
    if exc.name:
        resource, _, group = _RESOURCES[exc.kind or "Pod"].partition(".")
        body["details"] = {"name": exc.name, "group": group, "kind": resource}
    return web.json_response(body, status=exc.status)
