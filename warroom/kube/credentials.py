"""The credentials a kubeconfig user entry asks for, obtained before any request or the
reason none is sent: an exec credential plugin run here (one line when it fails, as
kubectl's), and no credential ever over plain HTTP.

The Python client runs an exec plugin itself, but when the plugin fails it logs one line
and sends the requests without credentials. warroom runs the plugin here instead and
hands the client the token (or client certificate) it printed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shlex
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from warroom.kube.kubeconfig import KubeUnavailable, Target

INSTALL_HINT_LINES = 1


def credential_kind(user: dict[str, Any]) -> str | None:
    """What the user entry would send: "bearer token", "password", "client certificate";
    None for an entry with no credentials."""
    if any(user.get(k) for k in ("token", "tokenFile", "exec", "auth-provider")):
        return "bearer token"
    if user.get("username") or user.get("password"):
        return "password"
    if any(user.get(k) for k in ("client-certificate", "client-certificate-data", "client-key", "client-key-data")):
        return "client certificate"
    return None


def refuse_plain_http(target: Target) -> None:
    """kubectl sends no credentials to an http:// server (it goes anonymous, silently);
    warroom refuses to call it at all, before any request or plugin run."""
    kind = credential_kind(target.user)
    if kind and urlsplit(target.server).scheme.lower() == "http":
        raise KubeUnavailable(f'user "{target.user_name}" of context "{target.context}": refusing to send a {kind} '
                              f"over plain HTTP to {target.server}; use https")


@dataclass(frozen=True, slots=True)
class Obtained:
    """The user entry to hand the client, and when its credential expires (None: never)."""

    user: dict[str, Any]
    expires: datetime | None = None


async def obtain(target: Target, timeout: float) -> Obtained:
    """The user entry with an exec plugin's credential in place of the plugin."""
    exec_config = target.user.get("exec")
    if not exec_config:
        return Obtained(target.user)
    status = await run_plugin(exec_config, target, timeout)
    user = {k: v for k, v in target.user.items() if k != "exec"}
    expires = _expiry(status.get("expirationTimestamp"))
    if status.get("token"):
        return Obtained({**user, "token": status["token"]}, expires)
    return Obtained({**user, "client-certificate-data": _b64(status["clientCertificateData"]),
                     "client-key-data": _b64(status["clientKeyData"])}, expires)


def plugin_line(exec_config: dict[str, Any]) -> str:
    """The plugin as a command line: ``aws eks get-token --cluster-name prod``."""
    return shlex.join([str(exec_config.get("command", "")), *map(str, exec_config.get("args") or ())])


async def run_plugin(exec_config: dict[str, Any], target: Target, timeout: float) -> dict[str, Any]:
    """Run the plugin as client-go does (no terminal here: never interactive) and return
    its ExecCredential status; KubeUnavailable with one line otherwise."""
    if not isinstance(exec_config, dict) or not exec_config.get("command"):
        raise KubeUnavailable(f'user "{target.user_name}": exec credential plugin has no command')
    line = plugin_line(exec_config)
    if exec_config.get("interactiveMode") == "Always":
        raise KubeUnavailable(f'credential plugin "{line}" needs a terminal (interactiveMode: Always)')
    try:
        process = await asyncio.create_subprocess_exec(
            str(exec_config["command"]), *map(str, exec_config.get("args") or ()),
            env=_plugin_env(exec_config, target), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except FileNotFoundError:
        hint = str(exec_config.get("installHint") or "").strip().splitlines()[:INSTALL_HINT_LINES]
        raise KubeUnavailable(f'credential plugin "{line}" not found' + (f": {hint[0]}" if hint else "")) from None
    except OSError as exc:
        raise KubeUnavailable(f'credential plugin "{line}" cannot run: {exc.strerror or exc}') from None
    try:
        async with asyncio.timeout(timeout):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise KubeUnavailable(f'credential plugin "{line}" did not finish in {timeout:g}s') from None
    if process.returncode != 0:
        first = next((t.strip() for t in stderr.decode(errors="replace").splitlines() if t.strip()), "no error output")
        raise KubeUnavailable(f'credential plugin "{line}" failed with exit code {process.returncode}: {first}')
    return _status(stdout, exec_config, line)


def _plugin_env(exec_config: dict[str, Any], target: Target) -> dict[str, str]:
    spec: dict[str, Any] = {"interactive": False}
    if exec_config.get("provideClusterInfo"):
        cluster = target.cluster
        spec["cluster"] = {k: v for k, v in {
            "server": target.server, "tls-server-name": cluster.get("tls-server-name"),
            "insecure-skip-tls-verify": cluster.get("insecure-skip-tls-verify"),
            "certificate-authority-data": cluster.get("certificate-authority-data"),
            "proxy-url": cluster.get("proxy-url"),
        }.items() if v is not None}
    info = {"apiVersion": exec_config.get("apiVersion", ""), "kind": "ExecCredential", "spec": spec}
    extra = {str(e.get("name")): str(e.get("value", "")) for e in exec_config.get("env") or () if isinstance(e, dict)}
    return {**os.environ, **extra, "KUBERNETES_EXEC_INFO": json.dumps(info)}


def _status(stdout: bytes, exec_config: dict[str, Any], line: str) -> dict[str, Any]:
    def bad(why: str) -> KubeUnavailable:
        return KubeUnavailable(f'credential plugin "{line}" gave no usable credential: {why}')

    try:
        credential = json.loads(stdout)
    except ValueError:
        raise bad("its output is not JSON") from None
    if not isinstance(credential, dict) or credential.get("kind") != "ExecCredential":
        raise bad("its output is not an ExecCredential")
    if credential.get("apiVersion") != exec_config.get("apiVersion"):
        raise bad(f"apiVersion {credential.get('apiVersion')!r}, expected {exec_config.get('apiVersion')!r}")
    status = credential.get("status")
    if not isinstance(status, dict):
        raise bad("no status")
    if status.get("token"):
        return status
    if status.get("clientCertificateData") and status.get("clientKeyData"):
        return status
    raise bad("neither a token nor a client certificate and key")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _expiry(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def has_credentials(configuration: Any) -> bool:
    """Whether the client's Configuration will send something: a token (bearer or basic)
    or a client certificate."""
    return bool((configuration.api_key or {}).get("BearerToken") or configuration.cert_file
                or getattr(configuration, "username", None))
