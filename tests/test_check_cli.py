"""`warroom check --once [--json]`: the DESIGN.md contract, against real local services."""

import json
from pathlib import Path

from tests.conftest import free_port, run


def config(tmp_path: Path, *tables: str) -> str:
    path = tmp_path / "warroom.toml"
    path.write_text("\n".join(tables))
    return str(path)


def tcp(name: str, port: int, service: str = "edge") -> str:
    return f'[[check]]\nname = "{name}"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {port}\nservice = "{service}"\n'


def test_all_ok_exits_0_with_the_json_contract(capsys, tmp_path, listener):
    code, out, err = run(capsys, "check", "--once", "--json", "--config", config(tmp_path, tcp("lb", listener)))
    assert code == 0, err
    [result] = json.loads(out)
    assert {"name", "kind", "state", "summary", "latency_ms"} <= set(result)
    assert (result["name"], result["kind"], result["state"]) == ("lb", "tcp", "ok")
    assert isinstance(result["latency_ms"], float)


def test_worst_critical_exits_2_and_the_table_names_the_failure(capsys, tmp_path, listener):
    down = free_port()
    code, out, err = run(capsys, "check", "--once", "--config",
                         config(tmp_path, tcp("lb", listener), tcp("db-proxy", down, "data")))
    assert code == 2
    assert f"connection refused 127.0.0.1:{down}" in out
    assert "CRIT" in out and "OK" in out and "data" in out


def test_worst_warn_exits_1(capsys, tmp_path):
    # Redis on this machine has no maxmemory; a PING latency threshold can't be set, so use
    # the postgres check with a ratio every server exceeds: at least our own connection.
    pg = ('[[check]]\nname = "db"\nkind = "postgres"\ndsn = "postgresql://postgres@127.0.0.1:5432/test"\n'
          'warn_connections = 0.0001\ncritical_connections = 0.9999\n')
    code, out, err = run(capsys, "check", "--once", "--json", "--config", config(tmp_path, pg))
    assert code == 1, out + err
    assert json.loads(out)[0]["state"] == "warn"


def test_no_checks_is_a_clear_error(capsys, tmp_path):
    code, out, err = run(capsys, "check", "--once", "--config", config(tmp_path, "# nothing\n"))
    assert code == 2 and err.count("\n") == 1 and "no health checks configured" in err


def test_secrets_never_appear_in_results(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PGPW", "hunter2-secret")
    pg = ('[[check]]\nname = "db"\nkind = "postgres"\n'
          'dsn = "postgresql://postgres:${PGPW}@127.0.0.1:5432/no_such_db_here"\n')
    code, out, err = run(capsys, "check", "--once", "--json", "--config", config(tmp_path, pg))
    assert code == 2
    assert "hunter2-secret" not in out + err
    assert "no_such_db_here" in json.loads(out)[0]["summary"]
