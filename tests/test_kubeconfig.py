"""Which cluster, context, user and namespace warroom uses, with kubectl 1.32 itself as the
oracle (`kubectl config view --minify`): its kubeconfig merge rules over several files in
both orders, an explicit file, --context; and a broken kubeconfig told with its file and
line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from warroom.kube import KubeUnavailable, locate
from warroom.kube.kubeconfig import is_kubectl_default

KUBECTL = shutil.which("kubectl")


@pytest.fixture
def kubectl(require) -> str:
    require(KUBECTL is not None, "kubectl is not installed (Debian: kubernetes-client)")
    return KUBECTL  # type: ignore[return-value]


@pytest.fixture(autouse=True)
def no_kube_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def kubeconfig(path: Path, *, current: str | None = None, clusters=(), users=(), contexts=()) -> Path:
    """A kubeconfig as JSON (which is YAML): ``clusters`` as (name, server, extra),
    ``users`` as (name, fields), ``contexts`` as (name, cluster, user, namespace)."""
    document = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": s, **extra}} for n, s, extra in clusters],
        "users": [{"name": n, "user": fields} for n, fields in users],
        "contexts": [{"name": n, "context": {"cluster": c, **({"user": u} if u else {}),
                                             **({"namespace": ns} if ns else {})}}
                     for n, c, u, ns in contexts],
    }
    if current:
        document["current-context"] = current
    path.write_text(json.dumps(document))
    return path


def kubectl_view(kubectl: str, env_kubeconfig: str | None, *flags: str) -> dict:
    """What kubectl resolves: context, server, user, namespace."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    if env_kubeconfig is not None:
        env["KUBECONFIG"] = env_kubeconfig
    out = subprocess.run([kubectl, "config", "view", "--minify", "--raw", "-o", "json", *flags], env=env,
                         capture_output=True, text=True, timeout=30, check=True).stdout
    view = json.loads(out)
    [context] = view["contexts"]
    [cluster] = view["clusters"]
    users = view.get("users") or []
    return {"context": context["name"], "server": cluster["cluster"]["server"],
            "user": context["context"].get("user"), "namespace": context["context"].get("namespace"),
            "user_fields": users[0]["user"] if users else {}}


def warroom_view(kubeconfig_path: Path | None, context: str | None) -> dict:
    target = locate(kubeconfig_path, context)
    return {"context": target.context, "server": target.server, "user": target.user_name,
            "namespace": target.namespace, "user_fields": target.user}


def layouts(tmp: Path) -> dict[str, list[Path]]:
    """Multi-file layouts where the files disagree."""
    a = kubeconfig(tmp / "a.yaml", current="a-ctx",
                   clusters=[("shared", "https://a.example:6443", {}), ("a-only", "https://a-only.example", {})],
                   users=[("alice", {"token": "from-a"}), ("shared-user", {"token": "user-from-a"})],
                   contexts=[("a-ctx", "shared", "alice", "payments"), ("both", "shared", "shared-user", None)])
    b = kubeconfig(tmp / "b.yaml", current="b-ctx",
                   clusters=[("shared", "https://b.example:6443", {"insecure-skip-tls-verify": True}),
                             ("b-only", "https://b-only.example", {})],
                   users=[("bob", {"token": "from-b"}), ("shared-user", {"token": "user-from-b"})],
                   contexts=[("b-ctx", "b-only", "bob", "checkout"), ("both", "b-only", "bob", "ns-b")])
    no_current = kubeconfig(tmp / "no-current.yaml",
                            clusters=[("c", "https://c.example", {})], users=[("carol", {"token": "c"})],
                            contexts=[("c-ctx", "c", "carol", None)])
    empty = tmp / "empty.yaml"
    empty.write_text("")
    # A context whose user is defined in another file: maps merge across files.
    split = kubeconfig(tmp / "split.yaml", current="split-ctx", clusters=[("s", "https://s.example", {})],
                       contexts=[("split-ctx", "s", "alice", "split-ns")])
    return {"two current-contexts": [a, b], "first has none": [no_current, b], "an empty file": [empty, a],
            "entries across files": [split, a], "three files": [no_current, a, b]}


@pytest.mark.parametrize("layout", ["two current-contexts", "first has none", "an empty file",
                                    "entries across files", "three files"])
@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_kubeconfig_files_merge_as_kubectl_merges_them(kubectl: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, layout: str, order: str):
    files = layouts(tmp_path)[layout]
    files = files if order == "as listed" else files[::-1]
    listed = os.pathsep.join(map(str, files))
    monkeypatch.setenv("KUBECONFIG", listed)
    contexts = {"a-ctx", "b-ctx", "both", "c-ctx", "split-ctx"}
    known = {c for f in files if f.read_text() for c in (x["name"] for x in json.loads(f.read_text())["contexts"])}

    assert warroom_view(None, None) == kubectl_view(kubectl, listed)
    for context in sorted(contexts & known):  # --context: the same entries, merged the same way
        assert warroom_view(None, context) == kubectl_view(kubectl, listed, f"--context={context}")


def test_the_first_file_sets_the_current_context_not_the_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The Python client's merger gets this wrong (the last file wins): the case that
    would roll back another cluster than the one kubectl shows."""
    a, b = layouts(tmp_path)["two current-contexts"]
    monkeypatch.setenv("KUBECONFIG", f"{a}{os.pathsep}{b}")
    assert warroom_view(None, None)["server"] == "https://a.example:6443"
    monkeypatch.setenv("KUBECONFIG", f"{b}{os.pathsep}{a}")
    target = locate(None, None)
    assert (target.context, target.server, target.namespace) == ("b-ctx", "https://b-only.example", "checkout")
    # "both" is defined in each file: the first file's entry, whole.
    assert warroom_view(None, "both")["server"] == "https://b-only.example"


def test_an_explicit_kubeconfig_is_read_alone(kubectl: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    a, b = layouts(tmp_path)["two current-contexts"]
    monkeypatch.setenv("KUBECONFIG", str(a))
    assert warroom_view(b, None) == kubectl_view(kubectl, str(a), f"--kubeconfig={b}")
    with pytest.raises(KubeUnavailable, match='^kubeconfig context "a-ctx" not found in .*b.yaml$'):
        locate(b, "a-ctx")


def test_missing_and_repeated_files_in_kubeconfig(kubectl: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    a, b = layouts(tmp_path)["two current-contexts"]
    listed = os.pathsep.join([str(tmp_path / "gone.yaml"), str(b), "", str(a), str(b)])
    monkeypatch.setenv("KUBECONFIG", listed)
    assert warroom_view(None, None) == kubectl_view(kubectl, listed)


def test_relative_paths_are_relative_to_the_file_that_names_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "conf").mkdir()
    path = kubeconfig(tmp_path / "conf" / "k.yaml", current="x",
                      clusters=[("x", "https://x.example", {"certificate-authority": "ca.pem"})],
                      users=[("u", {"tokenFile": "token", "exec": {"command": "./bin/auth"}})],
                      contexts=[("x", "x", "u", None)])
    monkeypatch.chdir(tmp_path)
    target = locate(Path("conf/k.yaml"), None)
    assert target.cluster["certificate-authority"] == str(path.parent.absolute() / "ca.pem")
    assert target.user["tokenFile"] == str(path.parent.absolute() / "token")
    assert target.user["exec"]["command"] == str(path.parent.absolute() / "bin" / "auth")


def test_equivalent_kubeconfig_flag_only_when_kubectl_would_read_another(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch):
    default = tmp_path / "home" / ".kube" / "config"
    assert is_kubectl_default(None) and is_kubectl_default(default)
    assert not is_kubectl_default(tmp_path / "other")
    monkeypatch.setenv("KUBECONFIG", str(default))
    assert not is_kubectl_default(default)  # the flag is what makes kubectl read it then


# --- a broken kubeconfig: the file and the line ----------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("apiVersion: v1\nclusters: [\n", r"line 3, column 1: expected the node content, but found '<stream end>'"),
    ("apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: \"https://a\n",
     r"line 7, column 1: found unexpected end of stream"),
    ("apiVersion: v1\nclusters: 3\n", r"line 2: clusters must be a list"),
    ("apiVersion: v1\nusers:\n- user: {token: x}\n", r"line 3: users\[0\] has no name"),
    ("apiVersion: v1\ncontexts:\n- name: c\n  context: oops\n", r"line 3: context 'c' must be a mapping"),
    ("- just\n- a list\n", r"line 1: not a kubeconfig \(expected a mapping\)"),
])
def test_a_malformed_kubeconfig_names_the_file_and_the_line(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(KubeUnavailable, match=f"^kubeconfig {path} {expected}$"):
        locate(path, None)


def test_an_empty_kubeconfig_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(KubeUnavailable, match=f"^kubeconfig {empty} is empty$"):
        locate(empty, None)
    no_current = kubeconfig(tmp_path / "k.yaml", clusters=[("c", "https://c", {})], contexts=[("c", "c", None, None)])
    with pytest.raises(KubeUnavailable, match=f"^no current-context in kubeconfig {no_current}: name a context$"):
        locate(no_current, None)


def test_a_context_naming_what_does_not_exist(tmp_path: Path):
    path = kubeconfig(tmp_path / "k.yaml", current="c", clusters=[("c", "https://c.example", {})],
                      contexts=[("c", "c", "nobody", None), ("d", "missing", None, None)])
    # kubectl would go on anonymously with a misspelt user: warroom refuses.
    with pytest.raises(KubeUnavailable, match=f'^user "nobody" of context "c" not found in {path}$'):
        locate(path, None)
    with pytest.raises(KubeUnavailable, match=f'^context "d" \\({path} line 1\\) names cluster "missing" not found'):
        locate(path, "d")
    serverless = kubeconfig(tmp_path / "s.yaml", current="c", clusters=[("c", "", {})], contexts=[("c", "c", None, None)])
    with pytest.raises(KubeUnavailable, match=f'^cluster "c" \\({serverless} line 1\\) has no server$'):
        locate(serverless, None)
