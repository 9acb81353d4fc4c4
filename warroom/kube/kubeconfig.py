"""Which cluster, user and namespace kubectl would use: the kubeconfig files found the way
kubectl finds them, merged by kubectl's rules, and one context resolved from them.

kubectl's rules (client-go's clientcmd loader), checked against kubectl 1.32 in the tests:
an explicit file alone, else every existing file of $KUBECONFIG in order, else
~/.kube/config. The first file to set ``current-context`` wins; clusters, users and
contexts are merged by name and the first file to define a name wins, whole entry. A
relative path in an entry is relative to the file that entry came from.

The Python client's own merger lets the last file's current-context win, so warroom
resolves the context here and hands the client one context, one cluster and one user.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warroom.errors import WarroomError

IN_CLUSTER_HOST = "KUBERNETES_SERVICE_HOST"
IN_CLUSTER_PORT = "KUBERNETES_SERVICE_PORT"
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
IN_CLUSTER = "(in-cluster)"
SECTIONS = ("clusters", "users", "contexts")
# Fields holding a path, relative to the file that defines the entry (client-go's
# ResolveLocalPaths); an exec command only when it names a path, not a program on PATH.
CLUSTER_PATHS = ("certificate-authority",)
USER_PATHS = ("client-certificate", "client-key", "tokenFile")


class KubeUnavailable(WarroomError):
    """No usable kubeconfig, context, credentials or API server; ``summary`` is the line."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


@dataclass(frozen=True, slots=True)
class Entry:
    """One named cluster, user or context, and the file it came from."""

    name: str
    value: dict[str, Any]
    source: Path
    line: int


@dataclass(frozen=True, slots=True)
class Kubeconfig:
    """The merged kubeconfig: what kubectl sees."""

    files: tuple[Path, ...]
    current_context: str | None
    clusters: dict[str, Entry]
    users: dict[str, Entry]
    contexts: dict[str, Entry]

    @property
    def where(self) -> str:
        return os.pathsep.join(str(f) for f in self.files)


@dataclass(frozen=True, slots=True)
class Target:
    """What a context resolves to: the cluster (server URL), the user and the namespace a
    request will use. ``cluster``/``user`` are the entries' fields (paths made absolute);
    ``user_name`` None means the context names no user (anonymous by configuration)."""

    context: str
    server: str
    namespace: str | None
    cluster_name: str
    cluster: dict[str, Any] = field(default_factory=dict)
    user_name: str | None = None
    user: dict[str, Any] = field(default_factory=dict)
    files: tuple[Path, ...] = ()

    @property
    def in_cluster(self) -> bool:
        return self.context == IN_CLUSTER


# --- where kubectl looks ---------------------------------------------------------------------


def kubeconfig_files(kubeconfig: Path | None) -> list[Path] | None:
    """Like kubectl: the configured file, else the existing files of $KUBECONFIG, else
    ~/.kube/config; None means in-cluster."""
    if kubeconfig is not None:
        if not kubeconfig.exists():
            raise KubeUnavailable(f"kubeconfig {kubeconfig} not found")
        return [kubeconfig]
    env = os.environ.get("KUBECONFIG")
    if env:
        # As client-go: the listed files that exist, once each, never ~/.kube/config as well.
        listed = list(dict.fromkeys(Path(p).expanduser() for p in env.split(os.pathsep) if p))
        existing = [p for p in listed if p.exists()]
        if existing:
            return existing
        where = f"$KUBECONFIG ({env})"
    else:
        default = default_kubeconfig()
        if default.exists():
            return [default]
        where = str(default)
    if os.environ.get(IN_CLUSTER_HOST):
        return None
    raise KubeUnavailable(f"no kubeconfig: {where} not found and not running in a cluster")


def default_kubeconfig() -> Path:
    return Path.home() / ".kube" / "config"


def is_kubectl_default(kubeconfig: Path | None) -> bool:
    """Whether kubectl, run without --kubeconfig in this environment, reads this file."""
    if kubeconfig is None:
        return True
    return not os.environ.get("KUBECONFIG") and kubeconfig.expanduser().absolute() == default_kubeconfig()


# --- reading one file -----------------------------------------------------------------------


def read_document(path: Path) -> dict[str, Any]:
    """One kubeconfig file as a mapping ({} when empty); a YAML error names the file and
    the line."""
    import yaml  # PyYAML, which the kubernetes client requires; only a connection pays it

    from warroom.kube.yaml_lines import LineLoader

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeUnavailable(f"kubeconfig {path}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        document = yaml.load(text, Loader=LineLoader)  # noqa: S506 (a SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise KubeUnavailable(f"kubeconfig {path}{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise KubeUnavailable(f"kubeconfig {path}: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise KubeUnavailable(f"kubeconfig {path} line 1: not a kubeconfig (expected a mapping)")
    return document


def _entries(document: dict[str, Any], section: str, path: Path) -> list[Entry]:
    """The named entries of ``clusters``/``users``/``contexts``, each checked for shape."""
    from warroom.kube.yaml_lines import line_of

    items = document.get(section)
    if items is None:
        return []
    if not isinstance(items, list):
        raise KubeUnavailable(f"kubeconfig {path} line {line_of(document, section)}: {section} must be a list")
    body = section[:-1]  # "clusters" -> "cluster"
    entries = []
    for index, item in enumerate(items):
        line = line_of(item) if isinstance(item, dict) else line_of(document, section)
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise KubeUnavailable(f"kubeconfig {path} line {line}: {section}[{index}] has no name")
        value = item.get(body) or {}
        if not isinstance(value, dict):
            raise KubeUnavailable(f"kubeconfig {path} line {line}: {body} {name!r} must be a mapping")
        entries.append(Entry(name, dict(value), path, line))
    return entries


# --- kubectl's merge ---------------------------------------------------------------------------


def merge(files: list[Path]) -> Kubeconfig:
    """kubectl's merge of ``files`` in order: first current-context, first entry of a name."""
    current: str | None = None
    sections: dict[str, dict[str, Entry]] = {s: {} for s in SECTIONS}
    for path in files:
        document = read_document(path)
        current = current or _string(document.get("current-context")) or None
        for section in SECTIONS:
            for entry in _entries(document, section, path):
                sections[section].setdefault(entry.name, entry)
    return Kubeconfig(tuple(files), current, **sections)


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def resolve(config: Kubeconfig, context: str | None) -> Target:
    """The context named (else the current one) and its cluster, user and namespace."""
    name = context or config.current_context
    if not name:
        if not any((config.clusters, config.users, config.contexts)):
            raise KubeUnavailable(f"kubeconfig {config.where} is empty")
        raise KubeUnavailable(f"no current-context in kubeconfig {config.where}: name a context")
    ctx = config.contexts.get(name)
    if ctx is None:
        raise KubeUnavailable(f'kubeconfig context "{name}" not found in {config.where}')
    cluster_name = _string(ctx.value.get("cluster"))
    cluster = config.clusters.get(cluster_name)
    if cluster is None:
        what = f'cluster "{cluster_name}"' if cluster_name else "no cluster"
        raise KubeUnavailable(f'context "{name}" ({ctx.source} line {ctx.line}) names {what}'
                              + (f" not found in {config.where}" if cluster_name else ""))
    server = _string(cluster.value.get("server")).rstrip("/")
    if not server:
        raise KubeUnavailable(f'cluster "{cluster_name}" ({cluster.source} line {cluster.line}) has no server')
    user_name = _string(ctx.value.get("user")) or None
    user: dict[str, Any] = {}
    if user_name is not None:
        found = config.users.get(user_name)
        if found is None:
            # kubectl would go on anonymously: a misspelt user must not do that here.
            raise KubeUnavailable(f'user "{user_name}" of context "{name}" not found in {config.where}')
        user = _absolute(found.value, USER_PATHS, found.source)
        if isinstance(user.get("exec"), dict):
            user["exec"] = _absolute_command(user["exec"], found.source)
    return Target(name, server, _string(ctx.value.get("namespace")) or None, cluster_name,
                  _absolute(cluster.value, CLUSTER_PATHS, cluster.source), user_name, user, config.files)


def _absolute(entry: dict[str, Any], keys: tuple[str, ...], source: Path) -> dict[str, Any]:
    entry = dict(entry)
    for key in keys:
        value = entry.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            entry[key] = str(source.absolute().parent / value)
    return entry


def _absolute_command(exec_config: dict[str, Any], source: Path) -> dict[str, Any]:
    command = exec_config.get("command")
    if isinstance(command, str) and os.sep in command and not Path(command).is_absolute():
        return {**exec_config, "command": str(source.absolute().parent / command)}
    return exec_config


def locate(kubeconfig: Path | None, context: str | None) -> Target:
    """The Target kubectl would use with ``--kubeconfig``/``--context`` as given."""
    files = kubeconfig_files(kubeconfig)
    if files is None:
        return in_cluster_target()
    return resolve(merge(files), context)


def in_cluster_target() -> Target:
    """The pod's service account: the API server from the environment, the namespace
    from the service account's namespace file (kubectl's rule in a pod)."""
    host, port = os.environ.get(IN_CLUSTER_HOST, ""), os.environ.get(IN_CLUSTER_PORT, "443")
    host = f"[{host}]" if ":" in host else host
    try:
        namespace = (SERVICE_ACCOUNT / "namespace").read_text().strip() or None
    except OSError:
        namespace = None
    return Target(IN_CLUSTER, f"https://{host}:{port}", namespace, IN_CLUSTER)
