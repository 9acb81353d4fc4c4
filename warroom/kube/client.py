"""The connection the check and the actions share: the context kubectl would use
(kubeconfig.py), credentials obtained before any request (credentials.py), the
``kubernetes.aio`` client imported lazily, a timeout on every API call, and API errors
told in words (unauthorized, forbidden with the verb and the resource, did not answer).

The client takes ~0.9 s to import, so nothing here imports it until a connection is made,
and then in a thread so the console keeps drawing meanwhile.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from warroom.domain.durations import format_duration
from warroom.errors import describe_error
from warroom.kube.credentials import credential_kind, has_credentials, obtain, refuse_plain_http
from warroom.kube.kubeconfig import KubeUnavailable, Target, is_kubectl_default, locate

DEFAULT_TIMEOUT = 10.0
"""Seconds an API call may take when the caller names no timeout (the actions' default)."""
DEFAULT_NAMESPACE = "default"


async def import_client() -> Any:
    """The ``kubernetes.aio`` package, imported off the event loop the first time."""
    module = sys.modules.get("kubernetes.aio")
    if module is None:
        module = await asyncio.to_thread(import_module, "kubernetes.aio")
    return module


class KubeClient:
    """One ApiClient for one kubeconfig and context, made on first use. ``close`` drops
    it, so the next use re-reads the kubeconfig and re-runs an exec credential plugin, as
    kubectl would on its next invocation; so does a credential past its expiry."""

    def __init__(self, kubeconfig: Path | None = None, context: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.timeout = timeout
        self.k8s: Any = None  # the kubernetes.aio.client module, once imported
        self.api_client: Any = None
        self.host: str | None = None
        self.target: Target | None = None
        self._expires: datetime | None = None

    # -- which cluster, context and namespace --

    async def locate(self) -> Target:
        """The context, cluster and user kubectl would use (read once per connection)."""
        if self.target is None:
            self.target = await asyncio.to_thread(locate, self.kubeconfig, self.context)
        return self.target

    async def namespace(self, configured: str | None) -> str:
        """kubectl's rule: the namespace named, else the context's, else "default"."""
        if configured:
            return configured
        return (await self.locate()).namespace or DEFAULT_NAMESPACE

    def kubectl_flags(self) -> list[str]:
        """``--context``/``--kubeconfig`` for an equivalent kubectl command, where kubectl
        without them would not pick the same (a context named in the config is pinned)."""
        flags = []
        if self.context:
            flags.append(f"--context={self.context}")
        if not is_kubectl_default(self.kubeconfig):
            flags.append(f"--kubeconfig={self.kubeconfig}")
        return flags

    def on(self) -> str:
        """``context prod at https://api.prod.example:6443``: what a preview names."""
        target = self.target
        return f"context {target.context} at {target.server}" if target else "the Kubernetes API"

    def located(self, namespace: str) -> dict[str, str | None]:
        """Where a request went, for a check's details: cluster URL, context, namespace."""
        target = self.target
        return {"cluster": target.server if target else None, "context": target.context if target else None,
                "namespace": namespace}

    # -- the connection --

    async def connect(self) -> Any:
        """The ApiClient; KubeUnavailable (one line) when there is no usable configuration
        or no credential the user entry asks for: no request goes out without it."""
        if self.api_client is not None and self._expired():
            await self.close()
        if self.api_client is None:
            package = await import_client()
            self.k8s = package.client
            # Read again for each connection: kubectl reads it on each invocation.
            target = self.target = await asyncio.to_thread(locate, self.kubeconfig, self.context)
            configuration = package.client.Configuration()
            if target.in_cluster:
                try:
                    package.config.load_incluster_config(client_configuration=configuration)
                except package.config.ConfigException as exc:
                    raise KubeUnavailable(f"in-cluster configuration: {exc}") from None
            else:
                await self._load(package.config, target, configuration)
            self.host = configuration.host
            if configuration.proxy is None and is_loopback(configuration.host):
                # As client-go: a proxy from the environment (the client's aiohttp session
                # trusts HTTPS_PROXY) never carries loopback traffic; a proxy-url in the
                # kubeconfig still would. Per session: os.environ is not ours to change.
                configuration.client_session_kwargs = {**(configuration.client_session_kwargs or {}),
                                                       "trust_env": False}
            self.api_client = _timed_class(package.client)(configuration)
            self.api_client.request_timeout = self.timeout
        return self.api_client

    async def _load(self, config: Any, target: Target, configuration: Any) -> None:
        refuse_plain_http(target)
        obtained = await obtain(target, self.timeout)
        try:
            await config.load_kube_config_from_dict(single_context(target, obtained.user),
                                                    client_configuration=configuration)
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except OSError as exc:  # a token, certificate or CA file named but not readable
            raise KubeUnavailable(f'context "{target.context}": cannot read {exc.filename}: '
                                  f"{(exc.strerror or str(exc)).lower()}") from None
        except Exception as exc:  # the client's loader (auth providers, TLS data) as one line
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise KubeUnavailable(f'context "{target.context}": {text}') from None
        kind = credential_kind(target.user)
        if kind and not has_credentials(configuration):
            raise KubeUnavailable(f'user "{target.user_name}" of context "{target.context}": its {kind} could '
                                  f"not be loaded; refusing to call {target.server} without credentials")
        self._expires = obtained.expires

    def _expired(self) -> bool:
        return self._expires is not None and datetime.now(timezone.utc) >= self._expires

    async def apis(self) -> tuple[Any, Any]:
        """``(AppsV1Api, CoreV1Api)`` on the shared ApiClient."""
        api_client = await self.connect()
        return self.k8s.AppsV1Api(api_client), self.k8s.CoreV1Api(api_client)

    async def close(self) -> None:
        if self.api_client is not None:
            api_client, self.api_client = self.api_client, None
            await api_client.close()

    # -- errors in words --

    def is_api_error(self, exc: BaseException, status: int | None = None) -> bool:
        """Whether ``exc`` is an error answer from the API server (with that status)."""
        return (self.k8s is not None and isinstance(exc, self.k8s.ApiException)
                and (status is None or exc.status == status))

    def address(self) -> str:
        """host:port of the API server once known, else what the configuration names."""
        server = self.host or (self.target.server if self.target else None)
        if server:
            return urlsplit(server).netloc.rpartition("@")[2] or server
        return f"kubeconfig context {self.context}" if self.context else "the Kubernetes API"

    def api_server(self) -> str:
        """``API server 127.0.0.1:6443``: who did not answer."""
        known = self.host or self.target
        return f"API server {self.address()}" if known else "API server"

    def did_not_answer(self) -> str:
        return f"{self.api_server()} did not answer in {format_duration(timedelta(seconds=self.timeout))}"

    def describe(self, exc: BaseException) -> str:
        """An error as one line (not masked: the caller masks secrets)."""
        target = self.address()
        if isinstance(exc, KubeUnavailable):
            return exc.summary
        if self.is_api_error(exc, 401):
            user = self.target.user_name if self.target else None
            who = f' of user "{user}"' if user else ""
            return f"unauthorized: credentials{who} rejected by {target} (401)"
        if self.is_api_error(exc, 403):
            return f"forbidden: {forbidden_what(exc)} (403 from {target})"
        if self.is_api_error(exc):
            return f"API error {exc.status} from {target}: {status_message(exc)}"
        if isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError is one too
            return self.did_not_answer()
        os_error = getattr(exc, "os_error", None)  # aiohttp's ClientConnectorError and kin
        if isinstance(os_error, OSError):
            if os_error.errno == errno.ECONNREFUSED or isinstance(os_error, ConnectionRefusedError):
                return f"connection refused {target}"
            return describe_error(os_error, target)
        if type(exc).__name__ == "ServerDisconnectedError":
            return f"connection closed by {target}"
        return describe_error(exc, target)


def single_context(target: Target, user: dict[str, Any]) -> dict[str, Any]:
    """A kubeconfig holding only the resolved context, for the client's loader: it never
    merges, so it cannot pick another context than kubectl's."""
    context: dict[str, Any] = {"cluster": target.cluster_name}
    users = []
    if target.user_name is not None:
        context["user"] = target.user_name
        users.append({"name": target.user_name, "user": user})
    return {"apiVersion": "v1", "kind": "Config", "current-context": target.context,
            "clusters": [{"name": target.cluster_name, "cluster": {**target.cluster, "server": target.server}}],
            "contexts": [{"name": target.context, "context": context}], "users": users}


_TIMED: dict[int, type] = {}


def _timed_class(client: Any) -> type:
    """``client.ApiClient`` with a default timeout on every call (the generated API
    methods pass none, and the client's own default is five minutes) and each error
    answer tagged with the request it answers (for "forbidden: patch deployments ...")."""
    cls = _TIMED.get(id(client))
    if cls is None:
        import aiohttp

        class TimedApiClient(client.ApiClient):
            request_timeout: float = DEFAULT_TIMEOUT

            async def call_api(self, method: str, url: str, *args: Any, _request_timeout: Any = None,
                               **kwargs: Any) -> Any:
                timeout = _request_timeout or aiohttp.ClientTimeout(total=self.request_timeout)
                return await super().call_api(method, url, *args, _request_timeout=timeout, **kwargs)

            def response_deserialize(self, response_data: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return super().response_deserialize(response_data, *args, **kwargs)
                except client.ApiException as exc:
                    response = getattr(response_data, "response", None)
                    if response is not None:
                        exc.request = (response.method, str(response.url))
                    raise

        cls = _TIMED[id(client)] = TimedApiClient
    return cls


# --- errors in words --------------------------------------------------------------------------

_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_USER = re.compile(r'User "([^"]+)"')


def request_words(method: str, url: str) -> str:
    """An API request as RBAC names it: ``get deployments.apps "api" in namespace prod``,
    ``list pods in namespace prod``, ``patch deployments.apps/scale "api" ...``."""
    parts = urlsplit(url)
    path = [p for p in parts.path.split("/") if p]
    group = ""
    if path[:1] == ["apis"] and len(path) >= 3:
        group, path = path[1], path[3:]
    elif path[:1] == ["api"] and len(path) >= 2:
        path = path[2:]
    namespace = None
    if path[:1] == ["namespaces"] and len(path) >= 3:
        namespace, path = path[1], path[2:]
    if not path:
        return f"{method.lower()} {parts.path}"
    resource = path[0] + (f".{group}" if group else "")
    name = path[1] if len(path) > 1 else None
    if len(path) > 2:
        resource += f"/{path[2]}"
    if method == "GET":
        verb = "get" if name else ("watch" if parse_qs(parts.query).get("watch") == ["true"] else "list")
    else:
        verb = _VERBS.get(method, method.lower())
    words = f"{verb} {resource}" + (f' "{name}"' if name else "")
    return words + (f" in namespace {namespace}" if namespace else "")


def forbidden_what(exc: Any) -> str:
    """What RBAC refused, and to whom when the server said: ``get deployments.apps "api"
    in namespace prod as system:serviceaccount:ops:warroom``."""
    request = getattr(exc, "request", None)
    message = status_message(exc)
    if request is None:
        return message
    user = _USER.search(message)
    return request_words(*request) + (f" as {user.group(1)}" if user else "")


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
