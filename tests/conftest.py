"""Shared fixtures: an isolated environment per test (no developer config, no real data
dir), helpers to run the CLI in-process or as a child process, and the local servers and
ports that the check and mitigation tests use."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from warroom.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG dirs and cwd in a temp dir, no WARROOM_* from the developer's shell."""
    home = tmp_path_factory.mktemp("home")
    for var in list(os.environ):
        if var.startswith("WARROOM_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.chdir(home)
    return home


@pytest.fixture(autouse=True)
def login(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """In-process commands run as the OS login "tester"; ``login("mallory")`` makes the next
    ones run as mallory's login would (who acts is the login: a test cannot just type a
    name). Child processes are the machine's real login."""
    import warroom.identity

    current = ["tester"]
    monkeypatch.setattr(warroom.identity, "os_login", lambda: current[0])

    def switch(name: str) -> None:
        current[0] = name

    return switch


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'journal.db'}"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], store: str):
    """Run `warroom ARGS --store <the test's store>` in-process."""

    def run(*args: str, use_store: bool = True) -> Result:
        argv = [*args, "--store", store] if use_store else list(args)
        code = main(argv)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `warroom ARGS` in-process as given (no --store added): (exit code, stdout, stderr)."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(*args: str, **kwargs) -> subprocess.Popen:
    """The CLI as a separate process (for crash and concurrency tests)."""
    return subprocess.Popen([sys.executable, "-m", "warroom", *args], env=child_env(), **kwargs)


def probe_endings(checks) -> list[str]:
    """The names of ``checks`` in the order their probes end (a hung one's at its timeout)."""
    ended: list[str] = []
    for check in checks:
        async def tracked(probe=check.probe, name=check.name):
            try:
                return await probe()
            finally:
                ended.append(name)

        check.probe = tracked
    return ended


# --- local servers and ports -------------------------------------------------------------------

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_DSN = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/test"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


def listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


def free_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port that accepts connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def require() -> Callable[[bool, str], None]:
    """``require(available, what)``: a test whose server or program is missing is skipped,
    except under CI=true, where the machine promises them and the test fails instead."""

    def need(available: bool, what: str) -> None:
        if available:
            return
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} (CI=true: this machine must provide it)")
        pytest.skip(what)

    return need


@pytest.fixture
def postgres_dsn(require) -> str:
    require(listening(PG_HOST, PG_PORT), f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}")
    return PG_DSN


@pytest.fixture
def redis_available(require) -> None:
    require(listening(REDIS_HOST, REDIS_PORT), f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}")


@pytest.fixture
def redis_url(redis_available) -> str:
    return REDIS_URL


@pytest.fixture
async def admin(postgres_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own, for setting up and inspecting sessions."""
    conn = await asyncpg.connect(postgres_dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def eventually(probe: Callable[[], Awaitable[Any]], what: str, timeout: float = 10.0) -> Any:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.05)


# --- journals: the embedded file and the team journal on PostgreSQL ---------------------------


@pytest.fixture
async def pg_store(postgres_dsn: str) -> AsyncIterator[str]:
    """A PostgreSQL journal URL of the test's own: a fresh schema (search_path), dropped after."""
    import secrets

    schema = f"warroom_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        yield f"{postgres_dsn}?search_path={schema}"
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The journal contract's URL, once per store: every test using it runs on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.db'}"
    return request.getfixturevalue("pg_store")


@pytest.fixture
def throwaway_postgres(require):
    """A PostgreSQL server of the test's own on a spare port, started; stopped and removed after."""
    from tests.pg_server import ThrowawayPostgres, available

    ok, why = available()
    require(ok, why)
    server = ThrowawayPostgres(free_port()).init()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def pg_proxy(postgres_dsn):
    """A TCP proxy to the test PostgreSQL server that the test can cut and restore."""
    from tests.tcp_proxy import TcpProxy

    proxy = TcpProxy(PG_HOST, PG_PORT)
    try:
        yield proxy
    finally:
        proxy.close()


def via(proxy, url: str) -> str:
    """``url`` (a test PostgreSQL URL) through ``proxy``."""
    return url.replace(f"@{PG_HOST}:{PG_PORT}/", f"@127.0.0.1:{proxy.port}/")
