"""Which runbook code warroom will run, read-only, and as what (no I/O; nothing runs here).

A step's block runs only if *every* command in it is one of these; otherwise the whole
block is refused before anything runs, and it is shown as text to copy:

- ``kubectl`` reads: ``rollout history|status``, ``get deployment(s)|pods|events``,
  ``describe deployment``, ``logs`` (``--previous``), ``top pods|nodes``. Answered through
  the Kubernetes API client, never by running kubectl.
- ``redis-cli`` with a command on ``REDIS_ALLOWED`` (PING, INFO, LATENCY ..., SLOWLOG GET,
  ...), or ``--latency`` (a sample of PINGs).
- ``curl URL`` with options that keep it a GET (timing is measured by warroom).
- a ``promql`` block: one PromQL instant query.
- a ``sql`` block: every statement parsed by PostgreSQL's own parser (pglast) and found to
  be a plain SELECT / SHOW / EXPLAIN (no ANALYZE), without SELECT ... INTO, FOR UPDATE/SHARE,
  data-modifying CTEs, or a call to a function on ``SQL_DENIED`` (functions that act outside
  the transaction: signal backends, change settings, touch files, large objects, other
  servers, sequences, advisory locks, or run SQL given as text). It then runs in a READ ONLY
  transaction with a statement timeout, which is the second wall, not the first.

No shell ever runs: a line with a pipe, redirection, ``;``, ``&&``, ``$`` or a backquote
is refused whatever the program.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Probe:
    """One read-only request: ``kind`` and its arguments; ``command`` as written."""

    kind: str
    """k8s.history, k8s.status, k8s.pods, k8s.events, k8s.logs, k8s.top_pods,
    k8s.top_nodes, redis, redis.latency, http, prometheus, sql."""
    command: str
    args: dict = field(default_factory=dict)


class NotRunnable(ValueError):
    """Why a block (or one command of it) will not be run."""


# --- the shell-like lines of a bash block ------------------------------------------------


def commands(code: str) -> list[str]:
    """The command lines of a shell block: comments and blank lines dropped, ``\\``
    continuations joined."""
    out: list[str] = []
    pending = ""
    for line in code.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        out.append((pending + stripped).strip())
        pending = ""
    if pending.strip():
        out.append(pending.strip())
    return out


_SHELL_META = set(";|&<>()`$")


def words(line: str) -> list[str]:
    """``line`` split as a shell would split a simple command; NotRunnable for anything a
    shell would do more with (pipes, redirections, lists, expansions, substitutions)."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError as exc:
        raise NotRunnable(f"cannot split {line!r}: {exc}") from None
    for token in tokens:
        if token and set(token) <= set(";&|<>()"):
            raise NotRunnable(f"shell syntax {token!r}: warroom runs no shell")
    if "$" in line or "`" in line:
        raise NotRunnable("shell expansion ($ or `): warroom runs no shell")
    if not tokens:
        raise NotRunnable("empty command")
    return tokens


def classify_line(line: str) -> Probe:
    """The probe that answers ``line`` read-only; NotRunnable otherwise."""
    argv = words(line)
    program = argv[0].rsplit("/", 1)[-1]
    if program == "kubectl":
        return _kubectl(line, argv[1:])
    if program == "redis-cli":
        return _redis_cli(line, argv[1:])
    if program == "curl":
        return _curl(line, argv[1:])
    raise NotRunnable(f"{argv[0]!r} is not a command warroom answers read-only")


def classify(lang: str, code: str) -> list[Probe]:
    """Every probe of a block, or NotRunnable naming the first thing that is not one."""
    lang = lang.lower()
    if lang in ("sql", "postgres", "postgresql", "psql"):
        return [Probe("sql", statement, {"sql": statement}) for statement in readonly_sql(code)]
    if lang in ("promql", "prometheus"):
        query = code.strip()
        if not query:
            raise NotRunnable("empty PromQL query")
        return [Probe("prometheus", query, {"query": query})]
    if lang in ("bash", "sh", "shell", "console", "zsh", ""):
        lines = commands(code)
        if not lines:
            raise NotRunnable("no command in the block")
        probes = []
        for line in lines:
            try:
                probes.append(classify_line(line))
            except NotRunnable as exc:
                raise NotRunnable(f"{line}: {exc}") from None
        return probes
    raise NotRunnable(f"a {lang} block is not something warroom runs")


# --- kubectl ---------------------------------------------------------------------------------

_KUBE_FLAGS_WITH_VALUE = {"-n": "namespace", "--namespace": "namespace", "-l": "selector",
                          "--selector": "selector", "-c": "container", "--container": "container",
                          "--tail": "tail", "--context": "context", "-o": "output", "--output": "output",
                          "--sort-by": "sort_by", "--field-selector": "field_selector", "--since": "since"}
_KUBE_SWITCHES = {"-p": "previous", "--previous": "previous", "-A": "all_namespaces",
                  "--all-namespaces": "all_namespaces", "--containers": "containers"}
_DEPLOYMENT = ("deployment", "deployments", "deploy", "deployment.apps", "deployments.apps")


def _kube_args(argv: list[str]) -> tuple[list[str], dict]:
    positional, flags = [], {}
    it = iter(argv)
    for word in it:
        if word.startswith("-"):
            name, eq, value = word.partition("=")
            if name in _KUBE_FLAGS_WITH_VALUE:
                if not eq:
                    value = next(it, "")
                    if not value:
                        raise NotRunnable(f"{name} needs a value")
                flags[_KUBE_FLAGS_WITH_VALUE[name]] = value
            elif word in _KUBE_SWITCHES:
                flags[_KUBE_SWITCHES[word]] = True
            else:
                raise NotRunnable(f"kubectl option {name} is not one warroom answers")
        else:
            positional.append(word)
    if flags.get("all_namespaces"):
        raise NotRunnable("--all-namespaces: a runbook step reads its own namespace")
    if "tail" in flags:
        try:
            flags["tail"] = int(flags["tail"])
        except ValueError:
            raise NotRunnable(f"--tail {flags['tail']!r} is not a number") from None
    return positional, flags


def _resource(words_: list[str], what: tuple[str, ...]) -> str | None:
    """``deployment/api`` or ``deployment api`` -> "api"; None when no name is given."""
    if not words_:
        return None
    first = words_[0]
    kind, slash, name = first.partition("/")
    if kind.lower() not in what:
        raise NotRunnable(f"{first!r}: only {what[0]} is read here")
    if slash:
        return name or None
    return words_[1] if len(words_) > 1 else None


def _kubectl(line: str, argv: list[str]) -> Probe:
    positional, flags = _kube_args(argv)
    verb = positional[0] if positional else ""
    rest = positional[1:]
    if verb == "rollout" and rest[:1] and rest[0] in ("history", "status"):
        name = _resource(rest[1:], _DEPLOYMENT)
        if name is None:
            raise NotRunnable(f"rollout {rest[0]} names no deployment")
        return Probe("k8s.history" if rest[0] == "history" else "k8s.status", line, {**flags, "deployment": name})
    if verb == "get" and rest:
        what = rest[0].split("/")[0].lower()
        if what in _DEPLOYMENT:
            return Probe("k8s.status", line, {**flags, "deployment": _resource(rest, _DEPLOYMENT)})
        if what in ("pods", "pod", "po"):
            return Probe("k8s.pods", line, {**flags, "pod": _resource(rest, ("pod", "pods", "po"))})
        if what in ("events", "event", "ev"):
            return Probe("k8s.events", line, flags)
    if verb == "describe" and rest:
        what = rest[0].split("/")[0].lower()
        if what in _DEPLOYMENT:
            return Probe("k8s.status", line, {**flags, "deployment": _resource(rest, _DEPLOYMENT),
                                              "events": True})
        if what in ("pods", "pod", "po"):
            return Probe("k8s.pods", line, {**flags, "pod": _resource(rest, ("pod", "pods", "po")),
                                            "events": True})
    if verb == "logs" and rest:
        target = rest[0]
        kind, slash, name = target.partition("/")
        if slash and kind.lower() in _DEPLOYMENT:
            return Probe("k8s.logs", line, {**flags, "deployment": name})
        if slash and kind.lower() not in ("pod", "pods", "po"):
            raise NotRunnable(f"logs of {target!r}: a pod or a deployment")
        return Probe("k8s.logs", line, {**flags, "pod": name if slash else target})
    if verb == "top" and rest:
        what = rest[0].lower()
        if what in ("pods", "pod", "po"):
            return Probe("k8s.top_pods", line, {**flags, "pod": rest[1] if len(rest) > 1 else None})
        if what in ("nodes", "node", "no"):
            return Probe("k8s.top_nodes", line, flags)
    raise NotRunnable(f"kubectl {' '.join(positional[:2])} is not a read warroom answers")


# --- redis-cli -------------------------------------------------------------------------------

REDIS_ALLOWED: dict[str, set[str] | None] = {
    "PING": None, "INFO": None, "DBSIZE": None, "TIME": None, "LASTSAVE": None, "ROLE": None,
    "LATENCY": {"LATEST", "HISTORY", "DOCTOR", "GRAPH", "HISTOGRAM"},
    "SLOWLOG": {"GET", "LEN"},
    "MEMORY": {"STATS", "DOCTOR", "USAGE", "MALLOC-STATS"},
    "CLIENT": {"LIST", "INFO", "GETNAME"},
    "TYPE": None, "TTL": None, "PTTL": None, "EXISTS": None, "STRLEN": None,
    "LLEN": None, "SCARD": None, "ZCARD": None, "HLEN": None,
}
"""Read-only commands (and subcommands) a Redis step may run; everything else is refused
(SET, DEL, FLUSH*, CONFIG, SHUTDOWN, DEBUG, EVAL, MODULE, ...)."""

_REDIS_OPTIONS = {"-h", "-p", "-a", "-n", "-u", "--user", "--pass", "-s"}
_REDIS_SWITCHES = {"--no-auth-warning", "--raw", "--no-raw", "-c", "--tls"}


def redis_command(argv: list[str]) -> list[str]:
    """``argv`` (a Redis command) if it is on the allowlist; NotRunnable otherwise."""
    if not argv:
        raise NotRunnable("redis-cli without a command is interactive")
    name = argv[0].upper()
    if name not in REDIS_ALLOWED:
        raise NotRunnable(f"Redis {name} is not on warroom's read-only list")
    subs = REDIS_ALLOWED[name]
    if subs is not None:
        sub = argv[1].upper() if len(argv) > 1 else ""
        if sub not in subs:
            raise NotRunnable(f"Redis {name} {sub or '(no subcommand)'} is not on warroom's read-only list")
    return argv


def _redis_cli(line: str, argv: list[str]) -> Probe:
    rest: list[str] = []
    latency = False
    it = iter(argv)
    for word in it:
        if word in _REDIS_OPTIONS:
            next(it, None)  # the configured check's server is used, not the one written here
        elif word in _REDIS_SWITCHES:
            continue
        elif word in ("--latency", "--latency-history"):
            latency = True
        elif word.startswith("-") and not rest:
            raise NotRunnable(f"redis-cli option {word} is not one warroom answers")
        else:
            rest.append(word)
    if latency:
        if rest:
            raise NotRunnable("--latency takes no command")
        return Probe("redis.latency", line, {"samples": 20})
    return Probe("redis", line, {"argv": redis_command(rest)})


# --- curl ------------------------------------------------------------------------------------

_CURL_SWITCHES = {"-s", "--silent", "-S", "--show-error", "-f", "--fail", "-L", "--location",
                  "-i", "--include", "-v", "--verbose", "-sS", "-fsS", "-sSL", "-fsSL", "-sL", "-fs"}
_CURL_IGNORED_VALUE = {"-o", "--output", "-w", "--write-out"}
_CURL_VALUE = {"-m": "timeout", "--max-time": "timeout", "--connect-timeout": "timeout", "-H": "header",
               "--header": "header"}


def _curl(line: str, argv: list[str]) -> Probe:
    url = None
    headers: list[str] = []
    timeout = None
    it = iter(argv)
    for word in it:
        if word in _CURL_SWITCHES:
            continue
        if word in _CURL_IGNORED_VALUE:
            value = next(it, "")
            if word in ("-o", "--output") and value != "/dev/null":
                raise NotRunnable("curl -o writes a file: warroom writes none")
            continue
        if word in _CURL_VALUE:
            value = next(it, "")
            if _CURL_VALUE[word] == "header":
                headers.append(value)
            else:
                timeout = value
            continue
        if word.startswith("-"):
            raise NotRunnable(f"curl option {word} is not one warroom answers (only a GET)")
        if url is not None:
            raise NotRunnable("curl with more than one URL")
        url = word
    if url is None or not re.match(r"^https?://", url, re.IGNORECASE):
        raise NotRunnable("curl needs one http:// or https:// URL")
    args: dict = {"url": url, "headers": headers}
    if timeout is not None:
        try:
            args["timeout"] = float(timeout)
        except ValueError:
            raise NotRunnable(f"timeout {timeout!r} is not a number") from None
    return Probe("http", line, args)


# --- SQL -------------------------------------------------------------------------------------

SQL_DENIED_NAMES = frozenset({
    "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "set_config", "pg_rotate_logfile",
    "pg_signal_backend", "pg_promote", "pg_switch_wal", "pg_create_restore_point", "pg_backup_start",
    "pg_backup_stop", "pg_start_backup", "pg_stop_backup", "pg_wal_replay_pause", "pg_wal_replay_resume",
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_file_write", "pg_file_rename",
    "pg_file_unlink", "pg_logdir_ls", "pg_notify", "pg_sleep", "pg_sleep_for", "pg_sleep_until",
    "nextval", "setval", "pg_logical_emit_message", "pg_log_backend_memory_contexts",
    "pg_import_system_collations", "pg_replication_origin_create", "pg_replication_origin_drop",
    "pg_replication_slot_advance", "pg_drop_replication_slot", "txid_current", "pg_current_xact_id",
    "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml",
    "cursor_to_xmlschema", "pg_catalog.set_config",
})
SQL_DENIED_PREFIXES = ("lo_", "dblink", "pg_advisory", "pg_try_advisory", "pg_write", "pg_stat_reset",
                       "pg_create_", "pg_copy_", "pg_drop_", "pg_file_", "pg_ls_", "pg_read_")
"""Functions that act outside the transaction (or read the server's files, or run SQL
given as a string). A READ ONLY transaction does not stop any of them: this list does."""

_WRITE_NODES = {"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "IntoClause", "LockingClause",
                "CopyStmt"}


def denied_function(name: str) -> bool:
    base = name.lower().rsplit(".", 1)[-1]
    return base in SQL_DENIED_NAMES or base.startswith(SQL_DENIED_PREFIXES)


def readonly_sql(code: str) -> list[str]:
    """Each statement of ``code``, as written, if every one is read-only; NotRunnable
    naming the first that is not (so nothing of the block runs)."""
    try:
        from pglast import parse_sql
        from pglast.parser import ParseError
    except ImportError:  # pragma: no cover - a dependency
        raise NotRunnable("pglast is not installed: SQL is not run") from None
    try:
        raws = parse_sql(code)
    except ParseError as exc:
        raise NotRunnable(f"SQL does not parse: {exc}") from None
    statements = []
    for raw in raws:
        start = raw.stmt_location or 0
        text = (code.encode("utf-8")[start:start + raw.stmt_len].decode("utf-8") if raw.stmt_len
                else code.encode("utf-8")[start:].decode("utf-8")).strip()
        _readonly_statement(raw.stmt, text)
        statements.append(text)
    if not statements:
        raise NotRunnable("no SQL statement in the block")
    return statements


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not line.strip().startswith("--")]
    first = lines[0].strip() if lines else text.strip()
    return first if len(first) <= 60 else first[:57] + "..."


def _readonly_statement(stmt, text: str) -> None:
    from pglast import ast

    kind = type(stmt).__name__
    shown = _first_line(text)
    if isinstance(stmt, ast.ExplainStmt):
        for option in stmt.options or ():
            if getattr(option, "defname", "").lower() == "analyze":
                value = getattr(option, "arg", None)
                if value is None or str(getattr(value, "sval", getattr(value, "boolval", "true"))).lower() not in (
                        "false", "off", "0"):
                    raise NotRunnable(f"EXPLAIN ANALYZE runs the statement: {shown}")
        if not isinstance(stmt.query, ast.SelectStmt):
            raise NotRunnable(f"EXPLAIN of a {type(stmt.query).__name__}: {shown}")
        _readonly_statement(stmt.query, text)
        return
    if isinstance(stmt, ast.VariableShowStmt):
        return
    if not isinstance(stmt, ast.SelectStmt):
        raise NotRunnable(f"not a SELECT, SHOW or EXPLAIN ({_statement_word(kind)}): {shown}")
    for node in _walk(stmt):
        name = type(node).__name__
        if name in _WRITE_NODES:
            what = {"IntoClause": "SELECT ... INTO", "LockingClause": "FOR UPDATE/SHARE"}.get(
                name, f"a data-modifying {_statement_word(name)}")
            raise NotRunnable(f"{what}: {shown}")
        if isinstance(node, ast.FuncCall):
            called = ".".join(part.sval for part in node.funcname)
            if denied_function(called):
                raise NotRunnable(f"calls {called}(), which acts outside the transaction: {shown}")
            if "." in called and not called.lower().startswith(("pg_catalog.", "information_schema.")):
                raise NotRunnable(f"calls {called}(), a function warroom does not know: {shown}")


def called_functions(sql: str) -> set[str]:
    """The names of the functions a (parsable) statement calls, as PostgreSQL resolves
    them (the parser has already folded unquoted names to lower case)."""
    from pglast import ast, parse_sql

    names = set()
    for raw in parse_sql(sql):
        for node in _walk(raw.stmt):
            if isinstance(node, ast.FuncCall):
                names.add(node.funcname[-1].sval)
    return names


def relations(sql: str) -> set[str]:
    """Every relation a (parsable) statement names, quoted for ``to_regclass`` (a view's
    definition runs when it is read: the caller vets it like the statement)."""
    from pglast import ast, parse_sql

    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    found = set()
    for raw in parse_sql(sql):
        for node in _walk(raw.stmt):
            if isinstance(node, ast.RangeVar) and node.relname:
                found.add(".".join(quoted(part) for part in (node.schemaname, node.relname) if part))
    return found


def _statement_word(kind: str) -> str:
    return re.sub(r"Stmt$", "", kind).upper() or kind


def _walk(node):
    """Every pglast node below ``node`` (itself included)."""
    from pglast import ast

    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (list, tuple)):
            stack.extend(current)
            continue
        if not isinstance(current, ast.Node):
            continue
        yield current
        for attr in current:  # a pglast node iterates over its attribute names
            stack.append(getattr(current, attr, None))
