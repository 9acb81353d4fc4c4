"""Running a runbook step's read-only probes (warroom.domain.readonly) against the targets of
the checks the runbook names: the Kubernetes API through warroom.kube (never kubectl),
PostgreSQL in a READ ONLY transaction with a statement timeout, Redis commands on the
allowlist, a Prometheus instant query, an HTTP GET timed. No shell, no program, ever.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from warroom.domain.readonly import NotRunnable, Probe, called_functions, readonly_sql, redis_command, relations
from warroom.domain.runbook import Runbook
from warroom.errors import WarroomError, describe_error
from warroom.secrets import Secrets
from warroom.text import mask_text

STATEMENT_TIMEOUT_MS = 5000
"""Each SQL statement's limit (SET LOCAL statement_timeout)."""
MAX_ROWS = 200
FUNCTIONS_OUTSIDE_CATALOG = (
    "SELECT DISTINCT n.nspname, p.proname FROM pg_catalog.pg_proc p "
    "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
    "WHERE p.proname = ANY($1::text[]) AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "ORDER BY 1, 2")
VIEW_OF = (
    "SELECT n.nspname, c.relname, pg_catalog.pg_get_viewdef(c.oid) AS definition FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.oid = pg_catalog.to_regclass($1) AND c.relkind = 'v' "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema')")
LOG_TAIL = 100
KIND_OF_PROBE = {"sql": "postgres", "redis": "redis", "redis.latency": "redis", "prometheus": "prometheus"}


class ProbeFailed(WarroomError):
    """The probe ran and failed (refused connection, 404, a statement error): one line."""


@dataclass(frozen=True, slots=True)
class Targets:
    """The check configurations a runbook's steps run against, by kind."""

    checks: dict[str, Any]
    secrets: Secrets

    @classmethod
    def of(cls, runbook: Runbook, config: Any) -> Targets:
        by_name = {c.name: c for c in config.checks}
        found: dict[str, Any] = {}
        for kind in ("postgres", "redis", "kubernetes", "prometheus"):
            named = runbook.targets.get(kind)
            if named is not None:
                if named in by_name and by_name[named].kind == kind:
                    found[kind] = by_name[named]
                continue
            first = next((by_name[c] for c in runbook.checks if c in by_name and by_name[c].kind == kind), None)
            if first is not None:
                found[kind] = first
        return cls(found, config.secrets)

    def check(self, kind: str) -> Any:
        try:
            return self.checks[kind]
        except KeyError:
            raise NotRunnable(f"the runbook names no {kind} check to run this against") from None


def needed_kind(probe: Probe) -> str | None:
    if probe.kind.startswith("k8s."):
        return "kubernetes"
    return KIND_OF_PROBE.get(probe.kind)


async def run_probe(probe: Probe, targets: Targets) -> str:
    """The probe's output as text; ProbeFailed (one line) when it could not be answered."""
    kind = needed_kind(probe)
    check = targets.check(kind) if kind else None
    if probe.kind.startswith("k8s."):
        return await _kube(probe, check, targets.secrets)
    if probe.kind == "sql":
        return await _sql(probe.args["sql"], check, targets.secrets)
    if probe.kind in ("redis", "redis.latency"):
        return await _redis(probe, check, targets.secrets)
    if probe.kind == "prometheus":
        return await _prometheus(probe.args["query"], check, targets.secrets)
    if probe.kind == "http":
        return await _http(probe.args, targets.secrets)
    raise NotRunnable(f"no way to run a {probe.kind} probe")


# --- output helpers ------------------------------------------------------------------------


def table(headers: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """Rows as aligned columns, like psql's and kubectl's."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i].splitlines()[0] if r[i] else "") for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    for row in cells:
        lines.append("  ".join(v.replace("\n", "\\n").ljust(w) for v, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


# --- PostgreSQL ------------------------------------------------------------------------------


async def _sql(statement: str, check: Any, secrets: Secrets) -> str:
    import asyncpg

    from warroom.checks.postgres import dsn_passwords, dsn_target, explain_postgres_error

    dsn = secrets.expand(check.dsn)
    masks = secrets.also(*dsn_passwords(dsn))
    target = dsn_target(dsn)
    timeout = check.timeout.total_seconds()
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout,
                                     server_settings={"application_name": "warroom runbook"})
    except Exception as exc:
        raise ProbeFailed(mask_text(explain_postgres_error(exc, target, masks), masks)) from None
    try:
        # The parser's verdict is the first wall; a READ ONLY transaction the second: any
        # write that slipped through fails here and is rolled back.
        await conn.execute(f"BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        try:
            await vet(conn, statement)
            records = await conn.fetch(statement, timeout=timeout + STATEMENT_TIMEOUT_MS / 1000)
        finally:
            if not conn.is_closed():
                await conn.execute("ROLLBACK")
    except NotRunnable:
        raise
    except asyncpg.PostgresError as exc:
        raise ProbeFailed(mask_text(f"{target}: {exc}", masks)) from None
    except Exception as exc:
        raise ProbeFailed(mask_text(explain_postgres_error(exc, target, masks), masks)) from None
    finally:
        conn.terminate() if conn.is_closed() else await conn.close()
    if not records:
        return "(0 rows)"
    headers = list(records[0].keys())
    shown = records[:MAX_ROWS]
    text = table(headers, [list(r.values()) for r in shown])
    more = f", first {MAX_ROWS} shown" if len(records) > MAX_ROWS else ""
    return f"{text}\n({len(records)} row{'s' if len(records) != 1 else ''}{more})"


VIEW_DEPTH = 8


async def vet(conn: Any, statement: str, depth: int = 0, via: str = "") -> None:
    """What the parser cannot see from the text alone, looked up in this database inside
    the read-only transaction before the statement runs: a function of the database's own
    (not the server's built-ins) may do anything a READ ONLY transaction allows (signal a
    backend, reach another server); a view's definition runs when the view is read, so it
    must pass the same rules. NotRunnable names what was found."""
    names = sorted(called_functions(statement))
    own = await conn.fetch(FUNCTIONS_OUTSIDE_CATALOG, names) if names else []
    if own:
        raise NotRunnable(f"{via}calls " + ", ".join(f"{r['nspname']}.{r['proname']}()" for r in own)
                          + ": a function of this database's own, not one warroom knows")
    for relation in sorted(relations(statement)):
        row = await conn.fetchrow(VIEW_OF, relation)
        if row is None:
            continue
        view = f"view {row['nspname']}.{row['relname']}"
        if depth >= VIEW_DEPTH:
            raise NotRunnable(f"{via}reads {view}: views nested deeper than {VIEW_DEPTH}")
        try:
            readonly_sql(row["definition"])
        except NotRunnable as exc:
            raise NotRunnable(f"{via}reads {view}, whose definition is refused: {exc}") from None
        await vet(conn, row["definition"], depth + 1, f"{via}reads {view}, which ")


# --- Redis -----------------------------------------------------------------------------------


def _redis_text(value: Any, indent: str = "") -> str:
    if isinstance(value, bytes):
        return indent + value.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return "\n".join(f"{indent}{k}: {_redis_text(v).strip()}" if not isinstance(v, (dict, list)) else
                         f"{indent}{k}:\n{_redis_text(v, indent + '  ')}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        if not value:
            return f"{indent}(empty)"
        return "\n".join(_redis_text(v, indent + "  ") if isinstance(v, (list, tuple, dict)) else f"{indent}{_redis_text(v)}"
                         for v in value)
    return f"{indent}{value}"


async def _redis(probe: Probe, check: Any, secrets: Secrets) -> str:
    import redis.asyncio as aioredis

    from warroom.checks.redis import url_passwords, url_target

    url = secrets.expand(check.url)
    masks = secrets.also(*url_passwords(url))
    target = url_target(url)
    timeout = check.timeout.total_seconds()
    client = aioredis.Redis.from_url(url, single_connection_client=True, socket_connect_timeout=timeout,
                                     socket_timeout=timeout)
    try:
        if probe.kind == "redis.latency":
            samples = []
            for _ in range(int(probe.args.get("samples", 20))):
                started = time.perf_counter()
                await client.ping()
                samples.append((time.perf_counter() - started) * 1000)
            return (f"{target}: {len(samples)} PINGs: min {min(samples):.2f} ms, "
                    f"avg {sum(samples) / len(samples):.2f} ms, max {max(samples):.2f} ms")
        argv = redis_command(list(probe.args["argv"]))  # checked again where it is sent
        return _redis_text(await client.execute_command(*argv))
    except NotRunnable:
        raise
    except Exception as exc:
        raise ProbeFailed(mask_text(f"{describe_error(exc, target)}", masks)) from None
    finally:
        await client.aclose()


# --- HTTP and Prometheus -------------------------------------------------------------------


async def _http(args: dict, secrets: Secrets) -> str:
    import httpx

    url = args["url"]
    headers = {}
    for header in args.get("headers", ()):
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    timeout = float(args.get("timeout", 10.0))
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = await client.get(url, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
    except Exception as exc:
        from warroom.checks.http import describe_http_error

        raise ProbeFailed(mask_text(describe_http_error(exc, url), secrets)) from None
    body = response.text
    return (f"GET {url}: HTTP {response.status_code} in {elapsed:.1f} ms, {len(response.content)} bytes\n"
            f"{body}")


async def _prometheus(query: str, check: Any, secrets: Secrets) -> str:
    import httpx

    from warroom.checks.http import describe_http_error, split_credentials

    base, auth = split_credentials(secrets.expand(check.url.rstrip("/")))
    endpoint = base.rstrip("/") + "/api/v1/query"
    try:
        async with httpx.AsyncClient(timeout=check.timeout.total_seconds(), trust_env=False) as client:
            response = await client.get(endpoint, params={"query": query}, auth=auth)
    except Exception as exc:
        raise ProbeFailed(mask_text(describe_http_error(exc, endpoint), secrets)) from None
    try:
        body = response.json()
    except ValueError:
        raise ProbeFailed(f"HTTP {response.status_code} from {mask_text(endpoint, secrets)}: not Prometheus JSON") from None
    if body.get("status") != "success":
        raise ProbeFailed(f"query failed: {body.get('errorType', '')}: {body.get('error', 'no reason given')}")
    data = body.get("data", {})
    result = data.get("result", [])
    if data.get("resultType") == "scalar":
        return f"{query} = {result[1]}"
    if not result:
        return f"{query}: no data"
    lines = []
    for series in result:
        labels = ", ".join(f'{k}="{v}"' for k, v in sorted(series.get("metric", {}).items()))
        value = series.get("value", [None, "?"])[1]
        lines.append(f"{{{labels}}} {value}")
    return "\n".join(lines)


# --- Kubernetes --------------------------------------------------------------------------------


async def _kube(probe: Probe, check: Any, secrets: Secrets) -> str:
    from warroom.kube import KubeClient, KubeUnavailable

    if probe.args.get("context") and probe.args["context"] != check.context:
        raise NotRunnable(f"--context {probe.args['context']}: the runbook's cluster is its kubernetes "
                          f"check's ({check.context or 'the current context'})")
    kube = KubeClient(check.kubeconfig, check.context, timeout=check.timeout.total_seconds())
    try:
        apps, core = await kube.apis()
        namespace = probe.args.get("namespace") or await kube.namespace(check.namespace)
        return await _kube_read(probe, kube, apps, core, namespace)
    except (NotRunnable, ProbeFailed):
        raise
    except KubeUnavailable as exc:
        raise ProbeFailed(mask_text(exc.summary, secrets)) from None
    except Exception as exc:
        if kube.is_api_error(exc, 404):
            raise ProbeFailed(f"not found in namespace {probe.args.get('namespace') or check.namespace}: "
                              f"{kube.describe(exc)}") from None
        raise ProbeFailed(mask_text(kube.describe(exc), secrets)) from None
    finally:
        await kube.close()


async def _owned(apps: Any, core: Any, namespace: str, name: str) -> tuple[Any, list[Any], list[Any]]:
    from warroom.checks.kubernetes import controller_uid
    from warroom.kube import selector_query

    deployment = await apps.read_namespaced_deployment(name, namespace)
    selector = selector_query(deployment.spec.selector.to_dict(serialize=True))
    replica_sets, pods = await asyncio.gather(apps.list_namespaced_replica_set(namespace, label_selector=selector),
                                              core.list_namespaced_pod(namespace, label_selector=selector))
    owned = [rs for rs in replica_sets.items if controller_uid(rs) == deployment.metadata.uid]
    uids = {rs.metadata.uid for rs in owned}
    return deployment, owned, [p for p in pods.items if controller_uid(p) in uids]


def _pods_table(pods: list[Any]) -> str:
    from warroom.checks.kubernetes import pod_facts

    facts = [pod_facts(p) for p in sorted(pods, key=lambda p: p.metadata.name)]
    if not facts:
        return "no pods"
    return table(["NAME", "READY", "STATUS", "RESTARTS", "LAST TERMINATED", "NODE"],
                 [[f["name"], "yes" if f["ready"] else "no",
                   f["waiting_reason"] or f["terminated_reason"] or f["phase"], f["restarts"],
                   f["last_terminated_reason"] or "", f["node"] or ""] for f in facts])


async def _events(core: Any, namespace: str, names: set[str] | None = None) -> str:
    events = (await core.list_namespaced_event(namespace)).items
    if names is not None:
        events = [e for e in events if e.involved_object and (e.involved_object.name in names)]

    def when(event: Any) -> datetime:
        return (event.last_timestamp or event.event_time or event.first_timestamp
                or datetime.min.replace(tzinfo=timezone.utc))

    events = sorted(events, key=when)[-50:]
    if not events:
        return "no events"
    return table(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
                 [[when(e).strftime("%H:%M:%S") if when(e).year > 1 else "", e.type or "", e.reason or "",
                   f"{(e.involved_object.kind or '').lower()}/{e.involved_object.name}" if e.involved_object else "",
                   (e.message or "").strip()] for e in events])


async def _kube_read(probe: Probe, kube: Any, apps: Any, core: Any, namespace: str) -> str:
    from warroom.checks.kubernetes import history_entry, judge_rollout
    from warroom.kube import revision_of

    args = probe.args
    if probe.kind == "k8s.history":
        deployment, owned, _ = await _owned(apps, core, namespace, args["deployment"])
        current = revision_of(deployment.metadata.annotations)
        history = sorted((history_entry(rs) for rs in owned if revision_of(rs.metadata.annotations) is not None),
                         key=lambda h: h["revision"])
        rows = [[f"{h['revision']}{' (current)' if h['revision'] == current else ''}", ", ".join(h["images"]),
                 f"{h['ready']}/{h['replicas']}", (h["created"] or "")[:19]] for h in history]
        return f"deployment.apps/{args['deployment']} in {namespace}\n" + table(
            ["REVISION", "IMAGE", "READY", "CREATED"], rows)
    if probe.kind == "k8s.status":
        if not args.get("deployment"):
            deployments = (await apps.list_namespaced_deployment(namespace)).items
            return table(["NAME", "READY", "UP-TO-DATE", "AVAILABLE"],
                         [[d.metadata.name, f"{(d.status.ready_replicas or 0) if d.status else 0}/{d.spec.replicas}",
                           (d.status.updated_replicas or 0) if d.status else 0,
                           (d.status.available_replicas or 0) if d.status else 0] for d in deployments])
        deployment, owned, pods = await _owned(apps, core, namespace, args["deployment"])
        status = deployment.status
        rollout = judge_rollout(deployment)
        lines = [f"deployment.apps/{args['deployment']} in {namespace}: revision "
                 f"{revision_of(deployment.metadata.annotations)}, "
                 f"{(status.ready_replicas or 0) if status else 0}/{deployment.spec.replicas} ready, "
                 f"{(status.updated_replicas or 0) if status else 0} up to date, "
                 f"{(status.available_replicas or 0) if status else 0} available; rollout {rollout.phase}: "
                 f"{rollout.message}"]
        for condition in (status.conditions or ()) if status else ():
            lines.append(f"  {condition.type}={condition.status} {condition.reason or ''}: {condition.message or ''}")
        lines += ["", _pods_table(pods), "", "Events:",
                  await _events(core, namespace, {args["deployment"], *(rs.metadata.name for rs in owned),
                                                  *(p.metadata.name for p in pods)})]
        return "\n".join(lines)
    if probe.kind == "k8s.pods":
        if args.get("pod"):
            pods = [await core.read_namespaced_pod(args["pod"], namespace)]
        else:
            pods = (await core.list_namespaced_pod(namespace, label_selector=args.get("selector"))).items
        text = _pods_table(pods)
        if args.get("events"):
            text += "\n\nEvents:\n" + await _events(core, namespace, {p.metadata.name for p in pods})
        return text
    if probe.kind == "k8s.events":
        return await _events(core, namespace)
    if probe.kind == "k8s.logs":
        pod = args.get("pod")
        if not pod:
            _, _, pods = await _owned(apps, core, namespace, args["deployment"])
            if not pods:
                raise ProbeFailed(f"deployment {args['deployment']} has no pods in {namespace}")
            # kubectl picks one pod; the one that restarted most is the one worth reading.
            from warroom.checks.kubernetes import pod_facts

            pod = max((pod_facts(p) for p in pods), key=lambda f: (f["restarts"], f["name"]))["name"]
        tail = min(int(args.get("tail") or LOG_TAIL), 1000)
        log = await core.read_namespaced_pod_log(pod, namespace, container=args.get("container"), tail_lines=tail,
                                                 previous=bool(args.get("previous")))
        which = "previous container of " if args.get("previous") else ""
        return f"logs of {which}pod {pod} (last {tail} lines)\n{log or '(empty)'}"
    if probe.kind in ("k8s.top_pods", "k8s.top_nodes"):
        metrics = kube.k8s.CustomObjectsApi(kube.api_client)
        try:
            if probe.kind == "k8s.top_pods":
                answer = await metrics.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", namespace, "pods",
                                                                     label_selector=args.get("selector"))
            else:
                answer = await metrics.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
        except kube.k8s.ApiException as exc:
            if exc.status in (404, 503):
                raise ProbeFailed("the cluster serves no metrics.k8s.io (no metrics-server)") from None
            raise
        rows = []
        for item in answer.get("items", ()):
            usage: dict[str, Any] = item.get("usage") or {}
            if "containers" in item:
                cpu = [c.get("usage", {}).get("cpu", "") for c in item["containers"]]
                memory = [c.get("usage", {}).get("memory", "") for c in item["containers"]]
                usage = {"cpu": "+".join(cpu), "memory": "+".join(memory)}
            name = item.get("metadata", {}).get("name", "")
            if args.get("pod") and name != args["pod"]:
                continue
            rows.append([name, usage.get("cpu", ""), usage.get("memory", "")])
        return table(["NAME", "CPU", "MEMORY"], rows) if rows else "no metrics yet"
    raise NotRunnable(f"no way to run {probe.kind}")
