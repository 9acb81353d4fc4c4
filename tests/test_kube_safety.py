"""The client side's safety, against servers that record what reaches them: the cluster
kubectl would pick (two kubeconfig files, both orders), exec credential plugins that fail
loudly with no request sent, no bearer token over plain HTTP, an API server that accepts
and never answers, and the context's namespace."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import os
import shutil
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp import web

from tests.test_action_runner import mitigations, runner, svc  # noqa: F401 (the journal fixture)
from warroom.actions import kubernetes as actions
from warroom.actions.runner import Plan
from warroom.checks.base import State
from warroom.checks.kubernetes import KubernetesCheck
from warroom.checks.runner import Runner
from warroom.config import models
from warroom.domain.roles import Role
from warroom.errors import WarroomError
from warroom.sim.kubeapi import KubeAPI, write_kubeconfig
from warroom.sim.kubeobjects import make_deployment, make_pod, make_replicaset

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
API_VERSION = "client.authentication.k8s.io/v1"
HANG_GUARD = 10  # seconds: a test that hangs fails instead


@pytest.fixture(autouse=True)
def no_kube_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "HTTP_PROXY", "HTTPS_PROXY",
                "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


# --- a server that records every request (and can hang, or refuse) ---------------------------


def self_signed() -> tuple[bytes, bytes]:
    """A certificate for 127.0.0.1 (its own CA) and its key, PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "warroom-test-apiserver")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


@dataclass
class Recorder:
    """An API server stand-in: records each request's method, path and Authorization;
    answers ``status`` (a Status object), or never answers when ``hang``."""

    tls: bool = False
    hang: bool = False
    status: int = 404
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    ca_pem: bytes = b""

    async def __aenter__(self) -> Recorder:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        context = None
        if self.tls:
            cert, key = self_signed()
            self.ca_pem = cert
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            with_files = Path(os.environ["HOME"]).parent / f"tls-{id(self)}"
            with_files.mkdir(parents=True)
            (with_files / "cert.pem").write_bytes(cert)
            (with_files / "key.pem").write_bytes(key)
            context.load_cert_chain(with_files / "cert.pem", with_files / "key.pem")
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path, request.headers.get("Authorization")))
        if self.hang:
            await self._release.wait()
        body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": self.status,
                "message": "recorded", "reason": "NotFound"}
        return web.json_response(body, status=self.status)

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        await self._runner.cleanup()


def write_config(path: Path, server: str, *, user: dict | None = None, namespace: str | None = None,
                 ca: bytes = b"", context: str = "prod") -> Path:
    cluster = {"server": server, **({"certificate-authority-data": base64.b64encode(ca).decode()} if ca else {})}
    document = {"apiVersion": "v1", "kind": "Config", "current-context": context,
                "clusters": [{"name": context, "cluster": cluster}],
                "users": [{"name": "ops", "user": user or {}}],
                "contexts": [{"name": context, "context": {"cluster": context, "user": "ops",
                                                           **({"namespace": namespace} if namespace else {})}}]}
    path.write_text(json.dumps(document))
    return path


def plugin(tmp_path: Path, script: str) -> dict:
    """An exec credential entry running ``script`` (sh) with args ``eks get-token``."""
    path = tmp_path / "auth-plugin"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return {"exec": {"apiVersion": API_VERSION, "command": str(path), "args": ["eks", "get-token"],
                     "interactiveMode": "Never"}}


def check_for(kubeconfig: Path | None, **fields) -> KubernetesCheck:
    config = models.KubernetesCheck(**{"name": "api", "deployment": "api", "kubeconfig": kubeconfig, **fields})
    return KubernetesCheck(config, clock=lambda: NOW)


def scale_for(kubeconfig: Path | None, **fields) -> actions.Scale:
    config = models.KubernetesScale(**{"name": "scale-api", "deployment": "api", "replicas": 3,
                                       "kubeconfig": kubeconfig, **fields})
    return actions.Scale(config, clock=lambda: NOW)


async def failure_of(subject, step) -> str:
    """The one line a check or an action gives when ``step`` fails; ``subject`` closed after."""
    try:
        with pytest.raises(Exception) as caught:
            await asyncio.wait_for(step, HANG_GUARD)
        return subject.describe(caught.value)
    finally:
        await subject.close()


async def sample(check: KubernetesCheck):
    try:
        return await asyncio.wait_for(Runner([check], clock=lambda: NOW).sample(check), HANG_GUARD)
    finally:
        await check.close()


# --- exec credential plugins -----------------------------------------------------------------


async def test_a_failing_exec_plugin_stops_the_check_and_the_action_and_sends_nothing(svc, tmp_path: Path):  # noqa: F811
    async with Recorder(tls=True) as server:
        user = plugin(tmp_path, 'echo "token expired: run aws sso login" >&2\necho "more detail" >&2\nexit 1\n')
        path = write_config(tmp_path / "kubeconfig", server.url, user=user, ca=server.ca_pem, namespace="prod")
        line = (f'credential plugin "{tmp_path / "auth-plugin"} eks get-token" failed with exit code 1: '
                "token expired: run aws sso login")

        result = await sample(check_for(path))
        action = scale_for(path)
        r, _ = runner(svc, action)
        try:
            with pytest.raises(WarroomError) as failed:
                await asyncio.wait_for(r.request("scale-api"), HANG_GUARD)
        finally:
            await r.close()

        assert (result.state, result.summary) == (State.CRITICAL, line)
        assert str(failed.value) == f"scale-api: preview failed: {line}"
        [audit] = await mitigations(svc)
        assert audit.data["result"] == "failed" and audit.data["summary"] == f"preview failed: {line}"
        assert server.requests == []  # not one request, with or without credentials


async def test_an_exec_plugins_token_is_sent_and_a_missing_plugin_is_named(tmp_path: Path):
    async with Recorder(tls=True) as server:
        expiry = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        credential = {"apiVersion": API_VERSION, "kind": "ExecCredential",
                      "status": {"token": "tok-123", "expirationTimestamp": expiry}}
        # The plugin sees what client-go tells it, and no terminal.
        script = ('[ -t 0 ] && exit 9\n'
                  'case "$KUBERNETES_EXEC_INFO" in *\'"interactive": false\'*) ;; *) exit 8;; esac\n'
                  f"echo '{json.dumps(credential)}'\n")
        path = write_config(tmp_path / "kubeconfig", server.url, user=plugin(tmp_path, script), ca=server.ca_pem)
        result = await sample(check_for(path, namespace="prod"))
        assert result.summary == "deployment api not found in namespace prod"
        assert server.requests == [("GET", "/apis/apps/v1/namespaces/prod/deployments/api", "Bearer tok-123")]

        missing = {"exec": {"apiVersion": API_VERSION, "command": "no-such-auth-plugin",
                            "installHint": "install it with: apt-get install no-such-auth-plugin\nmore"}}
        path = write_config(tmp_path / "kubeconfig", server.url, user=missing, ca=server.ca_pem)
        result = await sample(check_for(path))
        assert result.summary == ('credential plugin "no-such-auth-plugin" not found: '
                                  "install it with: apt-get install no-such-auth-plugin")
        garbage = plugin(tmp_path, "echo not json\n")
        path = write_config(tmp_path / "kubeconfig", server.url, user=garbage, ca=server.ca_pem)
        result = await sample(check_for(path))
        assert result.summary == (f'credential plugin "{tmp_path / "auth-plugin"} eks get-token" gave no usable '
                                  "credential: its output is not JSON")
        assert len(server.requests) == 1


async def test_credentials_that_do_not_load_send_nothing(tmp_path: Path):
    """What the client's loader would skip (and go on anonymously) stops here."""
    async with Recorder(tls=True) as server:
        gone = tmp_path / "gone"
        path = write_config(tmp_path / "kubeconfig", server.url, user={"tokenFile": str(gone)}, ca=server.ca_pem)
        assert (await sample(check_for(path))).summary == (
            f'context "prod": cannot read {gone}: no such file or directory')
        # An auth provider the client does not know: it loads nothing and says nothing.
        path = write_config(tmp_path / "kubeconfig", server.url, ca=server.ca_pem,
                            user={"auth-provider": {"name": "someday-provider", "config": {}}})
        assert (await sample(check_for(path))).summary == (
            'user "ops" of context "prod": its bearer token could not be loaded; refusing to call '
            f"{server.url} without credentials")
        assert server.requests == []


async def test_an_expired_exec_credential_is_fetched_again(tmp_path: Path):
    """As client-go: a credential past its expirationTimestamp is not sent; the plugin runs
    again before the next request."""
    async with Recorder(tls=True) as server:
        runs = tmp_path / "runs"
        expired = (datetime.now(timezone.utc) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        credential = {"apiVersion": API_VERSION, "kind": "ExecCredential",
                      "status": {"token": "TOKEN", "expirationTimestamp": expired}}
        script = (f'echo run >> "{runs}"\nn=$(wc -l < "{runs}")\n'
                  f"echo '{json.dumps(credential)}' | sed \"s/TOKEN/tok-$n/\"\n")
        path = write_config(tmp_path / "kubeconfig", server.url, user=plugin(tmp_path, script), ca=server.ca_pem)
        check = check_for(path, namespace="prod")
        sampler = Runner([check], clock=lambda: NOW)
        try:
            await sampler.sample(check)
            await sampler.sample(check)
        finally:
            await check.close()
        assert [auth for _, _, auth in server.requests] == ["Bearer tok-1", "Bearer tok-2"]


# --- no bearer token over plain HTTP ------------------------------------------------------------


@pytest.mark.parametrize(("user", "kind"), [
    ({"token": "s3cret"}, "bearer token"),
    ({"username": "admin", "password": "s3cret"}, "password"),
    ({"exec": {"apiVersion": API_VERSION, "command": "never-run"}}, "bearer token"),
])
async def test_no_credential_over_plain_http(tmp_path: Path, user: dict, kind: str):
    async with Recorder() as server:
        path = write_config(tmp_path / "kubeconfig", server.url, user=user)
        line = (f'user "ops" of context "prod": refusing to send a {kind} over plain HTTP to {server.url}; '
                "use https")
        result = await sample(check_for(path))
        action = scale_for(path)
        assert result.summary == line and await failure_of(action, action.preview()) == line
        assert server.requests == []

    # The control: the same token over https is sent.
    async with Recorder(tls=True) as server:
        path = write_config(tmp_path / "kubeconfig", server.url, user={"token": "s3cret"}, ca=server.ca_pem)
        await sample(check_for(path))
        assert [auth for _, _, auth in server.requests] == ["Bearer s3cret"]


# --- an API server that accepts and never answers -------------------------------------------


async def test_a_hanging_api_server_times_out_the_preview_and_the_execution(svc, tmp_path: Path):  # noqa: F811
    async with Recorder(hang=True) as server:
        path = write_config(tmp_path / "kubeconfig", server.url)
        line = f"API server 127.0.0.1:{server.port} did not answer in 300ms"

        # The client's own timeout, without the runner's: every call has one.
        action = scale_for(path, timeout="300ms", namespace="prod")
        assert await failure_of(action, action.preview()) == line

        # Through the runner: the preview fails with that line, and is audited.
        action = scale_for(path, timeout="300ms", namespace="prod")
        r, events = runner(svc, action)
        try:
            with pytest.raises(WarroomError) as failed:
                await asyncio.wait_for(r.request("scale-api"), HANG_GUARD)
            assert str(failed.value) == f"scale-api: preview failed: {line}"
            # The execution of a plan previewed before the server stopped answering.
            plan = Plan(action, actions.Preview("scale 5 -> 3", "", "api", {"patch": {"spec": {"replicas": 3}},
                                                                            "from": 5}),
                        "alice", [Role.IC], svc.clock())
            done = await asyncio.wait_for(r.execute(plan, yes=True), HANG_GUARD)
        finally:
            await r.close()
        assert not done.outcome.ok and done.outcome.summary == line
        audits = await mitigations(svc)
        assert [a.data["result"] for a in audits] == ["failed", "failed"]
        assert audits[-1].data["summary"] == line and audits[-1].text.endswith(f"-> failed: {line}")
        assert {m for m, _, _ in server.requests} == {"GET", "PATCH"}

        # The check's calls too, on their own (the check runner bounds the whole sample besides).
        check = check_for(path, namespace="prod", timeout="300ms")
        assert await failure_of(check, check.probe()) == line


# --- the context's namespace ------------------------------------------------------------------


async def test_the_contexts_namespace_is_used_when_none_is_named(tmp_path: Path):
    async with KubeAPI() as kube:
        deployment = make_deployment("api", "payments", "registry.example/api:7", 2, 7)
        rs = make_replicaset(deployment, 7)
        kube.add(deployment, rs, make_pod(rs, "api-1"), make_pod(rs, "api-2"))
        path = write_kubeconfig(tmp_path / "kubeconfig", kube.base_url, context="pay", namespace="payments")

        result = await sample(check_for(path))
        scale = scale_for(path)
        try:
            preview = await scale.preview()
        finally:
            await scale.close()

        assert result.state is State.OK and result.summary.startswith("api 2/2 ready")
        assert {k: result.details[k] for k in ("cluster", "context", "namespace")} == {
            "cluster": kube.base_url, "context": "pay", "namespace": "payments"}
        assert preview.summary == f"deployment/api (payments) on context pay at {kube.base_url}: scale 2 -> 3 replicas"
        assert preview.equivalent == f"kubectl scale deployment/api -n payments --replicas=3 --kubeconfig={path}"
        # Named, it wins; no namespace anywhere is "default" (and says so).
        result = await sample(check_for(path, namespace="other"))
        assert result.summary == "deployment api not found in namespace other"
        bare = write_kubeconfig(tmp_path / "bare", kube.base_url)
        assert (await sample(check_for(bare))).summary == "deployment api not found in namespace default"


# --- KUBECONFIG with two files: the cluster kubectl picks ---------------------------------------


async def test_two_kubeconfig_files_in_both_orders_act_on_kubectls_cluster(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch):
    async with KubeAPI() as east, KubeAPI() as west:
        for kube, revision in ((east, 7), (west, 3)):
            deployment = make_deployment("api", "prod", f"registry.example/api:{revision}", 1, revision)
            rs = make_replicaset(deployment, revision)
            kube.add(deployment, rs, make_pod(rs, "api-1"))
        first = write_kubeconfig(tmp_path / "east", east.base_url, context="east", namespace="prod")
        second = write_kubeconfig(tmp_path / "west", west.base_url, context="west", namespace="prod")
        for files, kube, revision in (([first, second], east, 7), ([second, first], west, 3)):
            monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, files)))
            result = await sample(check_for(None))
            scale = scale_for(None)
            try:
                preview = await scale.preview()
            finally:
                await scale.close()
            assert f"revision {revision}" in result.summary
            assert f"at {kube.base_url}:" in preview.summary
            assert preview.equivalent == "kubectl scale deployment/api -n prod --replicas=3"


# --- kubectl 1.32 as the oracle of both refusals ------------------------------------------------


async def run_kubectl(kubectl: str, kubeconfig: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        kubectl, f"--kubeconfig={kubeconfig}", "get", "--raw", "/version", "--request-timeout=5s",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode or 0, stderr.decode()


async def test_kubectl_sends_no_token_over_plain_http_and_nothing_when_its_plugin_fails(
        require, tmp_path: Path):
    """Why warroom refuses: kubectl drops the token over http:// (and goes anonymous,
    which warroom does not), and sends nothing when the exec plugin fails."""
    kubectl = shutil.which("kubectl")
    require(kubectl is not None, "kubectl is not installed (Debian: kubernetes-client)")
    async with Recorder() as server:
        path = write_config(tmp_path / "plain", server.url, user={"token": "s3cret"})
        await run_kubectl(kubectl, path)
        assert server.requests and all(auth is None for _, _, auth in server.requests)
    async with Recorder(tls=True) as server:
        user = plugin(tmp_path, 'echo "token expired: run aws sso login" >&2\nexit 1\n')
        path = write_config(tmp_path / "exec", server.url, user=user, ca=server.ca_pem)
        code, stderr = await run_kubectl(kubectl, path)
        assert code != 0 and server.requests == []
        assert f"executable {tmp_path / 'auth-plugin'} failed with exit code 1" in stderr
        assert "token expired: run aws sso login" in stderr
