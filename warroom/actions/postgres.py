"""PostgreSQL mitigations: cancel or terminate long-running queries, flip a feature flag
kept in a table. Every statement lives in ``sql/postgres_*.sql`` and runs through one
data-access class, ``Database``; each step opens its own short connection, because a person
may take minutes to confirm between the preview and the execution.

Cancel/terminate signal exactly the backends the preview listed, and each only while it
still runs the previewed query: the statement re-checks pid, backend_start and query_start,
so a pid the server has given to another session since is never signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any, AsyncIterator, Iterable
from urllib.parse import urlsplit

import asyncpg

from warroom.actions.base import ActionFailed, Evidence, Mitigation, Outcome, Preview
from warroom.checks.postgres import age, dsn_passwords, dsn_target, explain_postgres_error, first_line
from warroom.secrets import Secrets
from warroom.text import mask_text


def _load(name: str) -> str:
    return (files(__package__) / "sql" / f"postgres_{name}.sql").read_text(encoding="utf-8")


QUERIES = {name: _load(name) for name in (
    "sessions", "planned", "cancel", "terminate", "flag_read", "flag_write")}

PREVIEW_QUERY = 80
"""Characters of a query's first line shown in the preview."""


# --- SQL text (pure) -------------------------------------------------------------------------


def quote_identifier(name: str) -> str:
    """``ops.flags`` -> ``"ops"."flags"``: each dotted part double-quoted, quotes doubled."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def quote_literal(value: str) -> str:
    """An SQL string literal for display (standard_conforming_strings): quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def interval_text(delta: timedelta) -> str:
    """``timedelta(minutes=5)`` -> ``5 minutes``; ``90s`` -> ``1 minute 30 seconds``."""
    micros = delta // timedelta(microseconds=1)
    parts = []
    for unit, size in (("day", 86_400_000_000), ("hour", 3_600_000_000), ("minute", 60_000_000)):
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count} {unit}" + ("" if count == 1 else "s"))
    if micros or not parts:
        seconds = f"{micros / 1_000_000:.6f}".rstrip("0").rstrip(".")
        parts.append(f"{seconds} second" + ("" if seconds == "1" else "s"))
    return " ".join(parts)


def interval_literal(delta: timedelta) -> str:
    """``timedelta(minutes=5)`` -> ``interval '5 minutes'``."""
    return f"interval '{interval_text(delta)}'"


def signal_sql(function: str, config: Any) -> str:
    """The statement a DBA would type for a cancel/terminate config."""
    where = ["state = 'active'", f"query_start < now() - {interval_literal(config.older_than)}"]
    for column, value in (("datname", config.database), ("usename", config.user),
                          ("application_name", config.application)):
        if value is not None:
            where.append(f"{column} = {quote_literal(value)}")
    # Not in the textbook form, but what makes it equivalent: walsenders are 'active' too.
    where.append("backend_type = 'client backend'")
    return f"SELECT {function}(pid) FROM pg_stat_activity WHERE {' AND '.join(where)};"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _json_row(row: Any) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in dict(row).items()}


def _backend_line(row: Any) -> str:
    return f"pid {row['pid']} {age(row['seconds'])} `{first_line(row['query'], PREVIEW_QUERY)}`"


def _backend_text(row: Any) -> str:
    who = f"user {row['usename']}  db {row['datname']}  app {row['application_name'] or '-'}"
    client = row["client_addr"] or "local"
    if row["client_port"] and row["client_port"] > 0:
        client = f"{client}:{row['client_port']}"
    return (f"pid {row['pid']}  {who}  client {client}\n"
            f"state {row['state']}  query_start {row['query_start'].isoformat()}  "
            f"running {age(row['seconds'])}\n{row['query']}")


# --- data access ---------------------------------------------------------------------------


class Database:
    """Every statement the PostgreSQL actions run, by name, over one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def sessions(self, older_than: timedelta, database: str | None, user: str | None,
                       application: str | None) -> list[Any]:
        return await self.conn.fetch(QUERIES["sessions"], older_than, database, user, application)

    async def planned(self, backends: list[dict[str, Any]]) -> list[Any]:
        return await self.conn.fetch(
            QUERIES["planned"], [b["pid"] for b in backends],
            [datetime.fromisoformat(b["backend_start"]) for b in backends],
            [datetime.fromisoformat(b["query_start"]) for b in backends])

    async def signal(self, how: str, backend: dict[str, Any]) -> bool | None:
        """True signalled, False refused by the server, None no longer running that query."""
        return await self.conn.fetchval(
            QUERIES[how], backend["pid"], datetime.fromisoformat(backend["backend_start"]),
            datetime.fromisoformat(backend["query_start"]))

    async def flag_rows(self, names: dict[str, str], flag: str) -> list[Any]:
        return await self.conn.fetch(QUERIES["flag_read"].format(**names), flag)

    async def set_flag(self, names: dict[str, str], flag: str, enable: bool) -> list[Any]:
        return await self.conn.fetch(QUERIES["flag_write"].format(**names), enable, flag)


class _PostgresAction(Mitigation):
    """Connections and error lines shared by the PostgreSQL actions."""

    def __init__(self, config: Any, secrets: Iterable[str] = ()) -> None:
        secrets = Secrets.of(secrets)
        super().__init__(config, secrets.also(*dsn_passwords(secrets.expand(config.dsn))))

    def target_address(self) -> str:
        return mask_text(dsn_target(self.secrets.expand(self.config.dsn)), self.secrets)

    @contextlib.asynccontextmanager
    async def _database(self) -> AsyncIterator[Database]:
        settings = {}
        dsn = self.secrets.expand(self.config.dsn)
        if "application_name" not in urlsplit(dsn).query:
            settings["application_name"] = f"warroom action {self.name}"[:63]
        # No connect and no statement may outlast the action's timeout (client side:
        # PgBouncer refuses statement_timeout); the runner bounds the whole step.
        seconds = self.timeout.total_seconds()
        try:
            conn = await asyncpg.connect(dsn, timeout=seconds,
                                         command_timeout=seconds, server_settings=settings)
        except Exception as exc:
            raise ActionFailed(self.describe(exc)) from exc
        try:
            yield Database(conn)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise ActionFailed(self.describe(exc)) from exc
        except asyncio.CancelledError:  # timed out: a polite close could wait as long again
            conn.terminate()
            raise
        finally:
            if not conn.is_closed():
                try:
                    await conn.close(timeout=seconds)
                except Exception:  # broken link: the result (or error) above is what counts
                    conn.terminate()
                except BaseException:
                    conn.terminate()
                    raise

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):  # its connect and statement limits are the action's timeout
            return mask_text(self.timed_out().summary, self.secrets)
        return mask_text(explain(exc, self.target_address(), self.secrets), self.secrets)


def explain(exc: BaseException, target: str, secrets: Iterable[str] = ()) -> str:
    """A failure as one line naming host:port, never the DSN."""
    if isinstance(exc, ActionFailed):
        return exc.summary
    return explain_postgres_error(exc, target, secrets)


# --- cancel / terminate ----------------------------------------------------------------------


class _SignalBackends(_PostgresAction):
    FUNCTION: str
    VERB: str
    DONE: str
    QUERY: str

    def _filters(self) -> str:
        parts = [f"older than {interval_text(self.config.older_than)}"]
        for label, value in (("database", self.config.database), ("user", self.config.user),
                             ("application", self.config.application)):
            if value is not None:
                parts.append(f"{label} {value}")
        return ", ".join(parts)

    async def preview(self) -> Preview:
        config = self.config
        async with self._database() as db:
            rows = await db.sessions(config.older_than, config.database, config.user, config.application)
        target = config.database or self.target_address()
        equivalent = signal_sql(self.FUNCTION, config)
        plan = {
            "backends": [{"pid": r["pid"], "backend_start": r["backend_start"].isoformat(),
                          "query_start": r["query_start"].isoformat()} for r in rows],
        }
        if not rows:
            return Preview(f"{self.VERB} 0 backends", equivalent, target, plan,
                           noop=f"no active query {self._filters()}")
        summary = f"{self.VERB} {_plural(len(rows), 'backend')}: {_backend_line(rows[0])}"
        if len(rows) > 1:
            summary += f" (+{len(rows) - 1} more)"
        lines = tuple(f"{_backend_line(r)}  {r['usename']}@{r['datname']}"
                      + (f" app {r['application_name']}" if r["application_name"] else "")
                      for r in rows)
        return Preview(summary, equivalent, target, plan, lines=lines)

    async def evidence(self, preview: Preview) -> list[Evidence]:
        backends = preview.plan.get("backends", [])
        if not backends:
            return []
        async with self._database() as db:
            rows = await db.planned(backends)
        data = {"backends": [_json_row(r) for r in rows]}
        text = "\n\n".join(_backend_text(r) for r in rows) or "(none still running)"
        return [Evidence(f"pg_stat_activity: {_plural(len(rows), 'backend')} to {self.VERB}", text, data)]

    async def execute(self, preview: Preview) -> Outcome:
        backends = preview.plan.get("backends", [])
        done: list[int] = []
        skipped: list[int] = []
        failed: dict[int, str] = {}
        async with self._database() as db:
            for backend in backends:
                pid = backend["pid"]
                try:
                    result = await db.signal(self.QUERY, backend)
                except asyncpg.PostgresError as exc:  # e.g. not allowed to signal that role
                    failed[pid] = self.describe(exc)
                    continue
                if result is None:
                    skipped.append(pid)
                elif result:
                    done.append(pid)
                else:
                    failed[pid] = "the server could not signal it"
        summary = f"{self.DONE} {len(done)} of {_plural(len(backends), 'backend')}"
        if skipped:
            summary += (f"; {len(skipped)} no longer running the previewed query "
                        f"(pid {', '.join(map(str, skipped))})")
        if failed:
            pid, reason = next(iter(failed.items()))
            summary += f"; {len(failed)} failed (pid {pid}: {reason})"
        after = {"signalled": done, "skipped": skipped,
                 "failed": [{"pid": p, "error": e} for p, e in failed.items()]}
        return Outcome(not failed, summary, before={"backends": backends}, after=after)


class CancelQueries(_SignalBackends):
    """pg_cancel_backend(): stop the query, keep the session."""

    FUNCTION, VERB, DONE, QUERY = "pg_cancel_backend", "cancel", "cancelled", "cancel"


class TerminateQueries(_SignalBackends):
    """pg_terminate_backend(): end the whole session (its open transaction rolls back)."""

    FUNCTION, VERB, DONE, QUERY = "pg_terminate_backend", "terminate", "terminated", "terminate"


# --- feature flag ----------------------------------------------------------------------------


def _state(value: Any) -> str:
    return "NULL" if value is None else ("enabled" if value else "disabled")


class FeatureFlag(_PostgresAction):
    """UPDATE one flag row; table and columns are quoted identifiers, name and value are
    always bound parameters."""

    def _names(self) -> dict[str, str]:
        return {"table": quote_identifier(self.config.table),
                "name_column": quote_identifier(self.config.name_column),
                "enabled_column": quote_identifier(self.config.enabled_column)}

    def _equivalent(self) -> str:
        names = self._names()
        value = "true" if self.config.enable else "false"
        return (f"UPDATE {names['table']} SET {names['enabled_column']} = {value} "
                f"WHERE {names['name_column']} = {quote_literal(self.config.flag)};")

    async def _read(self, db: Database) -> list[Any]:
        config = self.config
        where = f"{config.table} ({self.target_address()})"
        try:
            rows = await db.flag_rows(self._names(), config.flag)
        except asyncpg.UndefinedTableError as exc:
            raise ActionFailed(f"flag table {where} does not exist") from exc
        except asyncpg.UndefinedColumnError as exc:
            raise ActionFailed(f"{first_line(mask_text(str(exc), self.secrets), 200)} in flag table {where}") from exc
        if not rows:
            raise ActionFailed(f"flag {config.flag} not found in {config.table}")
        return rows

    async def preview(self) -> Preview:
        config = self.config
        async with self._database() as db:
            rows = await self._read(db)
        values = [r["enabled"] for r in rows]
        plan = {"flag": config.flag, "enable": config.enable, "table": config.table,
                "before": values}
        verb = "enable" if config.enable else "disable"
        now = ", ".join(sorted({_state(v) for v in values}))
        count = f" ({len(rows)} rows)" if len(rows) > 1 else ""
        summary = f"{verb} flag {config.flag} in {config.table}{count}: now {now}"
        noop = None
        if all(v is config.enable for v in values):
            noop = f"flag {config.flag} is already {_state(config.enable)}"
        return Preview(summary, self._equivalent(), config.flag, plan, noop=noop)

    async def evidence(self, preview: Preview) -> list[Evidence]:
        async with self._database() as db:
            rows = await self._read(db)
        before = [json.loads(r["row"]) for r in rows]
        text = "\n".join(json.dumps(row, sort_keys=True, default=str) for row in before)
        return [Evidence(f"{self.config.table} row of flag {self.config.flag} before", text,
                         {"rows": before})]

    async def execute(self, preview: Preview) -> Outcome:
        flag, enable = preview.plan["flag"], preview.plan["enable"]
        before = {"flag": flag, "values": preview.plan.get("before", [])}
        async with self._database() as db:
            try:
                rows = await db.set_flag(self._names(), flag, enable)
            except asyncpg.UndefinedTableError as exc:
                raise ActionFailed(f"flag table {self.config.table} ({self.target_address()}) "
                                   "does not exist") from exc
        if not rows:
            return Outcome(False, f"flag {flag} not found in {self.config.table}", before=before)
        values = [r["enabled"] for r in rows]
        ok = all(v is enable for v in values)
        summary = f"flag {flag} {_state(enable) if ok else 'now ' + _state(values[0])}"
        if len(rows) > 1:
            summary += f" ({len(rows)} rows)"
        return Outcome(ok, summary, before=before, after={"flag": flag, "values": values})
