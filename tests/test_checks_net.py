"""The network check kinds (http, tcp, tls, prometheus) through the Runner, against servers
on 127.0.0.1 with scripted status, bodies, latency, certificates, refusals and hangs.

No name is ever resolved over the network: ``.invalid`` fails at once (as RFC 6761 asks of
resolvers) and any other name but localhost fails the test."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from aiohttp import web

from tests.conftest import free_port, probe_endings
from warroom.checks import http as http_module
from warroom.checks import tcp as tcp_module
from warroom.checks.base import Check, Result, State
from warroom.checks.http import HttpCheck, lookup, parse_json_path
from warroom.checks.prometheus import PrometheusCheck
from warroom.checks.registry import build_check
from warroom.checks.runner import Runner
from warroom.checks.tcp import TcpCheck
from warroom.checks.tls import TlsCheck, not_after
from warroom.config import models
from warroom.secrets import Secrets

TRANSPORTS = ["aiohttp", "httpx"]
HEALTH = {
    "status": "ok",
    "checks": {"db": {"status": "ok", "latency_ms": 3}, "cache": {"status": "degraded"}},
    "items": [{"ok": True}, {"ok": False}],
}
TOKEN = "Bearer s3cr3t-t0ken"
LATENCY = re.compile(r"^200 OK in (<1|\d+) ms$")

# --- no network beyond 127.0.0.1 -------------------------------------------------------------

_getaddrinfo = socket.getaddrinfo


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@pytest.fixture(autouse=True)
def offline_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name == "localhost" or _is_ip(name):
            return _getaddrinfo(host, *args, **kwargs)
        if name.rstrip(".").endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        raise AssertionError(f"a test tried to resolve {name!r}")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def fresh_trust_store():
    """The shared TLS context reads SSL_CERT_FILE once; tests that trust a test CA change it."""
    tcp_module.tls_context.cache_clear()
    yield
    tcp_module.tls_context.cache_clear()


@pytest.fixture
def trust(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    def trust(cert: Path) -> None:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        tcp_module.tls_context.cache_clear()

    return trust


async def sample(*checks: Check) -> list[Result]:
    runner = Runner(checks)
    try:
        return await runner.run_once()
    finally:
        await runner.close()


# --- servers ------------------------------------------------------------------------------------


@asynccontextmanager
async def serve_app(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def fixed(status: int, text: str, content_type: str = "text/plain"):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text=text, content_type=content_type)

    return handler


class HealthServer:
    """Scripted endpoints; ``peers`` records the client address of each /health request."""

    def __init__(self) -> None:
        self.peers: list[tuple[str, int]] = []
        self.app = web.Application()
        self.app.router.add_get("/health", self.health)
        self.app.router.add_get("/down", fixed(503, "upstream unavailable"))
        self.app.router.add_get("/text", fixed(200, "status: degraded"))
        self.app.router.add_get("/html", fixed(200, "<html>fine</html>", "text/html"))
        self.app.router.add_get("/slow", self.slow)
        self.app.router.add_get("/auth", self.auth)
        self.base = ""

    async def health(self, request: web.Request) -> web.Response:
        self.peers.append(request.transport.get_extra_info("peername"))
        return web.json_response(HEALTH)

    async def slow(self, request: web.Request) -> web.Response:
        # Scripted latency: the answer is late by exactly this much, never early.
        await asyncio.sleep(int(request.query["ms"]) / 1000)
        return web.json_response(HEALTH)

    async def auth(self, request: web.Request) -> web.Response:
        basic = request.headers.get("Authorization", "")
        return web.Response(status=200 if basic == request.query.get("expect", TOKEN) else 401)


@pytest.fixture
async def server() -> AsyncIterator[HealthServer]:
    health = HealthServer()
    async with serve_app(health.app) as port:
        health.base = f"http://127.0.0.1:{port}"
        yield health


@asynccontextmanager
async def raw_server(handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
                     ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    srv = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        srv.close()


class Hang:
    """Accepts, reads whatever comes and never answers; ``gone`` is set when the client
    closes its end (a cancelled probe must not leave its socket open)."""

    def __init__(self) -> None:
        self.gone = asyncio.Event()
        self.connected = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connected += 1
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass
        self.gone.set()
        writer.close()


async def until(event: asyncio.Event) -> None:
    async with asyncio.timeout(5):
        await event.wait()


def http_check(transport: str, url: str, secrets: tuple[str, ...] = (), **fields) -> HttpCheck:
    fields.setdefault("timeout", "5s")
    return HttpCheck(models.HttpCheck(name="api", url=url, **fields), secrets, transport=transport)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


# --- http -----------------------------------------------------------------------------------------


async def test_http_ok_reads_status_body_and_json(server: HealthServer, transport: str):
    check = http_check(transport, f"{server.base}/health", body_contains='"status"',
                       json_path="checks.db.status", json_equals="ok")
    [result] = await sample(check)
    assert result.state is State.OK, result.summary
    assert LATENCY.match(result.summary)
    assert result.latency_ms is not None and result.details == {"status": 200}
    assert (result.name, result.kind) == ("api", "http")


async def test_http_ignores_a_proxy_from_the_environment(server: HealthServer, transport: str,
                                                       monkeypatch: pytest.MonkeyPatch):
    dead = f"http://127.0.0.1:{free_port()}"
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(var, dead)
    [result] = await sample(http_check(transport, f"{server.base}/health"))
    assert result.state is State.OK, result.summary


@pytest.mark.parametrize(("path", "equals", "state", "summary"), [
    ("status", None, State.OK, None),
    ("items[1].ok", False, State.OK, None),
    ("items.0.ok", True, State.OK, None),
    ("checks.db.latency_ms", 3, State.OK, None),
    ("checks.cache.status", "ok", State.CRITICAL, 'checks.cache.status is "degraded", expected "ok"'),
    ("items[0].ok", 1, State.CRITICAL, "items[0].ok is true, expected 1"),
    ("checks.db.latency_ms", "3", State.CRITICAL, 'checks.db.latency_ms is 3, expected "3"'),
    ("checks.queue", None, State.CRITICAL, "no checks.queue in the JSON body"),
    ("items[5].ok", None, State.CRITICAL, "no items[5].ok in the JSON body"),
    ("checks..db", None, State.CRITICAL, 'bad json_path "checks..db"'),
])
async def test_http_json_path(server: HealthServer, transport: str, path, equals, state, summary):
    fields = {"json_path": path} if equals is None else {"json_path": path, "json_equals": equals}
    [result] = await sample(http_check(transport, f"{server.base}/health", **fields))
    assert result.state is state, result.summary
    if summary is None:
        assert LATENCY.match(result.summary)
    else:
        assert result.summary.startswith(summary)


async def test_http_error_status_is_critical(server: HealthServer, transport: str):
    url = f"{server.base}/down"
    [down, expected] = await sample(http_check(transport, url), http_check(transport, url, expect_status=[200, 503]))
    assert down.state is State.CRITICAL
    assert down.summary == f"HTTP 503 from {url}"
    assert down.details == {"status": 503}
    assert expected.state is State.OK and expected.summary.startswith("503 Service Unavailable in ")


async def test_http_body_mismatch(server: HealthServer, transport: str):
    [lacks, not_json] = await sample(
        http_check(transport, f"{server.base}/text", body_contains="ok"),
        http_check(transport, f"{server.base}/html", json_path="status"),
    )
    assert (lacks.state, lacks.summary) == (State.CRITICAL, 'body lacks "ok"')
    assert (not_json.state, not_json.summary) == (State.CRITICAL, "body is not JSON, no status in it")


@pytest.mark.parametrize(("delay_ms", "warn", "critical", "state", "suffix"), [
    (0, "2s", "5s", State.OK, None),
    (150, "100ms", "5s", State.WARN, "(warn > 100ms)"),
    (150, "50ms", "100ms", State.CRITICAL, "(critical > 100ms)"),
])
async def test_http_latency_thresholds(server: HealthServer, transport: str, delay_ms, warn, critical, state, suffix):
    check = http_check(transport, f"{server.base}/slow?ms={delay_ms}", timeout="10s",
                       warn_latency=warn, critical_latency=critical)
    [result] = await sample(check)
    assert result.state is state, result.summary
    if suffix is None:
        assert LATENCY.match(result.summary)
    else:
        measured = int(re.match(r"^200 OK in (\d+) ms ", result.summary)[1])
        assert measured >= delay_ms and result.summary.endswith(suffix)


async def test_http_connection_refused(transport: str):
    port = free_port()
    [result] = await sample(http_check(transport, f"http://127.0.0.1:{port}/health"))
    assert (result.state, result.summary) == (State.CRITICAL, f"connection refused 127.0.0.1:{port}")


async def test_http_dns_failure_is_fast(transport: str):
    [result] = await sample(http_check(transport, "http://warroom-test.invalid/health"))
    assert (result.state, result.summary) == (State.CRITICAL, "DNS lookup failed for warroom-test.invalid")
    assert result.latency_ms < 1000


async def test_http_sends_headers_and_url_credentials(server: HealthServer, transport: str):
    port = server.base.rsplit(":", 1)[1]
    [header, basic] = await sample(
        http_check(transport, f"{server.base}/auth", headers={"Authorization": TOKEN}),
        # ops:hunter22, sent as Basic auth
        http_check(transport, f"http://ops:hunter22@127.0.0.1:{port}/auth?expect=Basic%20b3BzOmh1bnRlcjIy"),
    )
    assert header.state is State.OK, header.summary
    assert basic.state is State.OK, basic.summary


async def test_http_secrets_are_masked(server: HealthServer, transport: str):
    port = server.base.rsplit(":", 1)[1]
    # A password in the URL and a token substituted from ${ENV} into the query string.
    url = f"http://ops:hunter22@127.0.0.1:{port}/down?token=tok-from-env"
    # A header value the HTTP library refuses: h11 quotes it in its error message.
    injected = {"Authorization": f"{TOKEN}\r\nX-Injected: 1"}
    [down, bad_header] = await sample(
        http_check(transport, url, secrets=("tok-from-env",)),
        http_check(transport, f"{server.base}/health", headers=injected),
    )
    assert down.summary == f"HTTP 503 from http://ops:****@127.0.0.1:{port}/down?token=****"
    assert bad_header.state is State.CRITICAL
    for text in ("hunter22", "tok-from-env", "s3cr3t"):
        assert text not in down.summary and text not in bad_header.summary
        assert text not in check_target(url, transport)


async def test_http_expands_secrets_only_to_send_them(server: HealthServer, transport: str):
    # The model holds the template; the request carries the values; nothing shown does.
    port = server.base.rsplit(":", 1)[1]
    secrets = Secrets({"WR_TOKEN": "s3cr3t-t0ken", "WR_PW": "hunter22"})
    header = HttpCheck(models.HttpCheck(name="h", url=f"{server.base}/auth", headers={"Authorization": "Bearer ${WR_TOKEN}"}),
                       secrets, transport=transport)
    basic = HttpCheck(models.HttpCheck(name="b", url=f"http://ops:${{WR_PW}}@127.0.0.1:{port}/auth?expect=Basic%20b3BzOmh1bnRlcjIy"),
                      secrets, transport=transport)
    down = HttpCheck(models.HttpCheck(name="d", url=f"http://ops:${{WR_PW}}@127.0.0.1:{port}/down?t=${{WR_TOKEN}}"),
                     secrets, transport=transport)
    results = await sample(header, basic, down)
    assert [r.state for r in results] == [State.OK, State.OK, State.CRITICAL], [r.summary for r in results]
    assert results[2].summary == f"HTTP 503 from http://ops:****@127.0.0.1:{port}/down?t=****"
    assert header.config.headers == {"Authorization": "Bearer ${WR_TOKEN}"}


def check_target(url: str, transport: str) -> str:
    return http_check(transport, url, secrets=("tok-from-env",)).target()


async def test_http_reuses_its_connection_and_closes_it(server: HealthServer, transport: str):
    check = http_check(transport, f"{server.base}/health")
    runner = Runner([check])
    first, second = (await runner.run_once())[0], (await runner.run_once())[0]
    await runner.close()
    assert first.state is second.state is State.OK
    assert len(server.peers) == 2 and server.peers[0] == server.peers[1]
    assert check._client is None


async def test_hung_server_costs_only_its_own_timeout(server: HealthServer, transport: str):
    hang = Hang()
    async with raw_server(hang) as hung_port:
        port = int(server.base.rsplit(":", 1)[1])
        checks = [
            http_check(transport, f"{server.base}/health", timeout="500ms"),
            TcpCheck(models.TcpCheck(name="port", host="127.0.0.1", port=port, timeout="500ms")),
            http_check(transport, f"http://127.0.0.1:{hung_port}/health", timeout="500ms"),
        ]
        ended = probe_endings(checks)
        runner = Runner(checks)
        fast, tcp, hung = await runner.run_once()
        # Cancelling the sample closed its connection (not the runner's close()).
        await until(hang.gone)
        await runner.close()
    assert (hung.state, hung.summary) == (State.CRITICAL, "timed out after 0.5s")
    assert fast.state is tcp.state is State.OK
    # The others ran alongside the hung one and ended first.
    assert ended[-1] == hung.name and set(ended) == {fast.name, tcp.name, hung.name}


async def test_https_with_trusted_and_untrusted_certificates(tmp_path: Path, transport: str, trust):
    cert, key = make_cert(tmp_path, days=30)
    health = HealthServer()
    async with serve_app(health.app, server_context(cert, key)) as port:
        url = f"https://127.0.0.1:{port}/health"
        [untrusted] = await sample(http_check(transport, url))
        trust(cert)
        [trusted] = await sample(http_check(transport, url))
    assert untrusted.state is State.CRITICAL
    assert untrusted.summary == f"TLS certificate rejected by 127.0.0.1:{port}: self-signed certificate"
    assert trusted.state is State.OK and LATENCY.match(trusted.summary)


def test_transport_falls_back_to_httpx_without_httpx_aiohttp(monkeypatch: pytest.MonkeyPatch):
    from httpx_aiohttp import AiohttpTransport

    assert isinstance(http_module.make_transport("auto"), AiohttpTransport)
    monkeypatch.setattr(http_module, "AiohttpTransport", None)
    assert isinstance(http_module.make_transport("auto"), httpx.AsyncHTTPTransport)
    with pytest.raises(ImportError, match="httpx-aiohttp"):
        http_module.make_transport("aiohttp")


def test_json_paths_parse_and_look_up():
    assert parse_json_path("checks.db.status") == ["checks", "db", "status"]
    assert parse_json_path("items[0][1].ok") == ["items", 0, 1, "ok"]
    assert lookup({"a": [{"b": None}]}, parse_json_path("a[0].b")) is None
    for bad in ("", "a.", ".a", "a[x]", "a..b", "a[0"):
        with pytest.raises(ValueError):
            parse_json_path(bad)


# --- tcp ------------------------------------------------------------------------------------------


def tcp_check(host: str, port: int) -> TcpCheck:
    return TcpCheck(models.TcpCheck(name="port", host=host, port=port, timeout="2s"))


async def test_tcp_connects_and_closes():
    hang = Hang()
    async with raw_server(hang) as port:
        [result] = await sample(tcp_check("127.0.0.1", port))
        await until(hang.gone)
    assert result.state is State.OK
    assert re.match(r"^connected in (<1|\d+) ms$", result.summary)


async def test_tcp_refused_and_dns_failure():
    port = free_port()
    refused, unknown = await sample(tcp_check("127.0.0.1", port), tcp_check("warroom-test.invalid", 5432))
    assert (refused.state, refused.summary) == (State.CRITICAL, f"connection refused 127.0.0.1:{port}")
    assert (unknown.state, unknown.summary) == (State.CRITICAL, "DNS lookup failed for warroom-test.invalid")


# --- tls ------------------------------------------------------------------------------------------


def make_cert(directory: Path, *, days: float = 0, hours: float = 1, names=("127.0.0.1",),
              not_after_at: datetime | None = None) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) for ``names``, expiring ``days`` + ``hours``
    from now; the extra hour keeps "expires in N days" exact while the test runs."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "warroom test")])
    alt = [x509.IPAddress(ipaddress.ip_address(n)) if _is_ip(n) else x509.DNSName(n) for n in names]
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=90))
        .not_valid_after(not_after_at or now + timedelta(days=days, hours=hours))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def tls_check(port: int, host: str = "127.0.0.1", **fields) -> TlsCheck:
    fields.setdefault("timeout", "2s")
    return TlsCheck(models.TlsCheck(name="cert", host=host, port=port, **fields))


def expiry(cert: Path) -> datetime:
    from cryptography import x509

    return x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc


@pytest.mark.parametrize(("days", "state"), [(30, State.OK), (10, State.WARN), (2, State.CRITICAL)])
async def test_tls_days_left(tmp_path: Path, trust, days: int, state: State):
    cert, key = make_cert(tmp_path, days=days)
    trust(cert)
    async with raw_server(Hang(), server_context(cert, key)) as port:
        [result] = await sample(tls_check(port))
    assert result.state is state, result.summary
    assert result.summary == f"certificate expires in {days} days ({expiry(cert):%Y-%m-%d})"
    assert days < result.value < days + 1
    assert result.details["verified"] is True


async def test_tls_untrusted_certificate_still_reports_days_left(tmp_path: Path):
    cert, key = make_cert(tmp_path, days=30)
    async with raw_server(Hang(), server_context(cert, key)) as port:
        [result] = await sample(tls_check(port))
    assert result.state is State.WARN
    assert result.summary == f"certificate rejected: self-signed certificate; expires in 30 days ({expiry(cert):%Y-%m-%d})"
    assert result.details["verified"] is False


async def test_tls_wrong_host_name_is_critical(tmp_path: Path, trust):
    cert, key = make_cert(tmp_path, days=30, names=("other.example",))
    trust(cert)
    async with raw_server(Hang(), server_context(cert, key)) as port:
        [result] = await sample(tls_check(port))
    assert result.state is State.CRITICAL
    assert result.summary.startswith("certificate rejected: IP address mismatch")
    assert result.summary.endswith("expires in 30 days" + f" ({expiry(cert):%Y-%m-%d})")


async def test_tls_expired_certificate(tmp_path: Path, trust):
    cert, key = make_cert(tmp_path, days=-2, hours=-1)
    trust(cert)
    async with raw_server(Hang(), server_context(cert, key)) as port:
        [result] = await sample(tls_check(port))
    assert result.state is State.CRITICAL
    assert result.summary == f"certificate expired 2 days ago ({expiry(cert):%Y-%m-%d})"
    assert result.details["rejected"] == "certificate has expired"


async def test_tls_handshake_failures():
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.close()

    refused = free_port()
    async with raw_server(plain_http) as http_port, raw_server(hang_up) as closing_port:
        wrong, closed, nobody = await sample(tls_check(http_port), tls_check(closing_port), tls_check(refused))
    assert (wrong.state, wrong.summary) == (
        State.CRITICAL, f"TLS handshake with 127.0.0.1:{http_port} failed: wrong version number")
    assert closed.summary == f"TLS handshake with 127.0.0.1:{closing_port} failed: connection closed by the server"
    assert (nobody.state, nobody.summary) == (State.CRITICAL, f"connection refused 127.0.0.1:{refused}")


async def test_tls_hung_handshake_times_out_and_closes():
    hang = Hang()
    async with raw_server(hang) as port:
        [result] = await sample(tls_check(port, timeout="500ms"))
        await until(hang.gone)
    assert (result.state, result.summary) == (State.CRITICAL, "timed out after 0.5s")


@pytest.mark.parametrize("when", [
    datetime(2031, 1, 4, 12, 30, 15, tzinfo=timezone.utc),  # UTCTime
    datetime(2049, 12, 31, 23, 59, 59, tzinfo=timezone.utc),  # the last UTCTime year
    datetime(2051, 6, 1, tzinfo=timezone.utc),  # GeneralizedTime
])
def test_not_after_reads_der_like_cryptography(tmp_path: Path, when: datetime):
    cert, _ = make_cert(tmp_path, not_after_at=when)
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert not_after(der) == when == expiry(cert)
    with pytest.raises(ValueError):
        not_after(der[:40])
    with pytest.raises(ValueError):
        not_after(b"\x04\x03abc")


# --- prometheus -----------------------------------------------------------------------------------

PROMQL = 'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))'


def prometheus_answer(query: str) -> tuple[int, object]:
    def vector(*values: str) -> dict:
        result = [{"metric": {"job": f"job{i}"}, "value": [1767225600.123, v]} for i, v in enumerate(values)]
        return {"status": "success", "data": {"resultType": "vector", "result": result}}

    kind, _, value = query.partition(":")
    if query == PROMQL:
        return 200, vector("0.034")
    if kind == "vector":
        return 200, vector(value, "99")
    if kind == "scalar":
        return 200, {"status": "success", "data": {"resultType": "scalar", "result": [1767225600.123, value]}}
    if query == "empty":
        return 200, vector()
    if query == "matrix":
        return 200, {"status": "success", "data": {"resultType": "matrix", "result": []}}
    if query == "unavailable":
        return 503, "Service Unavailable"
    return 400, {"status": "error", "errorType": "bad_data",
                 "error": f'1:5: parse error: unexpected character in "{query}"'}


@pytest.fixture
async def prometheus() -> AsyncIterator[str]:
    async def query(request: web.Request) -> web.Response:
        status, body = prometheus_answer(request.query["query"])
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_get("/prom/api/v1/query", query)
    async with serve_app(app) as port:
        yield f"http://127.0.0.1:{port}/prom/"


def prometheus_check(url: str, query: str, transport: str = "auto", **fields) -> PrometheusCheck:
    fields.setdefault("timeout", "2s")
    return PrometheusCheck(models.PrometheusCheck(name="errors", url=url, query=query, **fields), transport=transport)


@pytest.mark.parametrize(("query", "above", "state", "summary"), [
    ("vector:0.034", True, State.WARN, "0.034 (warn >= 0.01)"),
    ("vector:0.5", True, State.CRITICAL, "0.5 (critical >= 0.1)"),
    ("vector:0.001", True, State.OK, "0.001"),
    ("vector:0.01", True, State.WARN, "0.01 (warn >= 0.01)"),
    ("scalar:0.034", True, State.WARN, "0.034 (warn >= 0.01)"),
    ("vector:0.97", False, State.WARN, "0.97 (warn <= 0.99)"),
    ("vector:0.9", False, State.CRITICAL, "0.9 (critical <= 0.95)"),
    ("scalar:0.999", False, State.OK, "0.999"),
])
async def test_prometheus_thresholds(prometheus: str, query: str, above: bool, state: State, summary: str):
    limits = {"warn": 0.01, "critical": 0.1} if above else {"warn": 0.99, "critical": 0.95}
    [result] = await sample(prometheus_check(prometheus, query, above=above, **limits))
    assert (result.state, result.summary) == (state, summary)
    assert result.value == float(query.partition(":")[2])


async def test_prometheus_query_is_sent_encoded(prometheus: str, transport: str):
    [result] = await sample(prometheus_check(prometheus, PROMQL, transport, warn=0.01))
    assert (result.state, result.summary, result.value) == (State.WARN, "0.034 (warn >= 0.01)", 0.034)
    assert result.details == {"series": 1, "metric": {"job": "job0"}}


async def test_prometheus_no_data_errors_and_odd_answers(prometheus: str, transport: str):
    empty, nan, bad, matrix, down = await sample(*(
        prometheus_check(prometheus, query, transport, warn=0.01)
        for query in ("empty", "vector:NaN", "rate(x[5m]", "matrix", "unavailable")
    ))
    assert (empty.state, empty.summary) == (State.WARN, "no data")
    assert (nan.state, nan.summary) == (State.WARN, "NaN (no data to compute it from)")
    assert bad.state is State.CRITICAL
    assert bad.summary == 'query failed: bad_data: 1:5: parse error: unexpected character in "rate(x[5m]"'
    assert (matrix.state, matrix.summary) == (
        State.CRITICAL, "query returns a matrix; expected an instant vector or scalar")
    assert (down.state, down.summary) == (State.CRITICAL, f"HTTP 503 from {prometheus.rstrip('/')}")


async def test_prometheus_refused_and_masked(transport: str):
    port = free_port()
    url = f"http://admin:pa55word@127.0.0.1:{port}"
    [result] = await sample(prometheus_check(url, "up", transport))
    assert (result.state, result.summary) == (State.CRITICAL, f"connection refused 127.0.0.1:{port}")
    assert "pa55word" not in prometheus_check(url, "up").target()


# --- registry -------------------------------------------------------------------------------------


def test_registry_builds_each_network_kind():
    configs = {
        HttpCheck: models.HttpCheck(name="a", url="http://127.0.0.1/"),
        TcpCheck: models.TcpCheck(name="b", host="127.0.0.1", port=1),
        TlsCheck: models.TlsCheck(name="c", host="127.0.0.1"),
        PrometheusCheck: models.PrometheusCheck(name="d", url="http://127.0.0.1:9090", query="up"),
    }
    for cls, config in configs.items():
        check = build_check(config, ("secret",))
        assert type(check) is cls and "secret" in check.secrets


# --- command ---------------------------------------------------------------------------------


def command_check(*argv: str, timeout: str = "2s", **kw) -> Check:
    return build_check(models.CommandCheck(name="disk", argv=list(argv), timeout=timeout, **kw),
                       Secrets({"DISK_TOKEN": "s3cr3t-value"}))


async def test_command_check_reads_exit_codes_as_monitoring_plugins_do(tmp_path: Path):
    results = await sample(
        command_check("sh", "-c", "echo 'DISK OK - / 42% used'"),
        command_check("sh", "-c", "echo; echo 'DISK WARNING - / 91% used'; exit 1"),
        command_check("sh", "-c", "echo 'DISK CRITICAL - / 99% used' ; exit 2"),
        command_check("sh", "-c", "echo 'no such mount'; exit 3"),
    )
    assert [(r.state, r.summary) for r in results] == [
        (State.OK, "DISK OK - / 42% used"), (State.WARN, "DISK WARNING - / 91% used"),
        (State.CRITICAL, "DISK CRITICAL - / 99% used"), (State.CRITICAL, "exit 3 (unknown): no such mount")]
    assert results[1].details["exit_code"] == 1


async def test_command_check_no_shell_timeout_missing_program_and_secrets(tmp_path: Path):
    marker = tmp_path / "ran"
    hung, missing, literal, secret = await sample(
        command_check("sh", "-c", f"sleep 30; touch {marker}", timeout="300ms"),
        command_check("./no-such-plugin", cwd=tmp_path),
        command_check("echo", "$HOME; touch /tmp/x"),
        command_check("sh", "-c", "echo token=$T", env={"T": "${DISK_TOKEN}"}),
    )
    assert hung.state is State.CRITICAL and not marker.exists()
    assert (missing.state, missing.summary) == (State.CRITICAL, "program not found: ./no-such-plugin")
    assert literal.summary == "$HOME; touch /tmp/x"  # argv, never a shell
    assert secret.summary == "token=****" and "s3cr3t" not in str(secret.details)
