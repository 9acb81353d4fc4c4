"""A small, stateful Kubernetes API served on loopback, for tests, the demo and drills.

It speaks what warroom and kubectl 1.32 use, with the real API's URLs, JSON shapes and
refusals, so the real ``kubernetes`` client and the real ``kubectl`` run against it
unchanged: discovery (``/api``, ``/apis``, each group version's resources), Deployments
(and their scale subresource), ReplicaSets, Pods (logs, ``previous`` and ``follow``) and
Events; GET, list with label and field selectors, ``watch=true`` streams from a
resourceVersion, Table output for ``kubectl get``, PUT, PATCH (JSON, merge and strategic
merge with its directives), DELETE, ``dryRun=All``; 409 on a stale resourceVersion and
422 on invalid or immutable fields. With ``secure=True`` it serves HTTPS with a CA made at
start and wants a bearer token: 401 without a known one, 403 for a verb the token's role
lacks ("view" reads, "admin" does everything).

There are no controllers here: whoever drives the simulation (``cluster``, a test) moves
the world along through the Python methods and learns of writes made through the API from
``subscribe``. Every request is recorded in ``KubeAPI.requests`` so a test can assert
exactly what a client sent. The objects, selectors and patches are ``kubeobjects``'.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import fnmatch
import itertools
import json
import secrets
import ssl
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from aiohttp import web

from warroom.files import write_file
from warroom.sim import kubetables
from warroom.sim.kubeobjects import APIError, Obj, _uid, canonical, json_patch, merge_patch, parse_selector, timestamp
from warroom.sim.kubetables import KINDS, RESOURCES
from warroom.sim.strategic import strategic_merge
from warroom.sim.validation import validate

_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid", 500: "InternalError"}
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
ROLES = {"admin": frozenset({"get", "list", "watch", "create", "update", "patch", "delete"}),
         "view": frozenset({"get", "list", "watch"})}
"""What each token's role may do (the cluster roles of the same names, for these kinds)."""
HISTORY = 1000
"""Changes kept for watches that resume from a resourceVersion; older ones get 410 Expired."""
MAX_EVENTS = 500
"""Events kept (the oldest go first), so a demo left running does not grow forever."""
_FIELDS = {"metadata.name", "metadata.namespace"}
_EVENT_FIELDS = _FIELDS | {f"involvedObject.{k}" for k in ("kind", "namespace", "name", "uid", "apiVersion",
                                                             "resourceVersion", "fieldPath")} | {
    "reason", "type", "source", "reportingComponent"}
_POD_FIELDS = _FIELDS | {"spec.nodeName", "status.phase", "spec.restartPolicy", "status.podIP"}


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


@dataclass
class _Watch:
    kind: str
    ns: str
    matches: Callable[[Obj], bool]
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)


def write_kubeconfig(path: Path | str, base_url: str, context: str = "warroom-test", *,
                     namespace: str | None = None, token: str | None = None,
                     ca: bytes | None = None) -> Path:
    """A kubeconfig (YAML) whose ``context`` (also the current one) points at ``base_url``,
    with no credentials unless ``token`` is given; ``ca`` (PEM) is the cluster's
    certificate-authority-data for an https:// server."""
    path = Path(path)
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    lines = [
        "apiVersion: v1", "kind: Config", "preferences: {}",
        "clusters:", f"- name: {q(context)}", "  cluster:", f"    server: {q(base_url)}",
        *([f"    certificate-authority-data: {q(base64.b64encode(ca).decode())}"] if ca else []),
        "contexts:", f"- name: {q(context)}", "  context:", f"    cluster: {q(context)}",
        f"    user: {q(context)}",
        *([f"    namespace: {q(namespace)}"] if namespace else []),
        "users:", f"- name: {q(context)}",
        *(["  user:", f"    token: {q(token)}"] if token else ["  user: {}"]),
        f"current-context: {q(context)}", "",
    ]
    write_file(path, "\n".join(lines))
    return path


def field_selector(text: str, kind: str) -> Callable[[Obj], bool]:
    """``metadata.name=x,involvedObject.kind!=Pod`` as a predicate; APIError 400 for a field
    the server does not index for ``kind``."""
    allowed = _EVENT_FIELDS if kind == "Event" else _POD_FIELDS if kind == "Pod" else _FIELDS
    tests = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        negate = "!=" in part
        key, _, value = part.partition("!=" if negate else "==" if "==" in part else "=")
        key, value = key.strip(), value.strip()
        if key not in allowed:
            raise APIError(400, f'field label not supported: {key}')
        tests.append((key.split("."), value, negate))

    def lookup(obj: Obj, path: list[str]) -> str:
        node: Any = obj
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node = node.get("component")  # source=COMPONENT
        return "" if node is None else str(node)

    return lambda obj: all((lookup(obj, path) == value) != negate for path, value, negate in tests)


# --- the server ----------------------------------------------------------------------------


class KubeAPI:
    """In-memory Deployments, ReplicaSets, Pods, Events and pod logs behind the REST API.

    ``add``/``get``/``patch``/``replace``/``delete``/``set_log``/``record_event`` change
    the world from Python; ``fail`` makes matching requests answer with an error Status;
    ``subscribe`` tells a simulation about writes made through the API (a rollback's
    patch, a pod deletion) so it can play the controllers' part.

    ``secure``: HTTPS with a fresh CA (``ca_pem``) and bearer tokens required; ``tokens``
    maps each token to its role (``ROLES``), by default one admin token (``token``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, secure: bool = False,
                 tokens: dict[str, str] | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.host, self.port, self.secure = host, port, secure
        if tokens is not None and any(role not in ROLES for role in tokens.values()):
            raise ValueError(f"token roles are one of {', '.join(ROLES)}")
        self.tokens = dict(tokens) if tokens is not None else ({secrets.token_urlsafe(24): "admin"} if secure else {})
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.ca_pem: bytes | None = None
        self.requests: list[Request] = []
        self.pod_usage: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
        self.nodes: dict[str, tuple[str, ...]] = {}
        self.node_usage: dict[str, dict[str, str]] = {}
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {kind: {} for kind in KINDS}
        self._logs: dict[tuple[str, str, str, bool], str] = {}
        self._log_changed = asyncio.Event()
        self._failures: list[_Failure] = []
        self._listeners: list[Callable[[str, str, Obj], None]] = []
        self._version = itertools.count(2)
        self._last_version = 1
        self._history: deque[tuple[int, str, str, Obj | None, Obj | None]] = deque(maxlen=HISTORY)
        self._watches: list[_Watch] = []
        self._streams: set[asyncio.Event] = set()
        self._event_numbers = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url: str | None = None

    @property
    def token(self) -> str | None:
        """An admin token, when tokens are wanted."""
        return next((t for t, role in self.tokens.items() if role == "admin"), None)

    # -- lifecycle --

    async def start(self) -> str:
        """Listen on ``host:port`` (0: a free port); the base URL, e.g. http://127.0.0.1:PORT."""
        app = web.Application(middlewares=[self._middleware], client_max_size=16 * 2**20)
        app.router.add_get("/version", self._version_info)
        app.router.add_get("/api", self._discovery)
        app.router.add_get("/apis", self._discovery)
        app.router.add_get("/api/v1", self._discovery)
        app.router.add_get("/apis/{group}", self._discovery)
        app.router.add_get("/apis/{group}/v1", self._discovery)
        app.router.add_get("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods", self._pod_metrics)
        app.router.add_get("/apis/metrics.k8s.io/v1beta1/nodes", self._node_metrics)
        app.router.add_get("/api/v1/nodes/{name}", self._node)
        app.router.add_get("/api/v1/namespaces", self._namespaces)
        app.router.add_get("/api/v1/namespaces/{ns}", self._namespaces)
        for prefix in ("/api/v1", "/apis/{group}/v1"):
            base = prefix + "/namespaces/{ns}/{plural}"
            app.router.add_route("*", base, self._collection)
            app.router.add_route("*", base + "/{name}", self._item)
            app.router.add_route("*", base + "/{name}/{sub}", self._item)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        context = None
        if self.secure:
            from warroom.sim.kubetls import server_context

            context, self.ca_pem = server_context(self.host)
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"{'https' if self.secure else 'http'}://{self.host}:{self.port}"
        return self.base_url

    async def stop(self) -> None:
        """End every watch and log stream, close the socket and every connection."""
        for stream in list(self._streams):
            stream.set()
        for watch in self._watches:
            watch.queue.put_nowait(None)
        self._log_changed.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> KubeAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def write_kubeconfig(self, path: Path | str, context: str = "warroom-test", *, namespace: str | None = None,
                         token: str | None = None) -> Path:
        """A kubeconfig for this server: its CA and (unless ``token``) its admin token."""
        assert self.base_url is not None, "start() first"
        return write_kubeconfig(path, self.base_url, context, namespace=namespace,
                                token=token or self.token, ca=self.ca_pem)

    # -- the world, from Python --

    def _next_version(self) -> str:
        self._last_version = next(self._version)
        return str(self._last_version)

    def add(self, *objs: Obj) -> None:
        """Store objects (from the make_* helpers or hand-written), replacing same-named ones."""
        for obj in objs:
            kind, meta = obj["kind"], obj["metadata"]
            if kind not in self._objects:
                raise ValueError(f"KubeAPI does not serve {kind}")
            stored = copy.deepcopy(obj)
            self._put(kind, stored)

    def _put(self, kind: str, stored: Obj) -> None:
        meta = stored["metadata"]
        meta["resourceVersion"] = self._next_version()
        key = (meta["namespace"], meta["name"])
        old = self._objects[kind].get(key)
        self._objects[kind][key] = stored
        self._changed(kind, "MODIFIED" if old is not None else "ADDED", old, stored)

    def _remove(self, kind: str, ns: str, name: str) -> Obj:
        old = self._objects[kind].pop((ns, name))
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = self._next_version()
        self._changed(kind, "DELETED", old, gone)
        if kind == "Pod":
            self._wake_followers()  # its log streams end with it
        return gone

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
        return self._remove(kind, ns, name)

    def set_log(self, ns: str, pod: str, text: str, *, container: str | None = None,
                previous: bool = False) -> None:
        """The log of a pod's container (its first one by default); ``previous`` is the
        log of the container instance that ran before the last restart."""
        if container is None:
            container = self._objects["Pod"][(ns, pod)]["spec"]["containers"][0]["name"]
        self._logs[(ns, pod, container, previous)] = text
        self._wake_followers()

    def _wake_followers(self) -> None:
        self._log_changed.set()
        self._log_changed = asyncio.Event()

    def record_event(self, involved: Obj, reason: str, message: str, *, type: str = "Normal",
                     component: str = "", at: datetime | None = None, field_path: str | None = None) -> Obj:
        """An Event about ``involved``, as a controller or the kubelet records it: the same
        reason and message about the same object again counts up the existing one."""
        meta = involved["metadata"]
        when = timestamp(at or self.clock())
        for event in self._objects["Event"].values():
            same = event["involvedObject"]
            if (same.get("uid"), event["reason"], event["message"]) == (meta.get("uid"), reason, message):
                event = copy.deepcopy(event)
                event["count"] += 1
                event["lastTimestamp"] = when
                self._put("Event", event)
                return event
        if len(self._objects["Event"]) >= MAX_EVENTS:
            oldest = min(self._objects["Event"].values(), key=lambda e: int(e["metadata"]["resourceVersion"]))
            self._remove("Event", oldest["metadata"]["namespace"], oldest["metadata"]["name"])
        number = next(self._event_numbers)
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{number:016x}", "namespace": meta["namespace"],
                         "uid": f"00000000-0000-4000-8000-{number:012x}", "creationTimestamp": when},
            "involvedObject": {"kind": involved["kind"], "namespace": meta["namespace"], "name": meta["name"],
                               "uid": meta.get("uid", ""), "apiVersion": involved["apiVersion"],
                               "resourceVersion": meta.get("resourceVersion", ""),
                               **({"fieldPath": field_path} if field_path else {})},
            "reason": reason, "message": message, "source": {"component": component},
            "firstTimestamp": when, "lastTimestamp": when, "count": 1, "type": type,
            "eventTime": None, "reportingComponent": component, "reportingInstance": "",
        }
        self._put("Event", event)
        return copy.deepcopy(event)

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
        (verb "patch" for PATCH and PUT, or "delete")."""
        self._listeners.append(listener)

    def requests_to(self, method: str, path: str) -> list[Request]:
        """Recorded requests with this method whose path matches the glob ``path``."""
        return [r for r in self.requests if r.method == method and fnmatch.fnmatchcase(r.path, path)]

    # -- changes and watches --

    def _changed(self, kind: str, change: str, old: Obj | None, new: Obj | None) -> None:
        self._history.append((self._last_version, kind, change, copy.deepcopy(old), copy.deepcopy(new)))
        for watch in self._watches:
            event = _watch_event(watch, kind, change, old, new)
            if event is not None:
                watch.queue.put_nowait(event)

    def _notify(self, verb: str, kind: str, obj: Obj) -> None:
        for listener in list(self._listeners):
            listener(verb, kind, copy.deepcopy(obj))

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
            if self.tokens:
                scheme, _, token = request.headers.get("Authorization", "").partition(" ")
                if scheme.lower() != "bearer" or token.strip() not in self.tokens:
                    raise APIError(401, "Unauthorized")
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

    def _authorize(self, request: web.Request, verb: str, kind: str, sub: str | None, ns: str,
                   name: str | None) -> None:
        if not self.tokens:
            return
        role = self.tokens[request.headers["Authorization"].partition(" ")[2].strip()]
        if verb in ROLES[role]:
            return
        resource = RESOURCES[kind]
        what = f'{resource.qualified} "{name}"' if name else resource.qualified
        plural = f"{resource.plural}/{sub}" if sub else resource.plural
        raise APIError(403, f'{what} is forbidden: User "{role}" cannot {verb} resource "{plural}" in API group '
                            f'"{resource.group}" in the namespace "{ns}"', name=name, kind=kind)

    async def _version_info(self, request: web.Request) -> web.Response:
        return web.json_response({
            "major": "1", "minor": "31", "gitVersion": "v1.31.0-warroom-sim", "gitCommit": "",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22",
            "compiler": "gc", "platform": "linux/amd64",
        })

    async def _discovery(self, request: web.Request) -> web.Response:
        path, group = request.path.rstrip("/"), request.match_info.get("group", "")
        if path == "/api":
            document = kubetables.api_versions(f"{self.host}:{self.port}")
        elif path == "/apis":
            document = kubetables.api_groups()
        elif path.endswith("/v1"):
            document = kubetables.resource_list(group)
        else:
            document = kubetables.api_group(group)
        if document is None:
            raise web.HTTPNotFound()
        return web.json_response(document)

    # -- metrics-server and nodes: what the check reads of a pod's CPU/memory and node pressure --

    def set_pod_metrics(self, ns: str, pod: str, usage: dict[str, dict[str, str]]) -> None:
        """What metrics-server would report for ``pod``: per container, its ``cpu`` and
        ``memory`` usage. Until one is set, metrics.k8s.io answers 404 (no metrics-server)."""
        self.pod_usage[(ns, pod)] = usage

    def set_node(self, name: str, *, pressure: tuple[str, ...] = (), usage: dict[str, str] | None = None) -> None:
        """A node and the pressure conditions (MemoryPressure, DiskPressure, PIDPressure)
        that are True on it; ``usage`` (``cpu``, ``memory``): what metrics-server reports for it."""
        self.nodes[name] = tuple(pressure)
        if usage is not None:
            self.node_usage[name] = dict(usage)

    def _metrics_server(self) -> None:
        # metrics-server serves pods and nodes alike once it runs: here, once any usage is set.
        if not self.pod_usage and not self.node_usage:
            raise APIError(404, "the server could not find the requested resource")

    async def _node_metrics(self, request: web.Request) -> web.Response:
        self._metrics_server()
        items = [{"metadata": {"name": name}, "timestamp": timestamp(None), "window": "15s", "usage": usage}
                 for name, usage in sorted(self.node_usage.items())]
        return web.json_response({"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                                  "metadata": {}, "items": items})

    async def _pod_metrics(self, request: web.Request) -> web.Response:
        ns = request.match_info["ns"]
        self._authorize(request, "list", "Pod", None, ns, None)
        self._metrics_server()
        matches = self._matcher(request, "Pod")
        pods = {o["metadata"]["name"]: o for o in self.objects("Pod", ns)}
        items = []
        for (pod_ns, name), usage in sorted(self.pod_usage.items()):
            if pod_ns != ns or name not in pods or not matches(pods[name]):
                continue
            items.append({"metadata": {"name": name, "namespace": ns}, "timestamp": timestamp(None),
                          "window": "15s", "containers": [{"name": c, "usage": u} for c, u in usage.items()]})
        return web.json_response({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                                  "metadata": {}, "items": items})

    async def _node(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.nodes:
            raise APIError(404, f'nodes "{name}" not found', name=name, kind="Node")
        kinds = ("MemoryPressure", "DiskPressure", "PIDPressure")
        conditions = [{"type": kind, "status": "True" if kind in self.nodes[name] else "False",
                       "reason": f"Kubelet{'Has' if kind in self.nodes[name] else 'HasNo'}{kind}"} for kind in kinds]
        conditions.append({"type": "Ready", "status": "True", "reason": "KubeletReady"})
        return web.json_response({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                                  "status": {"conditions": conditions}})

    async def _namespaces(self, request: web.Request) -> web.Response:
        """The namespaces that hold an object (kubectl asks after a 404 whether the
        namespace exists)."""
        names = sorted({ns for objects in self._objects.values() for ns, _ in objects})
        wanted = request.match_info.get("ns")
        if wanted is not None and wanted not in names:
            raise APIError(404, f'namespaces "{wanted}" not found', name=wanted, kind="Namespace")
        items = [{"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": n, "uid": _uid("Namespace", n), "resourceVersion": "1",
                               "creationTimestamp": "2026-01-01T00:00:00Z"},
                  "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}} for n in names]
        if wanted is not None:
            return web.json_response(items[names.index(wanted)])
        return web.json_response({"apiVersion": "v1", "kind": "NamespaceList",
                                  "metadata": {"resourceVersion": str(self._last_version)}, "items": items})

    def _resource(self, request: web.Request) -> str:
        group, plural = request.match_info.get("group", ""), request.match_info["plural"]
        for kind, resource in RESOURCES.items():
            if (resource.group, resource.plural) == (group, plural):
                return kind
        raise web.HTTPNotFound()

    def _find(self, kind: str, ns: str, name: str) -> Obj:
        try:
            return self._objects[kind][(ns, name)]
        except KeyError:
            raise APIError(404, f'{RESOURCES[kind].qualified} "{name}" not found', name=name, kind=kind) from None

    async def _collection(self, request: web.Request) -> web.StreamResponse:
        kind, ns = self._resource(request), request.match_info["ns"]
        if request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET"])
        watching = request.query.get("watch", "").lower() in ("true", "1")
        self._authorize(request, "watch" if watching else "list", kind, None, ns, None)
        matches = self._matcher(request, kind)
        if watching:
            return await self._watch(request, kind, ns, matches)
        items = [o for (n, _), o in sorted(self._objects[kind].items()) if n == ns and matches(o)]
        version = str(self._last_version)
        if _wants_table(request):
            return web.json_response(kubetables.table(kind, items, self.clock(), request.query.get("includeObject", "Metadata"),
                                                      version))
        return web.json_response({"apiVersion": RESOURCES[kind].api_version, "kind": f"{kind}List",
                                  "metadata": {"resourceVersion": version}, "items": items})

    @staticmethod
    def _matcher(request: web.Request, kind: str) -> Callable[[Obj], bool]:
        try:
            labels = parse_selector(request.query.get("labelSelector", ""))
        except ValueError as exc:
            raise APIError(400, str(exc)) from None
        fields = field_selector(request.query.get("fieldSelector", ""), kind)
        return lambda obj: labels(obj["metadata"].get("labels") or {}) and fields(obj)

    async def _watch(self, request: web.Request, kind: str, ns: str, matches: Callable[[Obj], bool]) -> web.StreamResponse:
        watch = _Watch(kind, ns, matches)
        since = request.query.get("resourceVersion", "")
        if since not in ("", "0"):
            try:
                since_number = int(since)
            except ValueError:
                raise APIError(400, f"invalid resource version: {since!r}") from None
            oldest = self._history[0][0] if self._history else self._last_version + 1
            if since_number < oldest - 1 and since_number < self._last_version:
                expired = {"type": "ERROR", "object": _status_body(APIError(
                    410, f"too old resource version: {since_number} ({oldest - 1})"))}
                watch.queue.put_nowait(expired)
            else:
                for version, k, change, old, new in self._history:
                    if version > since_number and k == kind:
                        event = _watch_event(watch, k, change, old, new)
                        if event is not None:
                            watch.queue.put_nowait(event)
        else:
            for (n, _), obj in sorted(self._objects[kind].items()):
                if n == ns and matches(obj):
                    watch.queue.put_nowait({"type": "ADDED", "object": copy.deepcopy(obj)})
        table = _wants_table(request)
        timeout = float(request.query.get("timeoutSeconds", "1800") or 1800)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        self._watches.append(watch)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                try:
                    event = await asyncio.wait_for(watch.queue.get(), max(0.0, deadline - loop.time()))
                except TimeoutError:
                    break
                if event is None:
                    break
                if table and event["type"] != "ERROR":
                    event = {"type": event["type"], "object": kubetables.table(
                        kind, [event["object"]], self.clock(), request.query.get("includeObject", "Metadata"),
                        event["object"]["metadata"].get("resourceVersion", ""))}
                await response.write(json.dumps(event).encode() + b"\n")
                if event["type"] == "ERROR":
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._watches.remove(watch)
        return response

    async def _item(self, request: web.Request) -> web.StreamResponse:
        kind, ns, name = self._resource(request), request.match_info["ns"], request.match_info["name"]
        sub = request.match_info.get("sub")
        resource = RESOURCES[kind]
        if sub is not None and sub not in {s for s, _, _ in resource.subresources}:
            raise web.HTTPNotFound()
        verb = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(request.method)
        allowed = dict((s, v) for s, _, v in resource.subresources).get(sub, resource.verbs) if sub else resource.verbs
        if verb not in allowed:
            raise web.HTTPMethodNotAllowed(request.method, ["GET"])
        self._authorize(request, verb, kind, sub, ns, name)
        dry_run = request.query.get("dryRun")
        if dry_run not in (None, "All"):
            raise APIError(400, f"Invalid dry run value: {dry_run}")
        if sub == "log":
            return await self._pod_log(request, ns, name)
        current = self._find(kind, ns, name)
        if sub == "scale":
            return await self._scale(request, current, dry_run is not None)
        if request.method == "GET":
            if _wants_table(request):
                return web.json_response(kubetables.table(kind, [current], self.clock(),
                                                          request.query.get("includeObject", "Metadata"),
                                                          current["metadata"]["resourceVersion"]))
            return web.json_response(current)
        if request.method == "DELETE":
            if dry_run:
                return web.json_response(current)
            gone = self._remove(kind, ns, name)
            gone["metadata"]["deletionTimestamp"] = timestamp(self.clock())
            self._notify("delete", kind, gone)
            return web.json_response(gone)
        if request.method == "PUT":
            updated = await _body(request)
            if not isinstance(updated, dict) or updated.get("kind") != kind:
                raise APIError(400, f"the body of the request must be a {kind}")
            if (updated.get("metadata") or {}).get("name") != name:
                raise APIError(400, f"the name of the object ({(updated.get('metadata') or {}).get('name')}) "
                                    f"does not match the name on the URL ({name})")
        else:
            updated = await self._apply(request, current)
        return web.json_response(self._store(kind, current, updated, dry_run is not None))

    async def _apply(self, request: web.Request, current: Obj) -> Obj:
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        body = await _body(request)
        if content_type == JSON_PATCH:
            if not isinstance(body, list):
                raise APIError(400, "a JSON Patch must be a list of operations")
            return json_patch(current, body)
        if content_type == MERGE_PATCH:
            if not isinstance(body, dict):
                raise APIError(400, "a merge patch must be an object")
            return merge_patch(current, body)
        if content_type == STRATEGIC_PATCH:
            return strategic_merge(current, body)
        raise APIError(415, f"the body of the request was in an unknown format - accepted media "
                            f"types include: {JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_PATCH}")

    def _store(self, kind: str, before: Obj, after: Obj, dry_run: bool = False) -> Obj:
        """Validate and store an update of ``before``: 409 when it names another
        resourceVersion, 422 when invalid; status and identity are the server's."""
        meta = after.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise APIError(422, "metadata: Invalid value: must be an object")
        name = before["metadata"]["name"]
        wanted = meta.get("resourceVersion")
        if wanted not in (None, "") and wanted != before["metadata"]["resourceVersion"]:
            raise APIError(409, f'Operation cannot be fulfilled on {RESOURCES[kind].qualified} "{name}": the object '
                                f'has been modified; please apply your changes to the latest version and try again',
                           name=name, kind=kind)
        # Identity and server-owned metadata cannot be changed; status has its own subresource.
        for key in ("name", "namespace", "uid", "creationTimestamp", "generation", "deletionTimestamp"):
            if key in before["metadata"]:
                meta[key] = before["metadata"][key]
        after["apiVersion"], after["kind"] = before["apiVersion"], before["kind"]
        if "status" in before:
            after["status"] = copy.deepcopy(before["status"])
        canonical(after)
        validate(kind, name, RESOURCES[kind].group, after, before)
        if after.get("spec") != before.get("spec") and "generation" in before["metadata"]:
            meta["generation"] = before["metadata"]["generation"] + 1
        if dry_run:
            return after
        if _without_version(after) == _without_version(before):
            return copy.deepcopy(before)  # nothing changed: no new resourceVersion, no watch event
        self._put(kind, after)
        self._notify("patch", kind, after)
        return copy.deepcopy(after)

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

    async def _scale(self, request: web.Request, deployment: Obj, dry_run: bool) -> web.Response:
        if request.method == "GET":
            return web.json_response(self._scale_of(deployment))
        if request.method == "PUT":
            scale = await _body(request)
            if not isinstance(scale, dict):
                raise APIError(400, "the body of the request must be a Scale")
        else:
            scale = await self._apply(request, self._scale_of(deployment))
        replicas = (scale.get("spec") or {}).get("replicas")
        updated = copy.deepcopy(deployment)
        updated["spec"]["replicas"] = replicas
        updated["metadata"]["resourceVersion"] = (scale.get("metadata") or {}).get("resourceVersion")
        return web.json_response(self._scale_of(self._store("Deployment", deployment, updated, dry_run)))

    async def _pod_log(self, request: web.Request, ns: str, name: str) -> web.StreamResponse:
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
        if request.query.get("follow", "false").lower() != "true" or previous:
            return web.Response(text=text, content_type="text/plain")
        return await self._follow(request, key, text)

    async def _follow(self, request: web.Request, key: tuple[str, str, str, bool], text: str) -> web.StreamResponse:
        """The log so far, then what the container writes, until it restarts or its pod goes."""
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        stopped = asyncio.Event()
        self._streams.add(stopped)
        try:
            await response.write(text.encode())
            sent = self._logs.get(key, "")
            while not stopped.is_set():
                changed = self._log_changed
                await changed.wait()
                if stopped.is_set() or (key[0], key[1]) not in self._objects["Pod"]:
                    break
                now = self._logs.get(key, "")
                if not now.startswith(sent):
                    break  # the container restarted: this instance's log is over
                if len(now) > len(sent):
                    await response.write(now[len(sent):].encode())
                    sent = now
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._streams.discard(stopped)
        return response


def _without_version(obj: Obj) -> Obj:
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}}


def _wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


async def _body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError:
        raise APIError(400, "the request body is not JSON") from None


def _watch_event(watch: _Watch, kind: str, change: str, old: Obj | None, new: Obj | None) -> Obj | None:
    if kind != watch.kind:
        return None
    was = old is not None and old["metadata"].get("namespace") == watch.ns and watch.matches(old)
    is_ = new is not None and change != "DELETED" and new["metadata"].get("namespace") == watch.ns \
        and watch.matches(new)
    if change == "DELETED":
        return {"type": "DELETED", "object": copy.deepcopy(new)} if was else None
    if is_:
        return {"type": "MODIFIED" if was else "ADDED", "object": copy.deepcopy(new)}
    if was:  # no longer selected: gone from this watch's view
        return {"type": "DELETED", "object": copy.deepcopy(new)}
    return None


def _status_body(exc: APIError) -> Obj:
    body: Obj = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
                 "message": exc.message, "reason": _REASONS.get(exc.status, "Unknown"), "code": exc.status}
    if exc.name:
        resource = RESOURCES.get(exc.kind or "Pod")
        body["details"] = {"name": exc.name, "group": resource.group if resource else "",
                           "kind": resource.plural if resource else "namespaces"}
        if exc.causes:  # an Invalid names the kind itself and each field
            body["details"]["kind"] = exc.kind
            body["details"]["causes"] = [{"reason": "FieldValueInvalid", "message": message, "field": field}
                                         for field, message in exc.causes]
    return body


def _status(exc: APIError) -> web.Response:
    return web.json_response(_status_body(exc), status=exc.status)
