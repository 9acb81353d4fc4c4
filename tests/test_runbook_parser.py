"""The runbook parser on the guides' template (rewritten, same structure), on malformed files,
the read-only classifier (pglast for SQL, an allowlist for Redis, no shell ever) and the
matching of mitigation options to configured actions. Pure: no server needed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from warroom.domain.readonly import NotRunnable, classify
from warroom.domain.runbook import RunbookError, parse
from warroom.domain.runbook_options import ActionRef, match_options
from warroom.runbooks.library import load

# The guides' "Runbook Template", reworded, same headings, steps, blocks, Risk/ETA and
# escalation lines, with a front matter on top.
TEMPLATE = """\
---
services: [api]
checks: [api-p95, api-db]
postgres: api-db
actions:
  4: rate-limit-api
---
# Runbook: Slow API Responses

## Symptoms

- Alerts: `SlowResponses` firing
- Metrics: p95 above 2s for five minutes or more
- User impact: pages load slowly, clients time out

## Severity

SEV2 (SEV1 when checkout is affected)

## Investigation Steps

### 1. Look at Recent Deploys

```bash
kubectl rollout history deployment/api -n production
```

Deployed within the hour? A rollback is the first candidate.

### 2. Check Database Performance

```sql
-- slow queries
SELECT * FROM pg_stat_activity
WHERE state = 'active' AND now() - query_start > interval '5 seconds';

-- how many connections
SELECT count(*) FROM pg_stat_activity;
```

### 3. Check External Dependencies

```bash
# cache latency
redis-cli --latency

# a dependency's health
curl -w "@curl-format.txt" https://api.partner.example/health
```

### 4. Check Resource Use

```bash
# pods
kubectl top pods -n production

# nodes
kubectl top nodes
```

## Mitigation Options

### Option 1: Scale Up (Quick win)

```bash
kubectl scale deployment/api --replicas=10 -n production
```

**Risk**: Low
**ETA**: 2-3 minutes

### Option 2: Rollback Deployment

```bash
kubectl rollout undo deployment/api -n production
```

**Risk**: Medium (old bugs may come back)
**ETA**: 5 minutes

### Option 3: Restart Pods

```bash
kubectl rollout restart deployment/api -n production
```

**Risk**: Medium (connections dropped briefly)
**ETA**: 3-4 minutes

### Option 4: Enable Rate Limiting

```bash
# strict limits
kubectl apply -f rate-limit-strict.yaml
```

**Risk**: Low (legitimate users may be limited)
**ETA**: 1 minute

## Escalation

If not resolved in 30 minutes:

- Escalate to: @backend-team-lead
- Conference bridge: zoom.us/j/incident-room
- Slack channel: #incident-response

## Post-Incident

- [ ] Write postmortem
- [ ] Update this runbook
- [ ] Create follow-up tasks
"""


def test_the_guides_template_is_read_faithfully() -> None:
    book = parse("slow-api", TEMPLATE)
    assert book.name == "slow-api" and book.title == "Slow API Responses"
    assert book.services == ("api",) and book.checks == ("api-p95", "api-db")
    assert book.targets == {"postgres": "api-db"} and book.actions == {4: "rate-limit-api"}
    assert [s.number for s in book.steps] == [1, 2, 3, 4]
    assert book.step(2).title == "Check Database Performance"
    sql = book.step(2).blocks[0]
    assert sql.lang == "sql" and "SELECT count(*) FROM pg_stat_activity;" in sql.code
    assert "A rollback is the first candidate." in book.step(1).text
    assert [(o.number, o.title, o.risk, o.eta) for o in book.options] == [
        (1, "Scale Up (Quick win)", "Low", "2-3 minutes"),
        (2, "Rollback Deployment", "Medium (old bugs may come back)", "5 minutes"),
        (3, "Restart Pods", "Medium (connections dropped briefly)", "3-4 minutes"),
        (4, "Enable Rate Limiting", "Low (legitimate users may be limited)", "1 minute"),
    ]
    assert book.escalation is not None and book.escalation.after == timedelta(minutes=30)
    assert book.escalation.contacts == ("Escalate to: @backend-team-lead",
                                        "Conference bridge: zoom.us/j/incident-room",
                                        "Slack channel: #incident-response")
    assert book.post_incident == ("Write postmortem", "Update this runbook", "Create follow-up tasks")
    assert book.missing_sections() == []
    assert "p95 above 2s" in book.sections["symptoms"]


def test_the_template_steps_are_classified_read_only() -> None:
    book = parse("slow-api", TEMPLATE)
    kinds = [[p.kind for b in book.step(n).blocks for p in classify(b.lang, b.code)] for n in (1, 2, 3, 4)]
    # The guide's "Check Database Performance" holds two SELECTs: each runs on its own.
    assert kinds == [["k8s.history"], ["sql", "sql"], ["redis.latency", "http"], ["k8s.top_pods", "k8s.top_nodes"]]


@pytest.mark.parametrize("text, line, words", [
    ("---\nservices: [api]\n# no end\n", 1, "never closed"),
    ("---\nservices: [api\n---\n# R\n", 2, "front matter"),
    ("---\nservice: api\n---\n# R\n", 2, 'unknown key "service"'),
    ("---\nchecks: 3\n---\n# R\n", 2, "checks must be a list"),
    ("# R\n## Investigation Steps\n### Check things\n", 3, "has no number"),
    ("# R\n## Investigation Steps\n### 1. A\n### 1. B\n", 4, "a second step 1"),
    ("# R\n## Investigation Steps\n### 1. A\n```bash\nkubectl get pods\n", 4, "never closed"),
    ("# R\n## Escalation\nCall someone eventually.\n- @lead\n", 2, "says no time"),
    ("# R\n## Escalation\nIf not resolved in 30 minutes:\n", 2, "names no one"),
    ("---\nactions: {7: rollback-api}\n---\n# R\n## Mitigation Options\n### Option 1: x\n", 1, "no option 7"),
])
def test_a_malformed_runbook_names_its_line(text: str, line: int, words: str) -> None:
    with pytest.raises(RunbookError) as caught:
        parse("bad", text)
    assert caught.value.line == line and words in caught.value.message


def test_a_malformed_file_is_a_one_line_warning_and_the_others_load(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text(TEMPLATE)
    (tmp_path / "broken.md").write_text("# R\n## Investigation Steps\n### 1. A\n```sql\nSELECT 1\n")
    (tmp_path / "binary.md").write_bytes(b"# R\n\xff\xfe\n")
    (tmp_path / "notes.txt").write_text("not a runbook")
    library = load([tmp_path, tmp_path / "missing.md"])
    assert list(library.runbooks) == ["good"]
    assert sorted(library.warnings) == sorted([
        f"runbook {tmp_path / 'broken.md'}:4: code block opened with ``` is never closed",
        f"runbook {tmp_path / 'binary.md'}: not valid UTF-8 (byte 5)",
        f"runbook {tmp_path / 'missing.md'}: no such file or directory",
    ])
    assert all("\n" not in w for w in library.warnings)


@pytest.mark.parametrize("sql", [
    "UPDATE orders SET paid = true",
    "DELETE FROM orders",
    "DROP TABLE orders",
    "COPY orders TO PROGRAM 'rm -rf /tmp/x'",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
    "SELECT 1; DELETE FROM orders",
    "SELECT * FROM orders FOR UPDATE",
    "SELECT * INTO stolen FROM orders",
    "WITH gone AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM gone",
    "EXPLAIN ANALYZE DELETE FROM orders",
    "EXPLAIN ANALYZE SELECT 1",
    "SELECT set_config('statement_timeout', '0', false)",
    "SELECT pg_reload_conf()",
    "SELECT lo_import('/etc/passwd')",
    "SELECT * FROM dblink('host=x', 'DELETE FROM orders') AS t(a int)",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT nextval('orders_id_seq')",
    "SELECT pg_advisory_lock(1)",
    "SELECT query_to_xml('DELETE FROM orders', true, true, '')",
    "SELECT (SELECT pg_cancel_backend(1))",
    "SELECT public.anything()",
    "SELECT 1 FROM",
])
def test_sql_that_is_not_a_plain_read_is_refused(sql: str) -> None:
    with pytest.raises(NotRunnable):
        classify("sql", sql)


@pytest.mark.parametrize("sql", ["SELECT count(*) FROM pg_stat_activity", "SHOW max_connections",
                                 "EXPLAIN SELECT * FROM pg_class", "EXPLAIN (ANALYZE false) SELECT 1",
                                 "WITH a AS (SELECT 1 AS x) SELECT x FROM a"])
def test_plain_reads_are_accepted(sql: str) -> None:
    assert [p.kind for p in classify("sql", sql)] == ["sql"]


@pytest.mark.parametrize("line", [
    "rm -rf /tmp/x", "kubectl delete pod api-1 -n production", "kubectl get pods | grep api",
    "kubectl get pods; rm -rf /tmp/x", "kubectl logs $(kubectl get pods -o name)", "curl -X POST http://x/",
    "curl -d a=1 http://x/", "curl -o /tmp/out http://x/", "redis-cli FLUSHALL", "redis-cli DEL k",
    "redis-cli CONFIG SET maxmemory 1", "redis-cli CONFIG GET requirepass", "redis-cli DEBUG SLEEP 10",
    "redis-cli EVAL 'redis.call(\"del\",\"k\")' 0", "redis-cli", "kubectl apply -f x.yaml",
    "kubectl rollout undo deployment/api", "kubectl get pods -A", "kubectl exec api-1 -- sh",
    "bash -c 'kubectl get pods'", "sudo kubectl get pods", "kubectl get pods > /tmp/x",
])
def test_anything_but_a_known_read_is_shown_not_run(line: str) -> None:
    with pytest.raises(NotRunnable):
        classify("bash", line)


def test_options_match_configured_actions_by_command_or_name() -> None:
    book = parse("slow-api", TEMPLATE)
    actions = [ActionRef("rollback-api", "kubernetes.rollback", "production", "api"),
               ActionRef("scale-other", "kubernetes.scale", "production", "other"),
               ActionRef("restart-api-staging", "kubernetes.restart", "staging", "api"),
               ActionRef("rate-limit-api", "command")]
    matched = {m.option.number: m.action for m in match_options(book, actions)}
    # scale: another deployment's action is not this one; restart: another namespace's.
    assert matched == {1: None, 2: "rollback-api", 3: None, 4: "rate-limit-api"}
    # A front matter naming an action that is not configured says so.
    unconfigured = {m.option.number: m.why for m in match_options(book, actions[:1])}
    assert "no such [[action]]" in unconfigured[4] and unconfigured[1] == "not configured"


def test_a_runbook_wants_updating_when_a_step_was_skipped_or_a_mitigation_was_not_in_it() -> None:
    from datetime import datetime, timezone

    from warroom.domain.runbook_progress import Progress, Review, Tick, review_gaps

    at = datetime(2026, 12, 6, 3, 0, tzinfo=timezone.utc)
    review = Review("slow-api", "Slow API", ((1, "a"), (2, "b")), frozenset({"rollback-api"}))
    followed = Progress("slow-api", steps={1: Tick(1, "ran", "alice", at), 2: Tick(2, "ticked", "bob", at)})
    assert review_gaps(review, followed, ["rollback-api"]) == []
    partial = Progress("slow-api", steps={1: Tick(1, "ran", "alice", at), 2: Tick(2, "skipped", "bob", at)})
    assert review_gaps(review, partial, ["rollback-api", "flush-cache"]) == [
        "step 2 skipped", "flush-cache used but not among its options"]
