"""The Kubernetes API as the check and the actions use it: the connection (the kubeconfig
found the way kubectl finds it, or in-cluster credentials; the ``kubernetes.aio`` client
imported lazily; API errors told as one line), and kubectl's rules on Deployments and
ReplicaSets as the server's JSON (rollback.go's template comparison and patch).

The client takes ~0.9 s to import, so nothing here imports it until a connection is made,
and then in a thread so the console keeps drawing meanwhile.
"""

from __future__ import annotations

import asyncio
import copy
import errno
import hashlib
import ipaddress
import json
import os
import re
import sys
from importlib import import_module
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from warroom.errors import WarroomError, describe_error

IN_CLUSTER_HOST = "KUBERNETES_SERVICE_HOST"


class KubeUnavailable(WarroomError):
    """No usable kubeconfig, context or in-cluster credentials; ``summary`` is the line."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


async def import_client() -> Any:
    """The ``kubernetes.aio`` package, imported off the event loop the first time."""
    module = sys.modules.get("kubernetes.aio")
    if module is None:
        module = await asyncio.to_thread(import_module, "kubernetes.aio")
    return module


def kubeconfig_source(kubeconfig: Path | None) -> str | None:
    """Like kubectl: the configured file, else $KUBECONFIG, else ~/.kube/config; None
    means in-cluster."""
    if kubeconfig is not None:
        if not kubeconfig.exists():
            raise KubeUnavailable(f"kubeconfig {kubeconfig} not found")
        return str(kubeconfig)
    env = os.environ.get("KUBECONFIG")
    if env:
        # As client-go: the listed files that exist, never ~/.kube/config as well.
        if any(Path(p).expanduser().exists() for p in env.split(os.pathsep) if p):
            return env
        where = f"$KUBECONFIG ({env})"
    else:
        default = Path.home() / ".kube" / "config"
        if default.exists():
            return str(default)
        where = str(default)
    if os.environ.get(IN_CLUSTER_HOST):
        return None
    raise KubeUnavailable(f"no kubeconfig: {where} not found and not running in a cluster")


class KubeClient:
    """One ApiClient for one kubeconfig file and context, made on first use. ``close``
    drops it, so the next use reloads the kubeconfig (and re-runs an exec credential
    plugin, as kubectl would on its next invocation)."""

    def __init__(self, kubeconfig: Path | None = None, context: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.k8s: Any = None  # the kubernetes.aio.client module, once imported
        self.api_client: Any = None
        self.host: str | None = None

    async def connect(self) -> Any:
        """The ApiClient; KubeUnavailable when there is no usable configuration."""
        if self.api_client is None:
            package = await import_client()
            client, config = package.client, package.config
            self.k8s = client
            source = kubeconfig_source(self.kubeconfig)
            configuration = client.Configuration()
            try:
                if source is None:
                    config.load_incluster_config(client_configuration=configuration)
                else:
                    await config.load_kube_config(config_file=source, context=self.context,
                                                  client_configuration=configuration,
                                                  persist_config=False)
            except config.ConfigException as exc:
                raise KubeUnavailable(self._config_problem(str(exc), source)) from None
            self.host = configuration.host
            if configuration.proxy is None and is_loopback(configuration.host):
                # As client-go: a proxy from the environment (the client's aiohttp session
                # trusts HTTPS_PROXY) never carries loopback traffic; a proxy-url in the
                # kubeconfig still would. Per session: os.environ is not ours to change.
                configuration.client_session_kwargs = {**(configuration.client_session_kwargs or {}),
                                                       "trust_env": False}
            self.api_client = client.ApiClient(configuration)
        return self.api_client

    async def apis(self) -> tuple[Any, Any]:
        """``(AppsV1Api, CoreV1Api)`` on the shared ApiClient."""
        api_client = await self.connect()
        return self.k8s.AppsV1Api(api_client), self.k8s.CoreV1Api(api_client)

    def _config_problem(self, message: str, source: str | None) -> str:
        if self.context and f"name {self.context}" in message:
            return f'kubeconfig context "{self.context}" not found in {source}'
        return f"kubeconfig {source or '(in-cluster)'}: {message}"

    async def close(self) -> None:
        if self.api_client is not None:
            api_client, self.api_client = self.api_client, None
            await api_client.close()

    def is_api_error(self, exc: BaseException, status: int | None = None) -> bool:
        """Whether ``exc`` is an error answer from the API server (with that status)."""
        return (self.k8s is not None and isinstance(exc, self.k8s.ApiException)
                and (status is None or exc.status == status))

    def target(self) -> str:
        """host:port of the API server once known, else what the configuration names."""
        if self.host:
            return urlsplit(self.host).netloc.rpartition("@")[2] or self.host
        return f"kubeconfig context {self.context}" if self.context else "the Kubernetes API"

    def describe(self, exc: BaseException) -> str:
        """An error as one line: forbidden, an API error with the server's message,
        connection refused host:port, ... (not masked: the caller masks secrets)."""
        target = self.target()
        if isinstance(exc, KubeUnavailable):
            return exc.summary
        if self.is_api_error(exc):
            if exc.status in (401, 403):
                return f"forbidden: {status_message(exc)} ({exc.status} from {target})"
            return f"API error {exc.status} from {target}: {status_message(exc)}"
        os_error = getattr(exc, "os_error", None)  # aiohttp's ClientConnectorError and kin
        if isinstance(os_error, OSError):
            if os_error.errno == errno.ECONNREFUSED or isinstance(os_error, ConnectionRefusedError):
                return f"connection refused {target}"
            return describe_error(os_error, target)
        if type(exc).__name__ == "ServerDisconnectedError":
            return f"connection closed by {target}"
        return describe_error(exc, target)


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine: localhost, 127.0.0.0/8 or ::1, as Go's
    httpproxy.useProxy decides it (client-go never proxies them)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback  # ::ffff:127.0.0.1 too, as Go


def status_message(exc: Any) -> str:
    """The message of the Status object the API server sends with an error."""
    try:
        body = json.loads(exc.body or "")
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return exc.reason or f"HTTP {exc.status}"


# --- kubectl's rules on the server's JSON (Deployments, ReplicaSets) ---------------------

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
    # apiequality.Semantic.DeepEqual: nil and empty maps/slices are equal.
    if isinstance(value, dict):
        items = {k: _normal(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def same_template(a: Obj, b: Obj) -> bool:
    """rollback.go's equalIgnoreHash."""
    return _normal(without_hash(a)) == _normal(without_hash(b))


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
    a, b = _flat(_normal(without_hash(old))), _flat(_normal(without_hash(new)))
    lines = [f"{k}: {_shown(a.get(k))} -> {_shown(b.get(k))}" for k in sorted(a.keys() | b.keys())
             if a.get(k) != b.get(k)]
    return lines if len(lines) <= DIFF_LINES else [*lines[:DIFF_LINES], f"... {len(lines) - DIFF_LINES} more"]
