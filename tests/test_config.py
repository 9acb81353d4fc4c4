"""The configuration layer: discovery, validation, env substitution, errors, masked rendering."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from warroom.config import (
    ACTION_KINDS,
    CHANNEL_KINDS,
    CHECK_KINDS,
    Config,
    find_config,
    load_config,
    render_config,
)
from warroom.config.models import show
from warroom.domain.durations import format_duration, parse_duration
from warroom.domain.roles import Role
from warroom.domain.severity import PRESETS
from warroom.errors import ConfigError

EVERY_KIND = """
[incident]
id_prefix = "OPS"
user = "alice"
channel = "#incident-response"
bridge = "https://zoom.us/j/123"

[console]
theme = "warroom-light"
read_only = true
watch_interval = "1s"

[[check]]
name = "deploy-hook"
kind = "command"
argv = ["./healthy.sh"]

[[channel]]
name = "incidents"
kind = "slack"
token = "${SLACK_BOT_TOKEN}"
channel = "#incidents"

[[channel]]
name = "hook"
kind = "slack"
webhook_url = "https://hooks.slack.example/services/T/B/X"
severities = ["SEV1"]
moments = ["update"]

[[channel]]
name = "status"
kind = "statuspage"
api_key = "${STATUSPAGE_KEY}"
page_id = "p1"
component_ids = ["c1", "c2"]

[[channel]]
name = "pager"
kind = "pagerduty"
routing_key = "${PD_KEY}"

[[channel]]
name = "customers"
kind = "email"
host = "smtp.example.com"
username = "ops"
password = "${SMTP_PASSWORD}"
sender = "status@example.com"
to = ["list@example.com"]
customers = true

[[channel]]
name = "everything"
kind = "webhook"
url = "https://hooks.example.com/warroom"
headers = { Authorization = "Bearer ${HOOK_TOKEN}" }

[[channel]]
name = "tickets"
kind = "jira"
url = "https://example.atlassian.net"
user = "ops@example.com"
token = "${JIRA_TOKEN}"
project = "OPS"

[[channel]]
name = "gh"
kind = "github"
token = "${GITHUB_TOKEN}"
repo = "acme/ops"

[[check]]
name = "api"
kind = "http"
url = "https://api.example.com/health"
method = "post"
headers = { Accept = "application/json" }
expect_status = [200, 204]
body_contains = "ok"
json_path = "status"
json_equals = "green"
warn_latency = "300ms"
critical_latency = "1s"
service = "api"
runbook = "https://runbooks.example.com/api"

[[check]]
name = "db"
kind = "postgres"
dsn = "postgresql://app@db:5432/app"
long_query = "2m"
warn_connections = 0.7
critical_connections = 1

[[check]]
name = "cache"
kind = "redis"
url = "rediss://cache:6380/0"
interval = "1m"
timeout = "2s"

[[check]]
name = "smtp"
kind = "tcp"
host = "mail.example.com"
port = 25

[[check]]
name = "cert"
kind = "tls"
host = "example.com"
warn_days = 30
critical_days = 7

[[check]]
name = "errors"
kind = "prometheus"
url = "http://prometheus:9090"
query = "sum(rate(http_requests_total{code=~'5..'}[5m]))"
warn = 1.0
critical = 5

[[check]]
name = "api-pods"
kind = "kubernetes"
deployment = "api"
context = "prod"
kubeconfig = "/etc/kube/config"

[[action]]
name = "rollback-api"
kind = "kubernetes.rollback"
namespace = "prod"
deployment = "api"
to_revision = 3
key = "r"
checks = ["api", "api-pods"]

[[action]]
name = "scale-api"
kind = "kubernetes.scale"
namespace = "prod"
deployment = "api"
replicas = 0

[[action]]
name = "restart-api"
kind = "kubernetes.restart"
namespace = "prod"
deployment = "api"

[[action]]
name = "kill-pod"
kind = "kubernetes.delete_pod"
namespace = "prod"
deployment = "api"
pod = "api-7d9f-abcde"

[[action]]
name = "disable-x"
kind = "kubernetes.set_env"
namespace = "prod"
deployment = "api"
env = { FEATURE_X = "off" }

[[action]]
name = "pause"
kind = "kubernetes.pause"
namespace = "prod"
deployment = "api"

[[action]]
name = "resume"
kind = "kubernetes.resume"
namespace = "prod"
deployment = "api"

[[action]]
name = "cancel-slow"
kind = "postgres.cancel"
dsn = "postgresql://app@db/app"
older_than = "30s"
application = "reports"

[[action]]
name = "kill-slow"
kind = "postgres.terminate"
dsn = "postgres://app@db/app"
database = "app"
user = "reporter"

[[action]]
name = "flag-off"
kind = "postgres.feature_flag"
dsn = "postgresql://app@db/app"
flag = "new_checkout"
table = "ops.flags"

[[action]]
name = "drop-cache"
kind = "redis.delete_pattern"
url = "redis://cache"
pattern = "user:*"
allowed_roles = ["IC", "tech_lead", "sme"]
timeout = "30s"

[[action]]
name = "flush"
kind = "redis.flushdb"
url = "redis://cache/1"
confirm_flushdb = true
risk = "medium"

[[action]]
name = "drain"
kind = "command"
argv = ["./drain.sh", "eu-1"]
timeout = "2m"
cwd = "/srv/ops"
description = "Drain eu-1"
"""


CHANNEL_SECRETS = ("SLACK_BOT_TOKEN", "STATUSPAGE_KEY", "PD_KEY", "SMTP_PASSWORD", "HOOK_TOKEN",
                   "JIRA_TOKEN", "GITHUB_TOKEN")


@pytest.fixture(autouse=True)
def channel_secrets(monkeypatch):
    """The channels of EVERY_KIND refer to these: each a distinct value, masked everywhere."""
    for n, var in enumerate(CHANNEL_SECRETS):
        monkeypatch.setenv(var, f"secret-{n}-{var.lower()}")


def write(tmp_path: Path, text: str, name: str = "warroom.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    # Discovery must never see the developer's own config or an inherited WARROOM_CONFIG.
    monkeypatch.delenv("WARROOM_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)


# --- defaults, severity --------------------------------------------------------------------


def test_defaults_without_a_file():
    config = load_config(None)
    assert config == Config()
    assert config.incident.id_prefix == "INC"
    assert config.severity.scheme == "sev1-4"
    assert config.policy is PRESETS["sev1-4"]
    assert config.console.theme == "warroom-dark"
    assert config.console.read_only is False
    assert config.console.watch_interval == timedelta(milliseconds=200)
    assert config.checks == [] and config.actions == []
    assert config.source is None and set(config.secrets) == set()


@pytest.mark.parametrize("scheme", sorted(PRESETS))
def test_each_preset(tmp_path, scheme):
    config = load_config(write(tmp_path, f'[severity]\nscheme = "{scheme}"\n'))
    assert config.policy is PRESETS[scheme]


def test_unknown_preset_lists_the_presets(tmp_path):
    message = error_for(tmp_path, '[severity]\nscheme = "sev9"\n')
    assert "severity.scheme" in message and '"sev9"' in message
    for name in PRESETS:
        assert name in message


def test_custom_scheme(tmp_path):
    config = load_config(write(tmp_path, """
[severity]
scheme = "house"
description = "our own"

[[severity.levels]]
name = "RED"
title = "Everything is on fire"
examples = ["site down"]
respond_within = "5m"
update_every = "10m"
escalate_after = "20m"
monitor_before_resolve = "30m"
resolve_within = "2h"
external_updates = "status page"
notify = [{ audience = "exec", within = "15m" }]
required_roles = ["incident commander", "scribe"]
postmortem_required = true

[[severity.levels]]
name = "AMBER"
title = "Degraded"
"""))
    policy = config.policy
    assert policy.name == "house" and policy.names == ["RED", "AMBER"]
    red, amber = policy.levels
    assert (red.rank, amber.rank) == (0, 1)
    assert red.respond_within == timedelta(minutes=5)
    assert red.resolve_within == timedelta(hours=2)
    assert red.notify[0].audience == "exec" and red.notify[0].within == timedelta(minutes=15)
    assert red.required_roles == (Role.IC, Role.SCRIBE)
    assert red.postmortem_required and not amber.postmortem_required
    assert policy.level("amber") is amber


def test_custom_level_names_are_unique_ignoring_case(tmp_path):
    message = error_for(tmp_path, """
[severity]
scheme = "house"
[[severity.levels]]
name = "RED"
[[severity.levels]]
name = "red"
""")
    assert "severity.levels[1].name" in message and "duplicate" in message


# --- every kind ----------------------------------------------------------------------------


def test_every_check_and_action_kind_parses(tmp_path):
    config = load_config(write(tmp_path, EVERY_KIND))
    assert {c.kind for c in config.checks} == set(CHECK_KINDS)
    assert {a.kind for a in config.actions} == set(ACTION_KINDS)
    assert {c.kind for c in config.channels} == set(CHANNEL_KINDS)
    slack, hook, status, pager, customers, webhook, jira, github = config.channels
    assert slack.token == "${SLACK_BOT_TOKEN}", "a credential is kept as written until it is sent"
    assert not slack.external and status.external and customers.external and not webhook.external
    assert [m.value for m in hook.used_at] == ["update"] and hook.used_for("SEV1") and not hook.used_for("SEV2")
    assert [m.value for m in pager.used_at] == ["declare", "escalation", "acknowledge", "resolve"]
    assert [r.value for r in status.publishers] == ["ic", "comms-lead"] and slack.publishers == ()
    assert config.channel("gh").repo == "acme/ops" and jira.project == "OPS"
    assert (config.incident.channel, config.incident.bridge) == ("#incident-response", "https://zoom.us/j/123")
    http = config.check("api")
    assert http.method == "POST" and http.expect_status == [200, 204]
    assert http.warn_latency == timedelta(milliseconds=300)
    assert config.check("cache").interval == timedelta(minutes=1)
    assert config.check("smtp").interval == timedelta(seconds=15)  # default
    assert config.check("cert").port == 443
    assert config.check("api-pods").namespace is None  # the context's, else "default", when used
    assert config.check("api-pods").kubeconfig == Path("/etc/kube/config")
    assert config.check("db").critical_connections == 1.0


def test_action_risk_defaults_per_kind(tmp_path):
    config = load_config(write(tmp_path, EVERY_KIND))
    risks = {a.name: a.risk for a in config.actions}
    assert risks == {
        "rollback-api": "medium", "scale-api": "low", "restart-api": "medium",
        "kill-pod": "medium", "disable-x": "medium", "pause": "medium", "resume": "medium",
        "cancel-slow": "medium", "kill-slow": "high", "flag-off": "high",
        "drop-cache": "high", "flush": "medium",  # explicitly lowered in the file
        "drain": "medium",
    }


def test_action_fields(tmp_path):
    config = load_config(write(tmp_path, EVERY_KIND))
    rollback = config.action("rollback-api")
    assert rollback.checks == ["api", "api-pods"] and rollback.key == "r"
    assert rollback.verify_window == timedelta(minutes=5)
    assert rollback.timeout == timedelta(seconds=10)  # every kind has one; this the default
    assert config.action("drop-cache").timeout == timedelta(seconds=30)
    assert rollback.allowed_roles == [Role.IC, Role.TECH_LEAD]
    assert config.action("drop-cache").allowed_roles == [Role.IC, Role.TECH_LEAD, Role.SME]
    assert config.action("cancel-slow").older_than == timedelta(seconds=30)
    assert config.action("kill-slow").older_than == timedelta(minutes=5)
    flag = config.action("flag-off")
    assert (flag.enable, flag.table, flag.name_column, flag.enabled_column) == (
        False, "ops.flags", "name", "enabled",
    )
    drain = config.action("drain")
    assert drain.argv == ["./drain.sh", "eu-1"] and drain.timeout == timedelta(minutes=2)


def test_config_is_frozen(tmp_path):
    config = load_config(write(tmp_path, EVERY_KIND))
    with pytest.raises(ValidationError, match="frozen"):
        config.console.read_only = False  # type: ignore[misc]


def test_every_field_has_a_docstring():
    """Each field of the config models is documented by the string under it (read from the
    source: the console does not pay pydantic to collect them at start-up)."""
    import ast
    import inspect

    from pydantic import BaseModel

    import warroom.config.channels as channels
    import warroom.config.models as models

    checked = 0
    for module in (models, channels):
        classes = {name for name, c in vars(module).items()
                   if isinstance(c, type) and issubclass(c, BaseModel) and c.__module__ == module.__name__}
        for node in ast.parse(inspect.getsource(module)).body:
            if not (isinstance(node, ast.ClassDef) and node.name in classes):
                continue
            body = node.body
            for at, statement in enumerate(body):
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
                        and not statement.target.id.startswith("_") and statement.target.id != "model_config":
                    following = body[at + 1] if at + 1 < len(body) else None
                    documented = isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) \
                        and isinstance(following.value.value, str)
                    assert documented, f"{module.__name__}.{node.name}.{statement.target.id} has no docstring"
                    checked += 1
    assert checked > 100


# --- errors --------------------------------------------------------------------------------


def test_unknown_key_names_the_table_and_the_key(tmp_path):
    message = error_for(tmp_path, """
[[action]]
name = "rollback-api"
kind = "kubernetes.rollback"
namespace = "prod"
deploymnet = "api"
""")
    assert message.startswith('warroom.toml: action[0] (rollback-api): unknown key "deploymnet"')
    assert 'did you mean "deployment"' in message


def test_unknown_top_level_table(tmp_path):
    message = error_for(tmp_path, '[consol]\ntheme = "x"\n')
    assert message.startswith('warroom.toml: unknown key "consol"')


def test_bad_duration(tmp_path):
    message = error_for(tmp_path, """
[[check]]
name = "a"
kind = "tcp"
host = "h"
port = 1

[[check]]
name = "b"
kind = "tcp"
host = "h"
port = 1

[[check]]
name = "c"
kind = "tcp"
host = "h"
port = 1
timeout = "fast"
""")
    assert message == (
        'warroom.toml: check[2].timeout: expected a duration like "500ms", "10s", "5m" or "1h", '
        'got "fast"'
    )


def test_a_number_is_not_a_duration(tmp_path):
    message = error_for(tmp_path, "[console]\nwatch_interval = 5\n")
    assert "console.watch_interval" in message and 'write "5s"' in message


def test_several_errors_are_counted(tmp_path):
    message = error_for(tmp_path, '[console]\nread_only = "yes"\nwatch_interval = "soon"\n')
    assert "console.read_only: expected true or false" in message
    assert message.endswith("(and 1 more)")


def test_strict_types(tmp_path):
    message = error_for(tmp_path, '[[check]]\nname = "a"\nkind = "tcp"\nhost = "h"\nport = "80"\n')
    assert 'check[0].port: expected an integer, got "80"' in message


def test_unknown_kind(tmp_path):
    message = error_for(tmp_path, '[[check]]\nname = "a"\nkind = "htp"\n')
    assert 'check[0].kind: unknown kind "htp"' in message and '"http"' in message


def test_table_instead_of_array_of_tables(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, '[check]\nname = "a"\n'))
    assert caught.value.hint == "write [[check]], not [check]"


def test_duplicate_check_names(tmp_path):
    message = error_for(tmp_path, """
[[check]]
name = "api"
kind = "tcp"
host = "h"
port = 80

[[check]]
name = "api"
kind = "http"
url = "http://h"
""")
    assert message == 'warroom.toml: check[1].name: duplicate check name "api" (also check[0])'


def test_empty_check_name(tmp_path):
    message = error_for(tmp_path, '[[check]]\nname = " "\nkind = "tcp"\nhost = "h"\nport = 1\n')
    assert "check[0].name: must not be empty" in message


def test_action_naming_an_unknown_check(tmp_path):
    message = error_for(tmp_path, """
[[check]]
name = "api"
kind = "tcp"
host = "h"
port = 80

[[action]]
name = "drain"
kind = "command"
argv = ["true"]
checks = ["api", "apii"]
""")
    assert 'action[0].checks[1]: unknown check "apii"' in message
    assert 'did you mean "api"' in message


def test_bad_identifier_for_feature_flag_table(tmp_path):
    message = error_for(tmp_path, """
[[action]]
name = "flag"
kind = "postgres.feature_flag"
dsn = "postgresql://db/app"
flag = "x"
table = "flags; DROP TABLE users"
""")
    assert "action[0].table: expected an SQL identifier" in message


CHECK = '[[check]]\nname = "a"\n'
ACTION = '[[action]]\nname = "a"\n'
DEPLOYMENT = 'namespace = "n"\ndeployment = "d"\n'


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('[incident]\nid_prefix = "inc"', "incident.id_prefix"),
        ('[incident]\nbridge = "zoom.us/j/1"', "incident.bridge: expected a http:// or https:// URL"),
        ('[incident]\nchannel = "#a\\nb"', "incident.channel: must not contain control characters"),
        (CHECK + 'kind = "http"\nurl = "ftp://h"', "check[0].url: expected a http:// or https:// URL"),
        (CHECK + 'kind = "redis"\nurl = "http://h"', "check[0].url: expected a redis://"),
        (CHECK + 'kind = "tls"\nhost = "h"\nwarn_days = 3\ncritical_days = 5', "check[0].critical_days"),
        (CHECK + 'kind = "tcp"\nhost = "h"\nport = 70000', "check[0].port: must be at most 65535"),
        (CHECK + 'kind = "postgres"\ndsn = "postgresql://h"\nwarn_connections = 1.5', "warn_connections"),
        (ACTION + 'kind = "kubernetes.scale"\nreplicas = -1\n' + DEPLOYMENT, "action[0].replicas"),
        (ACTION + 'kind = "kubernetes.set_env"\nenv = {}\n' + DEPLOYMENT, "action[0].env: must not be empty"),
        (ACTION + 'kind = "kubernetes.restart"\nnamespace = "n"', 'missing required key "deployment"'),
        (ACTION + 'kind = "redis.delete_pattern"\nurl = "redis://h"\npattern = "*"', "allow_all"),
        (ACTION + 'kind = "redis.flushdb"\nurl = "redis://h"', "confirm_flushdb"),
        (ACTION + 'kind = "command"\nargv = []', "action[0].argv"),
        (ACTION + 'kind = "command"\nargv = ["x"]\nrisk = "extreme"', 'expected "low", "medium" or "high"'),
        (ACTION + 'kind = "command"\nargv = ["x"]\nallowed_roles = ["boss"]', 'unknown role "boss"'),
    ],
)
def test_invalid_values(tmp_path, table, expected):
    message = error_for(tmp_path, table)
    assert message.startswith("warroom.toml: ") and expected in message


def test_redis_delete_all_allowed_when_asked(tmp_path):
    config = load_config(write(tmp_path, """
[[action]]
name = "nuke"
kind = "redis.delete_pattern"
url = "redis://h"
pattern = "*"
allow_all = true
"""))
    assert config.action("nuke").pattern == "*"


@pytest.mark.parametrize("pattern", ["*", "?*", "*?", "[a-z]*", "**", "?", "[c]ache:*", "*:session:*",
                                     "\\*x*"])
def test_a_redis_pattern_that_can_match_every_key_needs_allow_all(tmp_path, pattern):
    table = ACTION + 'kind = "redis.delete_pattern"\nurl = "redis://h"\npattern = ' + show(pattern)
    message = error_for(tmp_path, table)
    assert message == (f"warroom.toml: action[0].pattern: {show(pattern)} can match every key: start it "
                       "with the keys' literal prefix (what comes before any *, ?, [ or \\), e.g. "
                       '"cache:user:*"; set allow_all = true if every key is meant')
    assert load_config(write(tmp_path, table + "\nallow_all = true")).actions[0].pattern == pattern


@pytest.mark.parametrize("pattern", ["cache:*", "c?che:*", "session:[0-9]*", "exact-key"])
def test_a_redis_pattern_with_a_literal_prefix_is_accepted(tmp_path, pattern):
    table = ACTION + 'kind = "redis.delete_pattern"\nurl = "redis://h"\npattern = ' + show(pattern)
    assert load_config(write(tmp_path, table)).actions[0].pattern == pattern


def test_invalid_toml_reports_the_line(tmp_path):
    message = error_for(tmp_path, '[incident]\nid_prefix = "OPS"\n\nuser = = "x"\n')
    assert message.startswith("warroom.toml: line 4, column ")
    assert "invalid TOML" in message


@pytest.mark.parametrize("content", [b"\xff\xfe[incident]\n", None])
def test_unreadable_file(tmp_path, content):
    path = tmp_path / "warroom.toml"
    if content is None:
        path.mkdir()  # a directory where the file should be
    else:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"^warroom\.toml: "):
        load_config(path)


# --- environment substitution and masking ----------------------------------------------------


def test_missing_env_var(tmp_path, monkeypatch):
    monkeypatch.delenv("WARROOM_TEST_PW", raising=False)
    message = error_for(tmp_path, """
[[check]]
name = "db"
kind = "postgres"
dsn = "postgresql://app:${WARROOM_TEST_PW}@db/app"
""")
    assert message.startswith("warroom.toml: check[0].dsn: ")
    assert "WARROOM_TEST_PW" in message


def test_secret_substituted_and_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("WARROOM_TEST_TOKEN", "tok-9f8e7d6c")
    monkeypatch.setenv("WARROOM_TEST_PW", "hunter2-xyz")
    config = load_config(write(tmp_path, """
[[check]]
name = "api"
kind = "http"
url = "https://api.example.com/health"
headers = { Authorization = "Bearer ${WARROOM_TEST_TOKEN}" }

[[action]]
name = "flag"
kind = "postgres.feature_flag"
dsn = "postgresql://app:${WARROOM_TEST_PW}@db/app"
flag = "x"
description = "literal $${NOT_A_VAR} stays"
"""))
    # Where secrets go, the model keeps the template; only the adapter using it expands it.
    assert config.check("api").headers["Authorization"] == "Bearer ${WARROOM_TEST_TOKEN}"
    assert config.action("flag").dsn == "postgresql://app:${WARROOM_TEST_PW}@db/app"
    assert config.action("flag").description == "literal $${NOT_A_VAR} stays"
    assert set(config.secrets) == {"tok-9f8e7d6c", "hunter2-xyz"}
    assert config.secrets.expand(config.action("flag").dsn) == "postgresql://app:hunter2-xyz@db/app"
    assert config.secrets.expand(config.check("api").headers["Authorization"]) == "Bearer tok-9f8e7d6c"
    assert config.secrets.expand(config.action("flag").description) == "literal ${NOT_A_VAR} stays"
    text = render_config(config)
    assert "tok-9f8e7d6c" not in text and "hunter2-xyz" not in text
    assert 'Authorization = "Bearer ${WARROOM_TEST_TOKEN}"' in text
    assert "postgresql://app:${WARROOM_TEST_PW}@db/app" in text


def test_elsewhere_a_reference_is_plain_substitution(tmp_path, monkeypatch):
    # A namespace or a path from the environment is a setting, not a secret: expanded at
    # load, shown as it is, and not masked wherever the same text appears.
    monkeypatch.setenv("WARROOM_TEST_NS", "production")
    config = load_config(write(tmp_path, """
[[action]]
name = "restart"
kind = "kubernetes.restart"
namespace = "${WARROOM_TEST_NS}"
deployment = "api"
"""))
    assert config.action("restart").namespace == "production"
    assert set(config.secrets) == set()
    assert 'namespace = "production"' in render_config(config)


def test_every_field_that_takes_secrets_keeps_its_template(tmp_path, monkeypatch):
    monkeypatch.setenv("WARROOM_TEST_PW", "pw-4a7b")
    ref = "${WARROOM_TEST_PW}"
    config = load_config(write(tmp_path, f"""
[[check]]
name = "web"
kind = "http"
url = "https://u:{ref}@api.example.com/health"
headers = {{ X-Key = "{ref}" }}
body_contains = "{ref}"
[[check]]
name = "prom"
kind = "prometheus"
url = "http://u:{ref}@prom:9090"
query = "up"
[[check]]
name = "db"
kind = "postgres"
dsn = "postgresql://u:{ref}@db/app"
[[check]]
name = "cache"
kind = "redis"
url = "redis://:{ref}@cache:6379/0"
[[action]]
name = "cmd"
kind = "command"
argv = ["tool", "--password={ref}"]
env = {{ TOOL_PASSWORD = "{ref}" }}
description = "uses {ref}"
[[action]]
name = "env"
kind = "kubernetes.set_env"
namespace = "prod"
deployment = "api"
env = {{ TOKEN = "{ref}" }}
[[action]]
name = "cancel"
kind = "postgres.cancel"
dsn = "postgresql://u:{ref}@db/app"
[[action]]
name = "flag"
kind = "postgres.feature_flag"
dsn = "postgresql://u:{ref}@db/app"
flag = "x"
[[action]]
name = "purge"
kind = "redis.delete_pattern"
url = "redis://:{ref}@cache:6379/0"
pattern = "cache:*"
"""))
    assert "pw-4a7b" not in repr(config.model_dump())
    assert set(config.secrets) == {"pw-4a7b"}
    assert config.secrets.expand(config.action("cmd").argv[1]) == "--password=pw-4a7b"


def test_the_real_value_is_what_is_validated(tmp_path, monkeypatch):
    monkeypatch.setenv("WARROOM_TEST_URL", "https://api.example.com/health")
    config = load_config(write(tmp_path, '[[check]]\nname="a"\nkind="http"\nurl="${WARROOM_TEST_URL}"\n'))
    assert config.check("a").url == "${WARROOM_TEST_URL}"
    monkeypatch.setenv("WARROOM_TEST_URL", "ftp://api.example.com/")
    message = error_for(tmp_path, '[[check]]\nname="a"\nkind="http"\nurl="${WARROOM_TEST_URL}"\n')
    assert "check[0].url: expected a http:// or https:// URL" in message


def test_secret_never_echoed_in_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("WARROOM_TEST_URL", "notaurl-s3cr3t")
    message = error_for(tmp_path, '[[check]]\nname="a"\nkind="redis"\nurl="${WARROOM_TEST_URL}"\n')
    assert "check[0].url" in message and "s3cr3t" not in message


@pytest.mark.parametrize("toml", [
    '[[check]]\nname="a"\nkind="redis"\nurl="${WARROOM_TEST_LONG}"\n',
    '[[check]]\nname="a"\nkind="postgres"\ndsn="mysql://u:${WARROOM_TEST_LONG}@db/x"\n',
    '[[check]]\nname="a"\nkind="http"\nurl="http://h/"\ntimeout="x${WARROOM_TEST_LONG}"\n',
    '[incident]\nid_prefix="${WARROOM_TEST_LONG}"\n',
    '[[check]]\nname="a"\nkind="postgres"\ndsn="mysql://u:inline-password-that-is-long-enough-to-be-cut-in-the-message-of-the-error@db/x"\n',
])
def test_a_long_secret_is_masked_before_the_value_is_shortened(tmp_path, monkeypatch, toml):
    # A value is cut at 80 characters in a message: masking after the cut would miss the
    # secret and show its head.
    monkeypatch.setenv("WARROOM_TEST_LONG", "Z" * 30 + "canary-1c4f" + "Z" * 70)
    message = error_for(tmp_path, toml)
    assert "ZZZZZ" not in message and "canary" not in message and "inline-pass" not in message


def test_inline_dsn_password_masked(tmp_path):
    config = load_config(write(tmp_path, """
[[check]]
name = "db"
kind = "postgres"
dsn = "postgresql://app:inline-pw@db:5432/app"

[[check]]
name = "cache"
kind = "redis"
url = "redis://:r3dis-pw@cache:6379/0"
"""))
    text = render_config(config)
    assert "inline-pw" not in text and "r3dis-pw" not in text
    assert "postgresql://app:****@db:5432/app" in text
    assert "redis://:****@cache:6379/0" in text


# --- rendering -------------------------------------------------------------------------------


def test_render_is_toml_with_defaults_and_durations(tmp_path):
    config = load_config(write(tmp_path, EVERY_KIND))
    text = render_config(config)
    parsed = tomllib.loads(text)
    assert list(parsed) == ["incident", "severity", "console", "store", "check", "action", "channel"]
    assert "# levels: SEV1, SEV2, SEV3, SEV4" in text
    smtp = parsed["check"][4]
    assert smtp["interval"] == "15s" and smtp["timeout"] == "5s"
    assert parsed["console"]["watch_interval"] == "1s"
    assert parsed["action"][0]["verify_window"] == "5m"
    assert parsed["action"][0]["allowed_roles"] == ["ic", "tech-lead"]


def test_render_round_trips(tmp_path):
    config = load_config(write(tmp_path, EVERY_KIND))
    again = load_config(write(tmp_path, render_config(config), "again.toml"))
    assert again.model_dump() == config.model_dump()  # source differs, settings do not


def test_render_custom_levels_round_trip(tmp_path):
    config = load_config(write(tmp_path, """
[severity]
scheme = "house"
[[severity.levels]]
name = "RED"
notify = [{ audience = "exec", within = "15m" }]
required_roles = ["ic"]
[[severity.levels]]
name = "AMBER"
"""))
    text = render_config(config)
    assert "# levels: RED, AMBER" in text
    assert load_config(write(tmp_path, text, "again.toml")).policy == config.policy


def test_defaults_render():
    assert tomllib.loads(render_config(Config()))["severity"]["scheme"] == "sev1-4"


@pytest.mark.parametrize("text", ["500ms", "15s", "5m", "1h30m", "2d", "1m30s250ms", "1.5ms"])
def test_format_duration_inverts_parse(text):
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


# --- discovery -------------------------------------------------------------------------------


def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "xdg" / "warroom" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def test_discovery_nothing_found(tmp_path):
    assert find_config(None) is None


def test_discovery_order(tmp_path, monkeypatch):
    xdg = user_file(tmp_path)
    assert find_config(None) == xdg

    local = write(tmp_path, "")
    assert find_config(None).resolve() == local.resolve()

    env_file = write(tmp_path, "", "from-env.toml")
    monkeypatch.setenv("WARROOM_CONFIG", str(env_file))
    assert find_config(None) == env_file

    explicit = write(tmp_path, "", "explicit.toml")
    assert find_config(str(explicit)) == explicit


def test_discovery_cwd_is_used(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write(elsewhere, '[incident]\nid_prefix = "HERE"\n')
    monkeypatch.chdir(elsewhere)
    assert load_config(find_config(None)).incident.id_prefix == "HERE"


def test_explicit_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml"):
        find_config("nope.toml")


def test_warroom_config_missing_file(tmp_path, monkeypatch):
    write(tmp_path, "")  # a ./warroom.toml must not paper over the broken variable
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match="gone.toml"):
        find_config(None)
