"""A runbook's mitigation options matched to the configured ``[[action]]``s (no I/O).

An option is the action its front matter names (``actions: {2: rollback-api}``), else the
Kubernetes action its kubectl command is: ``kubectl rollout undo deployment/api -n
production`` is the ``kubernetes.rollback`` action on Deployment api in production (an
action with no namespace takes the context's, so it matches any). An option that matches
nothing is shown with its risk and ETA and "not configured": it is never run as text.
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom.domain.readonly import NotRunnable, commands, words
from warroom.domain.runbook import Option, Runbook


@dataclass(frozen=True, slots=True)
class ActionRef:
    """What matching needs of a configured action."""

    name: str
    kind: str
    namespace: str | None = None
    deployment: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    option: Option
    action: str | None
    """The configured action's name; None: not configured."""
    why: str
    """How it matched, or why nothing did."""


_KUBECTL_KINDS = {("rollout", "undo"): "kubernetes.rollback", ("rollout", "restart"): "kubernetes.restart",
                  ("rollout", "pause"): "kubernetes.pause", ("rollout", "resume"): "kubernetes.resume",
                  ("scale",): "kubernetes.scale", ("set", "env"): "kubernetes.set_env",
                  ("delete", "pod"): "kubernetes.delete_pod", ("delete", "pods"): "kubernetes.delete_pod"}
_DEPLOYMENT_WORDS = ("deployment", "deployments", "deploy", "deployment.apps")


def kubectl_mitigation(line: str) -> tuple[str, str | None, str | None] | None:
    """``(action kind, deployment, namespace)`` of a kubectl mitigation line, else None."""
    try:
        argv = words(line)
    except NotRunnable:
        return None
    if not argv or argv[0].rsplit("/", 1)[-1] != "kubectl":
        return None
    namespace = None
    positional: list[str] = []
    it = iter(argv[1:])
    for word in it:
        if word in ("-n", "--namespace"):
            namespace = next(it, None)
        elif word.startswith("--namespace="):
            namespace = word.partition("=")[2]
        elif word.startswith("-"):
            continue
        else:
            positional.append(word)
    for prefix, kind in _KUBECTL_KINDS.items():
        if tuple(positional[:len(prefix)]) == prefix:
            rest = positional[len(prefix):]
            if kind == "kubernetes.delete_pod":
                return kind, None, namespace
            deployment = None
            if rest:
                res, slash, name = rest[0].partition("/")
                if res.lower() in _DEPLOYMENT_WORDS:
                    deployment = name if slash else (rest[1] if len(rest) > 1 else None)
            return kind, deployment, namespace
    return None


def match_option(runbook: Runbook, option: Option, actions: list[ActionRef]) -> Match:
    named = runbook.actions.get(option.number)
    if named is not None:
        if any(a.name == named for a in actions):
            return Match(option, named, "named in the front matter")
        return Match(option, None, f'not configured (the front matter names "{named}", no such [[action]])')
    for block in option.blocks:
        for line in commands(block.code):
            found = kubectl_mitigation(line)
            if found is None:
                continue
            kind, deployment, namespace = found
            for action in actions:
                if action.kind != kind:
                    continue
                if deployment and action.deployment and action.deployment != deployment:
                    continue
                if namespace and action.namespace and action.namespace != namespace:
                    continue
                return Match(option, action.name, f"{kind} on {action.deployment or deployment}")
    return Match(option, None, "not configured")


def match_options(runbook: Runbook, actions: list[ActionRef]) -> list[Match]:
    return [match_option(runbook, option, actions) for option in runbook.options]
