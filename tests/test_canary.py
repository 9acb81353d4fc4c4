"""A canary secret in every position of the configuration that takes a secret or free text
(argv, a command's env, DSNs and URLs with passwords for the PostgreSQL, Redis, HTTP and
Prometheus checks and the actions, headers, set_env values, descriptions, the store URL), and
in a note a person types: run everything that shows or writes something, and the canary is
in none of it: stdout, stderr, the journal's rows, exports, the postmortem, the console's
screens. Only the program that needs it gets it (it writes its argv to a file to prove it).
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import PG_HOST, PG_PORT, REDIS_HOST, REDIS_PORT, free_port, run
from tests.console_support import FakeClock, console, sample_incident, until
from warroom.domain.timeline import Kind

TAG = uuid.uuid4().hex[:12]
CANARY = f"cnry-{TAG}-x"
"""A value no output may hold. Screens and cut lines may show part of it: the tag is what
is looked for, so a piece of the canary counts as the canary."""
ENV = "WR_CANARY"
REF = "${WR_CANARY}"


class Endpoint(BaseHTTPRequestHandler):
    """200 to a request carrying the canary as its bearer token or Basic password (so the
    check proves the real value was sent); /echo answers JSON holding the canary."""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        header = self.headers.get("Authorization", "")
        basic = "Basic " + base64.b64encode(f"ops:{CANARY}".encode()).decode()
        if self.path.startswith("/echo"):
            body = json.dumps({"status": CANARY}).encode()
            status = 200
        else:
            body = b"ok"
            status = 200 if header in (f"Bearer {CANARY}", basic) else 401
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # no request lines on the test's stderr
        pass


@pytest.fixture
def endpoint() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def canary_config(tmp_path: Path, endpoint: int, monkeypatch: pytest.MonkeyPatch, postgres_dsn, redis_available) -> dict:
    monkeypatch.setenv(ENV, CANARY)
    seen = tmp_path / "argv-seen"
    script = 'printf "%s|%s" "$1" "$WR_TOOL_PW" > "$2"; echo "stdout $1"; echo "stderr $WR_TOOL_PW" >&2'
    path = tmp_path / "warroom.toml"
    path.write_text(f'''
[[check]]
name = "api"
kind = "http"
url = "http://127.0.0.1:{endpoint}/health?token={REF}"
headers = {{ Authorization = "Bearer {REF}" }}
service = "api"
runbook = "https://runbooks.example/api"

[[check]]
name = "api-basic"
kind = "http"
url = "http://ops:{REF}@127.0.0.1:{endpoint}/health"

[[check]]
name = "api-echo"
kind = "http"
url = "http://127.0.0.1:{endpoint}/echo"
json_path = "status"
json_equals = "ok"

[[check]]
name = "api-body"
kind = "http"
url = "http://127.0.0.1:{endpoint}/health"
headers = {{ Authorization = "Bearer {REF}" }}
body_contains = "{REF}"

[[check]]
name = "prom"
kind = "prometheus"
url = "http://ops:{REF}@127.0.0.1:{endpoint}"
query = "up"

[[check]]
name = "db"
kind = "postgres"
dsn = "postgresql://postgres:{REF}@{PG_HOST}:{PG_PORT}/test"

[[check]]
name = "db-missing"
kind = "postgres"
dsn = "postgresql://postgres:{REF}@{PG_HOST}:{PG_PORT}/nope_{REF}"

[[check]]
name = "cache"
kind = "redis"
url = "redis://:{REF}@{REDIS_HOST}:{REDIS_PORT}/0"

[[check]]
name = "gone"
kind = "redis"
url = "redis://:{REF}@127.0.0.1:{free_port()}/0"

[[action]]
name = "rotate"
kind = "command"
argv = ["sh", "-c", '{script}', "sh", "--password={REF}", "{seen}"]
env = {{ WR_TOOL_PW = "{REF}" }}
description = "rotates the key, needs {REF}"
risk = "medium"
key = "G"

[[action]]
name = "flag-off"
kind = "postgres.feature_flag"
dsn = "postgresql://postgres:{REF}@{PG_HOST}:{PG_PORT}/test"
flag = "x"
description = "{REF}"

[[action]]
name = "purge"
kind = "redis.delete_pattern"
url = "redis://:{REF}@{REDIS_HOST}:{REDIS_PORT}/13"
pattern = "warroom-canary-test-keys:*"

[[action]]
name = "token"
kind = "kubernetes.set_env"
namespace = "production"
deployment = "api"
env = {{ API_TOKEN = "{REF}" }}
''')
    return {"path": path, "seen": seen}


def leaks(text: str) -> bool:
    return TAG in text


def journal_rows(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return repr({t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables})


def test_the_canary_never_leaves_by_the_command_line(canary_config, tmp_path, capsys, monkeypatch):
    config, store, db = str(canary_config["path"]), f"sqlite:///{tmp_path / 'journal.db'}", tmp_path / "journal.db"
    said: list[str] = []

    def warroom(*args: str, codes: tuple[int, ...] = (0,)) -> str:
        code, out, err = run(capsys, *args)
        said.extend([out, err])
        assert code in codes, f"{args}: exit {code}: {err}"
        return out

    assert "${WR_CANARY}" in warroom("config", "check", "--config", config)
    assert "needs ${WR_CANARY}" in warroom("action", "list", "--config", config)
    results = {r["name"]: r for r in json.loads(
        warroom("check", "--once", "--json", "--config", config, codes=(1, 2)))}
    # The values reached the servers: the bearer token, the Basic password, the DSN's.
    assert [results[n]["state"] for n in ("api", "api-basic", "db")] == ["ok", "ok", "ok"], results
    assert results["api-echo"]["summary"] == 'status is "****", expected "ok"'
    assert results["db-missing"]["summary"].startswith('database "nope_****" does not exist')
    warroom("check", "--once", "--config", config, codes=(1, 2))

    warroom("declare", "-s", "SEV1", "-t", f"leak {CANARY}", "--ic", "tester", "--store", store, "--config", config)
    warroom("log", "INC-1", f"someone pasted {CANARY}", "--store", store, "--config", config)
    warroom("action", "run", "rotate", "-i", "INC-1", "--dry-run", "--store", store, "--config", config)
    out = warroom("action", "run", "rotate", "-i", "INC-1", "--yes", "--store", store, "--config", config)
    assert out.count("done: exit 0") == 1
    # Only the program got the value, in its argv and its environment.
    assert canary_config["seen"].read_text() == f"--password={CANARY}|{CANARY}"
    warroom("action", "run", "flag-off", "-i", "INC-1", "--dry-run", "--store", store, "--config", config,
            codes=(0, 2))
    warroom("action", "run", "purge", "-i", "INC-1", "--dry-run", "--store", store, "--config", config)

    shown = warroom("show", "INC-1", "--store", store, "--config", config)
    assert "--password=${WR_CANARY}" in shown  # the template is what the record says
    files = [tmp_path / name for name in ("inc.json", "inc.md", "postmortem.md")]
    warroom("export", "INC-1", "--format", "json", "-o", str(files[0]), "--store", store, "--config", config)
    warroom("export", "INC-1", "--format", "md", "-o", str(files[1]), "--store", store, "--config", config)
    warroom("postmortem", "INC-1", "-o", str(files[2]), "--store", store, "--config", config)
    for fmt in ("json", "md"):
        warroom("export", "INC-1", "--format", fmt, "--store", store, "--config", config)
    warroom("postmortem", "INC-1", "--store", store, "--config", config)

    [audit] = [e["data"] for e in json.loads(files[0].read_text())["entries"]
               if e["kind"] == "mitigation" and e["data"].get("result") == "ok"]
    assert audit["before"]["argv"][4] == "--password=${WR_CANARY}"
    assert "stdout --password=****" in audit["after"]["output"]
    for text in [*said, *(f.read_text() for f in files), journal_rows(db)]:
        assert not leaks(text), text


def test_the_canary_never_leaves_in_an_error_line(tmp_path, capsys, monkeypatch):
    long_secret = "s" * 50 + CANARY + "t" * 60
    monkeypatch.setenv(ENV, long_secret)
    cases = {
        # A bad value next to a long secret; the secret itself where a URL should be; a
        # secret in a position that is cut to 80 characters in a message.
        "bad.toml": f'[[check]]\nname = "db"\nkind = "postgres"\ndsn = "postgresql://u:{REF}@db/x"\ntimeout = 5\n',
        "not-a-url.toml": f'[[check]]\nname = "db"\nkind = "postgres"\ndsn = "{REF}"\n',
        "cut.toml": f'[[action]]\nname = "x"\nkind = "redis.delete_pattern"\nurl = "mysql://:{REF}@c/0"\npattern = "a:*"\n',
        "description.toml": f'[[action]]\nname = "x"\nkind = "command"\nargv = []\ndescription = "{REF}"\n',
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        code, out, err = run(capsys, "config", "check", "--config", str(path))
        assert code == 2 and err.count("\n") == 1, err
        assert not leaks(out + err) and "sssss" not in err, err
    for url in (f"mysql://app:{CANARY}@db/x", f"postgresql://app:{CANARY}@db/x", f"sqlite://app:{CANARY}@db/x"):
        monkeypatch.setenv("WARROOM_STORE", url)
        code, out, err = run(capsys, "list")
        assert code == 2 and not leaks(out + err), err


async def test_the_canary_never_reaches_the_console(canary_config, store, tmp_path):
    from warroom.config import load_config

    clock = FakeClock()
    await sample_incident(store, clock)  # alice is the IC
    app = console(store, clock, tmp_path, config=load_config(canary_config["path"]))
    screens: list[str] = []
    mitigations = lambda: [e for e in app.incident_flow.entries if e.kind is Kind.MITIGATION]  # noqa: E731
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        await until(pilot, lambda: len(app.health_flow.latest) == 9, timeout=15)
        screens.append(app.export_screenshot())  # the health pane and the timeline
        await pilot.press("x")  # the actions, with their descriptions
        await until(pilot, lambda: len(app.screen_stack) == 2)
        screens.append(app.export_screenshot())
        await pilot.press("escape")
        await until(pilot, lambda: len(app.screen_stack) == 1)
        await pilot.press("G")  # the preview and its confirmation
        await until(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.pause(0.2)
        screens.append(app.export_screenshot())
        await pilot.press(*"sh", "enter")
        await until(pilot, lambda: any(e.data.get("result") == "ok" for e in mitigations()), timeout=10)
        await pilot.pause(0.2)
        screens.append(app.export_screenshot())  # the audit on the timeline, the toast
        toasts = repr(app.toasts)
    assert canary_config["seen"].read_text() == f"--password={CANARY}|{CANARY}"
    assert any("rotate" in s for s in screens[2:])
    for text in [*screens, toasts, journal_rows(Path(store.removeprefix("sqlite:///")))]:
        assert not leaks(text), text


def test_an_entry_written_before_is_masked_on_the_way_out(tmp_path, capsys, monkeypatch):
    # Written by a warroom that did not know the secret (an older one, another config): the
    # journal holds it, and show, export and postmortem still never print it.
    store = f"sqlite:///{tmp_path / 'old.db'}"
    assert run(capsys, "declare", "-s", "SEV2", "-t", f"since {CANARY}", "--store", store)[0] == 0
    assert run(capsys, "log", "INC-1", f"pw is {CANARY}", "--store", store)[0] == 0
    monkeypatch.setenv(ENV, CANARY)
    config = tmp_path / "warroom.toml"
    config.write_text(f'[[check]]\nname = "db"\nkind = "postgres"\ndsn = "postgresql://u:{REF}@db/x"\n')
    said = []
    for args in (["show", "INC-1"], ["export", "INC-1", "--format", "json"], ["export", "INC-1", "--format", "md"],
                 ["postmortem", "INC-1"]):
        code, out, err = run(capsys, *args, "--store", store, "--config", str(config))
        assert code == 0, err
        said.append(out + err)
    assert "pw is ****" in said[0] and not any(leaks(text) for text in said)
