"""Action kinds by name, imported only when configured (the kubernetes client is heavy)."""

from __future__ import annotations

from typing import Iterable

from warroom.actions.base import Mitigation
from warroom.lazy import load

KINDS = {
    "kubernetes.rollback": "warroom.actions.kubernetes:Rollback",
    "kubernetes.scale": "warroom.actions.kubernetes:Scale",
    "kubernetes.restart": "warroom.actions.kubernetes:Restart",
    "kubernetes.delete_pod": "warroom.actions.kubernetes:DeletePod",
    "kubernetes.set_env": "warroom.actions.kubernetes:SetEnv",
    "kubernetes.pause": "warroom.actions.kubernetes:Pause",
    "kubernetes.resume": "warroom.actions.kubernetes:Resume",
    "postgres.cancel": "warroom.actions.postgres:CancelQueries",
    "postgres.terminate": "warroom.actions.postgres:TerminateQueries",
    "postgres.feature_flag": "warroom.actions.postgres:FeatureFlag",
    "redis.delete_pattern": "warroom.actions.redis:DeletePattern",
    "redis.flushdb": "warroom.actions.redis:FlushDb",
    "command": "warroom.actions.command:Command",
}


def build_action(config, secrets: Iterable[str] = ()) -> Mitigation:
    return load(KINDS[config.kind])(config, secrets)
