"""Kubernetes mitigations on one Deployment, made through the API the way kubectl makes
them: `rollout undo` (kubectl's rollback.go, step for step), `scale`, `rollout restart`,
`delete pod`, `set env`, `rollout pause|resume`.

Deployments and ReplicaSets are read as the server's JSON, not through the client's
models: a rollback writes a ReplicaSet's pod template back into the Deployment, and a
field the client's models do not know (a cluster newer than the client) must survive it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import shlex
from datetime import timezone
from typing import Any, Callable, Iterable

from warroom.actions.base import ActionFailed, Evidence, Mitigation, Outcome, Preview
from warroom.checks.kubernetes import controller_uid, failing_reason, pod_facts
from warroom.domain.clock import Clock, system_clock
from warroom.domain.durations import format_duration
from warroom.text import mask_text
from warroom.kube import (
    DEFAULT_NAMESPACE,
    KubeClient,
    KubeUnavailable,
    NoRevision,
    Obj,
    choose_revision,
    controller_of,
    digest,
    image_text,
    images,
    import_client,
    revision_of,
    rollback_patch,
    same_template,
    selector_query,
    template_diff,
)

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
MERGE_PATCH = "application/merge-patch+json"
LOG_LINES = 100
LOG_CONCURRENCY = 8  # log reads at once: evidence for 50 pods must not flood the API server


# --- helpers -------------------------------------------------------------------------------


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _named(objs: list[Obj], name: str) -> Obj | None:
    return next((o for o in objs if o["metadata"]["name"] == name), None)


def _revision(obj: Obj) -> int | None:
    return revision_of(obj["metadata"].get("annotations"))


def _revision_text(obj: Obj) -> str:
    revision = _revision(obj)
    return "unknown" if revision is None else str(revision)


def _for_evidence(obj: Obj) -> str:
    obj = copy.deepcopy(obj)
    obj.get("metadata", {}).pop("managedFields", None)  # noise: who wrote which field
    return json.dumps(obj, indent=2)


# --- what every Deployment action shares ----------------------------------------------------


class _DeploymentAction(Mitigation):
    """One Deployment through the shared KubeClient; API errors as one line."""

    VERB: tuple[str, ...] = ()  # the kubectl words, e.g. ("rollout", "undo")

    def __init__(self, config: Any, secrets: Iterable[str] = (), *,
                 clock: Clock = system_clock) -> None:
        super().__init__(config, secrets)
        self.configured_namespace: str | None = config.namespace
        self.namespace: str = config.namespace or DEFAULT_NAMESPACE
        """The configured namespace, else the context's (known once the kubeconfig is read),
        else "default": kubectl's rule."""
        self.deployment: str = config.deployment
        self.clock = clock
        self._kube = KubeClient(config.kubeconfig, config.context, timeout=self.timeout.total_seconds())

    @property
    def label(self) -> str:
        return f"deployment/{self.deployment} ({self.namespace})"

    @property
    def place(self) -> str:
        """What a preview acts on, cluster and context included: ``deployment/api
        (production) on context prod at https://api.prod.example:6443``."""
        return f"{self.label} on {self._kube.on()}"

    @property
    def missing(self) -> str:
        return f"deployment {self.deployment} not found in namespace {self.namespace}"

    def equivalent(self, *extra: str, words: tuple[str, ...] = ()) -> str:
        """The kubectl command line: VERB deployment/NAME -n NAMESPACE EXTRA, then --context
        and --kubeconfig where kubectl's defaults would not pick the same."""
        argv = ["kubectl", *(words or (*self.VERB, f"deployment/{self.deployment}")), "-n", self.namespace, *extra]
        return shlex.join(argv + self._kube.kubectl_flags())

    async def _apis(self) -> tuple[Any, Any]:
        try:
            apis = await self._kube.apis()
            self.namespace = await self._kube.namespace(self.configured_namespace)
        except KubeUnavailable as exc:
            raise ActionFailed(exc.summary) from None
        return apis

    async def _call(self, method: Callable, *args: Any, missing: str | None = None, **kwargs: Any) -> Any:
        """One API call; a 404 becomes ``missing`` when given; a 401 drops the client so
        the next call reloads the credentials."""
        try:
            return await method(*args, **kwargs)
        except Exception as exc:
            if self._kube.is_api_error(exc, 401):
                await self._kube.close()
            elif missing is not None and self._kube.is_api_error(exc, 404):
                raise ActionFailed(missing) from None
            raise

    async def _json(self, method: Callable, *args: Any, **kwargs: Any) -> Obj:
        response = await self._call(method, *args, **kwargs)
        return json.loads(response.raw_data)

    async def _read(self, apps: Any) -> Obj:
        return await self._json(apps.read_namespaced_deployment_with_http_info, self.deployment,
                                self.namespace, missing=self.missing)

    async def _replica_sets(self, apps: Any, deployment: Obj) -> list[Obj]:
        """The Deployment's ReplicaSets: its selector and its ControllerRef (another
        Deployment's ReplicaSets may carry the same labels)."""
        listed = await self._json(apps.list_namespaced_replica_set_with_http_info, self.namespace,
                                  label_selector=selector_query(deployment["spec"]["selector"]))
        uid = deployment["metadata"]["uid"]
        return [rs for rs in listed.get("items") or () if controller_of(rs) == uid]

    async def _pods(self, core: Any, deployment: Obj, replica_sets: list[Obj]) -> list[Any]:
        """The pods of the given ReplicaSets, by name."""
        listed = await self._call(core.list_namespaced_pod, self.namespace,
                                  label_selector=selector_query(deployment["spec"]["selector"]))
        uids = {rs["metadata"]["uid"] for rs in replica_sets}
        return sorted((p for p in listed.items if controller_uid(p) in uids), key=lambda p: p.metadata.name)

    def _refuse_paused(self, deployment: Obj) -> None:
        if deployment["spec"].get("paused"):
            raise ActionFailed(f"deployment {self.deployment} is paused: resume it first")

    def _state(self, deployment: Obj, replica_sets: Iterable[Obj] = ()) -> dict[str, Any]:
        revision = _revision(deployment) or max((_revision(rs) or 0 for rs in replica_sets), default=None)
        return {"revision": revision, "images": images(deployment["spec"]["template"])}

    # -- evidence --

    async def _logs(self, core: Any, pods: list[Any]) -> list[Evidence]:
        """Each pod's last LOG_LINES lines per container, and the previous instance's
        (where a crash-looping container's error is) for each restarted container."""
        limit = asyncio.Semaphore(LOG_CONCURRENCY)

        async def read(pod: str, container: str, previous: bool) -> str:
            async with limit:
                try:
                    return await self._call(core.read_namespaced_pod_log, pod, self.namespace,
                                            container=container, tail_lines=LOG_LINES, previous=previous)
                except (asyncio.CancelledError, KeyboardInterrupt):
                    raise
                except Exception as exc:  # one missing log must not lose the others
                    return f"(log unavailable: {self.describe(exc)})\n"

        async def one(pod: Any) -> Evidence:
            facts = pod_facts(pod)
            restarted = {s.name for s in pod.status.container_statuses or () if (s.restart_count or 0) > 0}
            wanted = [(c.name, previous) for c in pod.spec.containers
                      for previous in ((False, True) if c.name in restarted else (False,))]
            texts = await asyncio.gather(*(read(facts["name"], c, prev) for c, prev in wanted))
            state = facts["waiting_reason"] or facts["phase"]
            head = f"pod {facts['name']} ({state}, {_plural(facts['restarts'], 'restart')}, node {facts['node']})"
            parts = [head]
            for (container, previous), text in zip(wanted, texts):
                which = "previous instance, before the last restart" if previous else "current"
                parts.append(f"--- container {container} ({which}): last {LOG_LINES} lines ---")
                parts.append(text if text.endswith("\n") or not text else text + "\n")
            return Evidence(f"logs of pod {facts['name']}", "\n".join(parts),
                            {"pod": facts["name"], "facts": facts,
                             "logs": [{"container": c, "previous": p} for c, p in wanted]})

        return list(await asyncio.gather(*(one(p) for p in pods)))

    async def _logs_of_every_pod(self) -> list[Evidence]:
        apps, core = await self._apis()
        deployment = await self._read(apps)
        replica_sets = await self._replica_sets(apps, deployment)
        return await self._logs(core, await self._pods(core, deployment, replica_sets))

    # -- lifecycle and errors --

    async def prepare(self) -> None:
        # The client takes ~0.9 s to import: never a part of the API server's timeout.
        await import_client()

    async def close(self) -> None:
        await self._kube.close()

    def target_address(self) -> str:
        return self._kube.api_server()  # "API server host:port did not answer in 10s"

    def describe(self, exc: BaseException) -> str:
        text = exc.summary if isinstance(exc, ActionFailed) else self._kube.describe(exc)
        return mask_text(text, self.secrets)


# --- rollout undo ------------------------------------------------------------------------------


class Rollback(_DeploymentAction):
    """`kubectl rollout undo [--to-revision=N]`."""

    VERB = ("rollout", "undo")

    async def _world(self) -> tuple[Any, Obj, list[Obj], Obj]:
        apps, _ = await self._apis()
        deployment = await self._read(apps)
        replica_sets = await self._replica_sets(apps, deployment)
        try:
            target = choose_revision(replica_sets, self.config.to_revision, self.deployment)
        except NoRevision as exc:
            raise ActionFailed(str(exc)) from None
        self._refuse_paused(deployment)  # after the history, as kubectl checks it
        return apps, deployment, replica_sets, target

    async def preview(self) -> Preview:
        _, deployment, replica_sets, target = await self._world()
        current = self._state(deployment, replica_sets)
        to_revision = _revision(target)
        to_images = images(target["spec"]["template"])
        summary = (f"{self.place}: revision {current['revision']} {image_text(current['images'])} -> "
                   f"revision {to_revision} {image_text(to_images)}")
        extra = (f"--to-revision={self.config.to_revision}",) if self.config.to_revision else ()
        plan = {"patch": rollback_patch(deployment, target), "replicaset": target["metadata"]["name"],
                "from": current, "to": {"revision": to_revision, "images": to_images},
                "template_digest": digest(deployment["spec"]["template"])}
        noop = (f"current template already matches revision {to_revision}"
                if same_template(target["spec"]["template"], deployment["spec"]["template"]) else None)
        lines = tuple(template_diff(deployment["spec"]["template"], target["spec"]["template"]))
        return Preview(summary, self.equivalent(*extra), self.deployment, plan, noop=noop, lines=lines)

    async def evidence(self, preview: Preview) -> list[Evidence]:
        apps, core = await self._apis()
        deployment = await self._read(apps)
        replica_sets = await self._replica_sets(apps, deployment)
        target = preview.plan["replicaset"]
        # kubectl's FindNewReplicaSet: the oldest one whose template is the Deployment's.
        template = deployment["spec"]["template"]
        current = min((rs for rs in replica_sets if same_template(rs["spec"]["template"], template)),
                      key=lambda rs: rs["metadata"].get("creationTimestamp") or "", default=None)
        items = [Evidence(f"deployment/{self.deployment} (revision {_revision_text(deployment)})",
                          _for_evidence(deployment), {"kind": "Deployment", "name": self.deployment})]
        for role, rs in (("current", current), ("target", _named(replica_sets, target))):
            if rs is not None:
                name = rs["metadata"]["name"]
                items.append(Evidence(f"replicaset/{name} (revision {_revision_text(rs)}, {role})", _for_evidence(rs),
                                      {"kind": "ReplicaSet", "name": name, "role": role}))
        replaced = [rs for rs in replica_sets if rs["metadata"]["name"] != target]
        return items + await self._logs(core, await self._pods(core, deployment, replaced))

    async def execute(self, preview: Preview) -> Outcome:
        apps, deployment, _, _ = await self._world()
        if digest(deployment["spec"]["template"]) != preview.plan["template_digest"]:
            # Someone deployed (or rolled back) since the preview: what was confirmed is stale.
            raise ActionFailed(f"deployment {self.deployment} changed since the preview: preview it again")
        patched = await self._call(apps.patch_namespaced_deployment, self.deployment, self.namespace,
                                   preview.plan["patch"], missing=self.missing)
        after = {**preview.plan["to"], "images": [c.image for c in patched.spec.template.spec.containers]}
        summary = f"{self.label} rolled back to revision {after['revision']} ({image_text(after['images'])})"
        return Outcome(True, summary, before=preview.plan["from"], after=after)


# --- scale -------------------------------------------------------------------------------------


class Scale(_DeploymentAction):
    """`kubectl scale --replicas=N`: a merge patch of the scale subresource."""

    VERB = ("scale",)

    async def preview(self) -> Preview:
        apps, _ = await self._apis()
        scale = await self._call(apps.read_namespaced_deployment_scale, self.deployment, self.namespace,
                                 missing=self.missing)
        current, wanted = scale.spec.replicas or 0, self.config.replicas
        noop = f"already at {_plural(wanted, 'replica')}" if current == wanted else None
        return Preview(f"{self.place}: scale {current} -> {wanted} replicas",
                       self.equivalent(f"--replicas={wanted}"), self.deployment,
                       {"patch": {"spec": {"replicas": wanted}}, "from": current}, noop=noop)

    async def execute(self, preview: Preview) -> Outcome:
        apps, _ = await self._apis()
        scale = await self._call(apps.patch_namespaced_deployment_scale, self.deployment, self.namespace,
                                 preview.plan["patch"], _content_type=MERGE_PATCH, missing=self.missing)
        before, after = preview.plan["from"], scale.spec.replicas
        return Outcome(True, f"{self.label} scaled from {before} to {after} replicas",
                       before={"replicas": before}, after={"replicas": after})


# --- rollout restart ----------------------------------------------------------------------------


class Restart(_DeploymentAction):
    """`kubectl rollout restart`: a new restartedAt annotation on the pod template."""

    VERB = ("rollout", "restart")

    async def preview(self) -> Preview:
        apps, core = await self._apis()
        deployment = await self._read(apps)
        self._refuse_paused(deployment)
        self._stamps(deployment)
        replica_sets = await self._replica_sets(apps, deployment)
        pods = [p.metadata.name for p in await self._pods(core, deployment, replica_sets)]
        state = self._state(deployment, replica_sets)
        summary = (f"{self.place}: restart {_plural(len(pods), 'pod')} "
                   f"(revision {state['revision']}, {image_text(state['images'])})")
        return Preview(summary, self.equivalent(), self.deployment, {"state": state, "pods": pods},
                       lines=tuple(pods))

    def _stamps(self, deployment: Obj) -> tuple[str | None, str]:
        """The restartedAt the template has and the one a restart now would set (as kubectl:
        time.Now() in RFC 3339, to the second; here in UTC). The same value twice is no
        change, so kubectl refuses a second restart within the same second: so does this."""
        template_meta = deployment["spec"]["template"].get("metadata") or {}
        previous = (template_meta.get("annotations") or {}).get(RESTARTED_AT)
        stamp = self.clock().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if previous == stamp:
            raise ActionFailed(f"deployment {self.deployment}: a restart was already triggered within the past "
                               f"second (restartedAt {stamp}): wait before triggering another")
        return previous, stamp

    async def evidence(self, preview: Preview) -> list[Evidence]:
        return await self._logs_of_every_pod()

    async def execute(self, preview: Preview) -> Outcome:
        apps, _ = await self._apis()
        deployment = await self._read(apps)
        self._refuse_paused(deployment)
        previous, stamp = self._stamps(deployment)
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        await self._call(apps.patch_namespaced_deployment, self.deployment, self.namespace, patch,
                         missing=self.missing)
        return Outcome(True, f"{self.label} restarting ({_plural(len(preview.plan['pods']), 'pod')} to replace)",
                       before={**preview.plan["state"], "restartedAt": previous},
                       after={**preview.plan["state"], "restartedAt": stamp})


# --- delete pod ---------------------------------------------------------------------------------


def _pod_line(facts: dict[str, Any], why: str | None = None) -> str:
    why = why or facts["waiting_reason"] or ("not ready" if not facts["ready"] else facts["phase"])
    return f"{facts['name']} ({why}, {_plural(facts['restarts'], 'restart')})"


class DeletePod(_DeploymentAction):
    """Delete the configured pod of the Deployment, else its crash-looping or unready pods
    (its ReplicaSet makes new ones)."""

    async def preview(self) -> Preview:
        apps, core = await self._apis()
        deployment = await self._read(apps)
        replica_sets = await self._replica_sets(apps, deployment)
        pods = await self._pods(core, deployment, replica_sets)
        if self.config.pod:
            chosen = [p for p in pods if p.metadata.name == self.config.pod]
            if not chosen:
                await self._call(core.read_namespaced_pod, self.config.pod, self.namespace,
                                 missing=f"pod {self.config.pod} not found in namespace {self.namespace}")
                raise ActionFailed(f"pod {self.config.pod} does not belong to deployment {self.deployment}")
            facts = [pod_facts(p) for p in chosen]
            why = [None] * len(facts)
        else:
            facts, why = self._failing(pods)
        names = [f["name"] for f in facts]
        equivalent = self.equivalent(words=("delete", "pod", *(names or ["<none>"])))
        unready_for = format_duration(self.config.unready_for)
        noop = None if names else f"no failing pod in {self.label} (crash-looping, erroring, or unready for {unready_for})"
        lines = tuple(_pod_line(f, w) for f, w in zip(facts, why))
        summary = f"{self.place}: delete {_plural(len(names), 'pod')}"
        if facts:
            summary += f": {lines[0]}" + (f" (+{len(facts) - 1} more)" if len(facts) > 1 else "")
        return Preview(summary, equivalent, self.deployment, {"pods": names, "facts": facts}, noop=noop,
                       lines=lines)

    def _failing(self, pods: list[Any]) -> tuple[list[dict[str, Any]], list[str | None]]:
        """The pods to delete when none is named, and why each."""
        now = self.clock()
        chosen = []
        for pod in pods:
            if pod.metadata.deletion_timestamp:
                continue  # already going
            facts = pod_facts(pod)
            why = failing_reason(facts, now, self.config.unready_for)
            if why is not None:
                chosen.append((facts, why))
        return [f for f, _ in chosen], [w for _, w in chosen]

    async def evidence(self, preview: Preview) -> list[Evidence]:
        _, core = await self._apis()

        async def read(name: str) -> Any:
            try:
                return await self._call(core.read_namespaced_pod, name, self.namespace)
            except Exception as exc:
                if self._kube.is_api_error(exc, 404):
                    return None  # gone since the preview: nothing left to keep
                raise

        found = await asyncio.gather(*(read(name) for name in preview.plan["pods"]))
        return await self._logs(core, [pod for pod in found if pod is not None])

    async def execute(self, preview: Preview) -> Outcome:
        _, core = await self._apis()
        deleted, gone = [], []
        for name in preview.plan["pods"]:
            try:
                await self._call(core.delete_namespaced_pod, name, self.namespace)
                deleted.append(name)
            except Exception as exc:
                if not self._kube.is_api_error(exc, 404):
                    raise
                gone.append(name)  # deleted meanwhile (by its node, or by someone else)
        summary = f"deleted {_plural(len(deleted), 'pod')} of {self.label}"
        if deleted:
            summary += f": {', '.join(deleted)}"
        if gone:
            summary += f"; already gone: {', '.join(gone)}"
        return Outcome(True, summary, before={"pods": preview.plan["facts"]},
                       after={"deleted": deleted, "already_gone": gone})


# --- set env ------------------------------------------------------------------------------------


def _env_value(entry: Obj | None) -> str:
    """An env var as shown: its value, where it comes from, or unset."""
    if entry is None:
        return "unset"
    source = entry.get("valueFrom")
    if source:
        kind, ref = next(iter(source.items()))
        where = "/".join(str(ref.get(k)) for k in ("name", "key", "fieldPath", "resource") if ref.get(k))
        return f"from {kind} {where}".strip()
    return json.dumps(entry.get("value", ""))


class SetEnv(_DeploymentAction):
    """`kubectl set env deployment/NAME K=V ...`: every container and init container; a
    strategic-merge patch whose env lists merge by name. The preview and the plan hold the
    values as configured (``${VAR}`` unexpanded); the patch sent gets the real ones."""

    VERB = ("set", "env")

    def _changes(self, deployment: Obj) -> tuple[Obj, dict[str, dict[str, str]]]:
        expand = self.secrets.expand
        pod_spec = deployment["spec"]["template"].get("spec") or {}
        patch_spec: Obj = {}
        before: dict[str, dict[str, str]] = {}
        for field in ("containers", "initContainers"):
            for container in pod_spec.get(field) or ():
                current = {e["name"]: e for e in container.get("env") or ()}
                env = []
                for key, value in self.config.env.items():
                    entry = current.get(key)
                    if entry is not None and not entry.get("valueFrom") and entry.get("value", "") == expand(value):
                        continue
                    # A value replaces a valueFrom: both at once is invalid.
                    replaced = {"valueFrom": None} if entry and entry.get("valueFrom") else {}
                    env.append({"name": key, "value": value, **replaced})
                    before.setdefault(container["name"], {})[key] = _env_value(entry)
                if env:
                    patch_spec.setdefault(field, []).append({"name": container["name"], "env": env})
        return {"spec": {"template": {"spec": patch_spec}}}, before

    async def preview(self) -> Preview:
        apps, _ = await self._apis()
        deployment = await self._read(apps)
        patch, before = self._changes(deployment)
        env = self.config.env
        assignments = [f"{k}={v}" for k, v in env.items()]
        equivalent = mask_text(self.equivalent(*assignments), self.secrets)
        parts = []
        for key, value in env.items():
            olds = {c: old[key] for c, old in before.items() if key in old}
            if not olds:
                continue
            was = sorted(set(olds.values()))
            was_text = was[0] if len(was) == 1 else ", ".join(f"{v} in {c}" for c, v in olds.items())
            parts.append(f"{key}={json.dumps(value)} (was {was_text})")
        summary = mask_text(f"{self.place}: set env " + (", ".join(parts) or ", ".join(assignments)), self.secrets)
        lines = tuple(mask_text(f"{c}: {k} {old} -> {json.dumps(env[k])}", self.secrets)
                      for c, olds in before.items() for k, old in olds.items())
        noop = None if before else f"{', '.join(env)} already set on every container"
        return Preview(summary, equivalent, self.deployment, {"patch": patch, "before": before}, noop=noop,
                       lines=lines)

    async def evidence(self, preview: Preview) -> list[Evidence]:
        return await self._logs_of_every_pod()  # a new pod template replaces every pod

    async def execute(self, preview: Preview) -> Outcome:
        apps, _ = await self._apis()
        patch = copy.deepcopy(preview.plan["patch"])
        for containers in patch["spec"]["template"]["spec"].values():
            for container in containers:
                for entry in container["env"]:
                    entry["value"] = self.secrets.expand(entry["value"])
        patched = await self._call(apps.patch_namespaced_deployment, self.deployment, self.namespace,
                                   patch, missing=self.missing)
        spec = patched.spec.template.spec
        env = self.config.env

        def shown(e: Any) -> str:  # what was set is told as configured, never its value
            if e.value_from is not None:
                return "from a reference"
            value = e.value or ""
            return json.dumps(env[e.name] if value == self.secrets.expand(env[e.name]) else value)

        after = {c.name: {e.name: shown(e) for e in c.env or () if e.name in env}
                 for c in [*spec.containers, *(spec.init_containers or ())] if c.name in preview.plan["before"]}
        return Outcome(True, mask_text(f"{self.label}: env set on {', '.join(after)} (pods roll)", self.secrets),
                       before={"env": preview.plan["before"]}, after={"env": after})


# --- rollout pause / resume -----------------------------------------------------------------------


class _Pause(_DeploymentAction):
    PAUSED: bool

    async def preview(self) -> Preview:
        apps, _ = await self._apis()
        deployment = await self._read(apps)
        paused = bool(deployment["spec"].get("paused"))
        state = self._state(deployment)
        noop = (f"deployment {self.deployment} is already {'paused' if paused else 'running (not paused)'}"
                if paused == self.PAUSED else None)
        summary = (f"{self.place}: {self.VERB[1]} the rollout "
                   f"(revision {state['revision']}, {image_text(state['images'])})")
        return Preview(summary, self.equivalent(), self.deployment, {"paused": paused}, noop=noop)

    async def execute(self, preview: Preview) -> Outcome:
        apps, _ = await self._apis()
        patched = await self._call(apps.patch_namespaced_deployment, self.deployment, self.namespace,
                                   {"spec": {"paused": self.PAUSED}}, missing=self.missing)
        paused = bool(patched.spec.paused)
        return Outcome(paused == self.PAUSED, f"{self.label} {'paused' if paused else 'resumed'}",
                       before={"paused": preview.plan["paused"]}, after={"paused": paused})


class Pause(_Pause):
    """`kubectl rollout pause`."""

    VERB = ("rollout", "pause")
    PAUSED = True


class Resume(_Pause):
    """`kubectl rollout resume`."""

    VERB = ("rollout", "resume")
    PAUSED = False
