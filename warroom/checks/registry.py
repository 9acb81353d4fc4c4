"""Check kinds by name, imported only when a configured check needs them (the kubernetes
client alone costs ~0.9 s of start-up)."""

from __future__ import annotations

from typing import Iterable

from warroom.checks.base import Check
from warroom.lazy import load
from warroom.secrets import Secrets

KINDS = {
    "http": "warroom.checks.http:HttpCheck",
    "tcp": "warroom.checks.tcp:TcpCheck",
    "tls": "warroom.checks.tls:TlsCheck",
    "prometheus": "warroom.checks.prometheus:PrometheusCheck",
    "postgres": "warroom.checks.postgres:PostgresCheck",
    "redis": "warroom.checks.redis:RedisCheck",
    "kubernetes": "warroom.checks.kubernetes:KubernetesCheck",
    "command": "warroom.checks.command:CommandCheck",
}


def build_check(config, secrets: Iterable[str] = ()) -> Check:
    return load(KINDS[config.kind])(config, secrets)


def build_checks(configs, secrets: Secrets | Iterable[str] = ()) -> list[Check]:
    secrets = Secrets.of(secrets)
    return [build_check(c, secrets) for c in configs]
