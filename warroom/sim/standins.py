"""Local stand-ins of the services warroom publishes to, on one loopback port: Slack's Web
API and an incoming webhook, Statuspage's REST API, PagerDuty's Events API v2 and a generic
webhook receiver. Each answers the documented requests with the documented answers
(Slack's ``ok: false`` with HTTP 200, Statuspage's 401 and 422, PagerDuty's 202 and 400
with its ``errors``), keeps what it was sent (the demo shows it; the tests read it), and can
be told to misbehave: answer late, be down, fail the next requests with a status, or hold
its answer after acting on a request (a client killed before it journaled the outcome).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

SERVICES = ("slack", "statuspage", "pagerduty", "webhook")
STATUSPAGE_STATUSES = ("investigating", "identified", "monitoring", "resolved")
PD_SEVERITIES = ("critical", "error", "warning", "info")
SLACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


@dataclass
class Received:
    """One request as it arrived."""

    service: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Fault:
    """The next answer to give instead of the real one (``status`` 0: no answer until
    released), or a pause before the real one (``delay``)."""

    status: int = 503
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Controls:
    down: bool = False
    """Answer 503 to everything."""
    faults: list[Fault] = field(default_factory=list)
    """Consumed in order, one per request."""
    latency: float = 0.0
    """Seconds before every answer (the bench's 150 ms)."""
    hold: bool = False
    """Act on each request that changes something (not a GET), then keep the answer until
    ``release()``."""
    gate: bool = False
    """Keep each request, without acting on it, until ``release()``; one whose client
    has gone by then is dropped unacted (a client killed before its request was taken)."""


class StandIns:
    """``await start()`` -> the base URL; ``api_url(service)`` is the base to configure."""

    def __init__(self, *, slack_token: str = "xoxb-standin", statuspage_key: str = "sp-standin",
                 page_id: str = "page1", routing_key: str = "R" * 32, host: str = "127.0.0.1") -> None:
        self.slack_token, self.statuspage_key, self.page_id, self.routing_key = (
            slack_token, statuspage_key, page_id, routing_key)
        self.host = host
        self.received: list[Received] = []
        self.controls = {s: Controls() for s in SERVICES}
        self.changed = asyncio.Event()
        """Set on each request (tests wait on it instead of sleeping)."""
        self._released = asyncio.Event()
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        # Slack
        self.slack_channels: dict[str, dict[str, Any]] = {
            "C0INCIDENTS": {"id": "C0INCIDENTS", "name": "incidents", "messages": []}}
        self.slack_update_error = ""
        """When set, ``chat.update`` answers ``ok: false`` with it (say ``cant_update_message``)."""
        # Statuspage: incident id -> incident
        self.status_incidents: dict[str, dict[str, Any]] = {}
        # PagerDuty: dedup_key -> {"status", "pages", "events"}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.pages = 0
        """Alerts that paged someone (a trigger of a key not already open)."""
        # Webhook: idempotency keys seen -> id
        self.hooks: dict[str, int] = {}
        self.hook_bodies: list[Any] = []
        self.dropped = 0
        """Requests dropped unacted because their client was gone (``gate``)."""
        self.gated: list[web.Request] = []
        """Requests kept by ``gate``, in order."""
        self._runner: web.AppRunner | None = None
        self.base = ""
        self.on_receive: Callable[[str], None] | None = None
        """Told one line for each thing a service did (the demo shows it in the console)."""

    # -- life -----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/slack/api/{method}", self._slack)
        app.router.add_post("/slack/hooks/{hook:.+}", self._slack_hook)
        app.router.add_get(r"/statuspage/v1/pages/{page}/incidents/unresolved", self._sp_unresolved)
        app.router.add_post("/statuspage/v1/pages/{page}/incidents", self._sp_create)
        app.router.add_patch("/statuspage/v1/pages/{page}/incidents/{id}", self._sp_update)
        app.router.add_post("/pagerduty/v2/enqueue", self._pd_enqueue)
        app.router.add_post("/webhook/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0).start()
        self.base = f"http://{self.host}:{self._runner.addresses[0][1]}"
        return self.base

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def api_url(self, service: str) -> str:
        return {"slack": f"{self.base}/slack/api", "statuspage": f"{self.base}/statuspage/v1",
                "pagerduty": f"{self.base}/pagerduty", "webhook": f"{self.base}/webhook/hook",
                "slack-webhook": f"{self.base}/slack/hooks/T0/B0/standin"}[service]

    def release(self) -> None:
        """Give every held answer, take every gated request, and stop holding."""
        for controls in self.controls.values():
            controls.hold = controls.gate = False
        self._released.set()

    def _heard(self, line: str) -> None:
        if self.on_receive is not None:
            self.on_receive(line.splitlines()[0][:120] if line else line)

    def config_toml(self) -> str:
        """``[[channel]]`` tables pointing a console at these stand-ins (the demo's)."""
        return f"""
[[channel]]
name = "slack"
kind = "slack"
token = "{self.slack_token}"
api_url = "{self.api_url('slack')}"

[[channel]]
name = "status-page"
kind = "statuspage"
api_key = "{self.statuspage_key}"
page_id = "{self.page_id}"
component_ids = ["api"]
api_url = "{self.api_url('statuspage')}"

[[channel]]
name = "pagerduty"
kind = "pagerduty"
routing_key = "{self.routing_key}"
api_url = "{self.api_url('pagerduty')}"

[[channel]]
name = "webhook"
kind = "webhook"
url = "{self.api_url('webhook')}"
"""

    def clients_gone(self) -> bool:
        """Whether every gated request's client has hung up (a killed process's socket)."""
        return all(r.transport is None or r.transport.is_closing() for r in self.gated)

    def of(self, service: str) -> list[Received]:
        return [r for r in self.received if r.service == service]

    # -- misbehaving --------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        service = request.path.split("/", 2)[1]
        body = await request.read()
        self.received.append(Received(service, request.method, request.path_qs, dict(request.headers), body))
        self.changed.set()
        controls = self.controls.get(service, Controls())
        if controls.gate:
            self.gated.append(request)
            self._released.clear()
            await self._released.wait()
            if request.transport is None or request.transport.is_closing():
                self.dropped += 1
                return web.Response(status=499)
        if controls.latency:
            await asyncio.sleep(controls.latency)
        if controls.down:
            return web.json_response({"error": "service unavailable"}, status=503)
        if controls.faults:
            fault = controls.faults.pop(0)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status == 0:
                await asyncio.Event().wait()  # never answers: the client's timeout is what ends it
            if fault.status:
                text = fault.body if isinstance(fault.body, str) else json.dumps(fault.body or {"error": "fault"})
                return web.Response(status=fault.status, text=text, headers=fault.headers,
                                    content_type="application/json")
        response = await handler(request)
        if controls.hold and request.method != "GET":
            self._released.clear()
            await self._released.wait()
        return response

    # -- Slack ------------------------------------------------------------------------------

    def _slack_channel(self, ref: str) -> dict[str, Any] | None:
        ref = ref.lstrip("#")
        return self.slack_channels.get(ref) or next(
            (c for c in self.slack_channels.values() if c["name"] == ref), None)

    async def _slack(self, request: web.Request) -> web.Response:
        def fail(error: str) -> web.Response:
            return web.json_response({"ok": False, "error": error})

        if request.headers.get("Authorization") != f"Bearer {self.slack_token}":
            return fail("not_authed" if "Authorization" not in request.headers else "invalid_auth")
        try:
            args = json.loads(await request.read() or b"{}")
        except ValueError:
            return fail("invalid_json")
        method = request.match_info["method"]
        if method == "conversations.create":
            name = str(args.get("name", ""))
            if not SLACK_NAME.match(name):
                return fail("invalid_name_specials")
            if self._slack_channel(name) is not None:
                return fail("name_taken")
            channel = {"id": f"C{next(self._ids):08d}", "name": name, "messages": []}
            self.slack_channels[channel["id"]] = channel
            return web.json_response({"ok": True, "channel": {"id": channel["id"], "name": name}})
        if method == "conversations.list":
            return web.json_response({"ok": True, "channels": [
                {"id": c["id"], "name": c["name"]} for c in self.slack_channels.values()],
                "response_metadata": {"next_cursor": ""}})
        if method == "chat.postMessage":
            channel = self._slack_channel(str(args.get("channel", "")))
            if channel is None:
                return fail("channel_not_found")
            text = args.get("text")
            if not text:
                return fail("no_text")
            if len(text) > 40000:
                return fail("msg_too_long")
            thread = args.get("thread_ts")
            if thread and not any(m["ts"] == thread for m in channel["messages"]):
                return fail("thread_not_found")
            ts = f"1700000000.{next(self._ts):06d}"
            channel["messages"].append({"ts": ts, "text": text, "thread_ts": thread})
            self._heard(f"Slack #{channel['name']}{' (thread)' if thread else ''}: {text}")
            return web.json_response({"ok": True, "channel": channel["id"], "ts": ts,
                                      "message": {"text": text, "ts": ts}})
        if method == "chat.update":
            channel = self._slack_channel(str(args.get("channel", "")))
            if channel is None:
                return fail("channel_not_found")
            if self.slack_update_error:
                return fail(self.slack_update_error)
            found = next((m for m in channel["messages"] if m["ts"] == args.get("ts")), None)
            if found is None:
                return fail("message_not_found")
            if not args.get("text"):
                return fail("no_text")
            found["text"] = args["text"]
            found["edited"] = found.get("edited", 0) + 1
            self._heard(f"Slack #{channel['name']} (first message updated): {args['text']}")
            return web.json_response({"ok": True, "channel": channel["id"], "ts": found["ts"],
                                      "text": args["text"]})
        return fail("unknown_method")

    async def _slack_hook(self, request: web.Request) -> web.Response:
        try:
            args = json.loads(await request.read() or b"{}")
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not args.get("text"):
            return web.Response(status=400, text="no_text")
        self.slack_channels["C0INCIDENTS"]["messages"].append({"ts": "", "text": args["text"], "thread_ts": None})
        return web.Response(text="ok")

    # -- Statuspage -------------------------------------------------------------------------

    def _sp_refused(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"OAuth {self.statuspage_key}":
            return web.json_response({"error": "Could not authenticate"}, status=401)
        if request.match_info["page"] != self.page_id:
            return web.json_response({"error": "Page not found"}, status=404)
        return None

    async def _sp_unresolved(self, request: web.Request) -> web.Response:
        if (refused := self._sp_refused(request)) is not None:
            return refused
        return web.json_response([i for i in self.status_incidents.values() if i["status"] != "resolved"])

    @staticmethod
    def _sp_invalid(incident: dict[str, Any], creating: bool) -> str | None:
        if creating and not str(incident.get("name") or "").strip():
            return "Name can't be blank"
        status = incident.get("status")
        if status is not None and status not in STATUSPAGE_STATUSES:
            return f"Status {status} is not included in the list"
        return None

    async def _sp_create(self, request: web.Request) -> web.Response:
        if (refused := self._sp_refused(request)) is not None:
            return refused
        incident = (json.loads(await request.read() or b"{}") or {}).get("incident") or {}
        if (problem := self._sp_invalid(incident, True)) is not None:
            return web.json_response({"error": problem}, status=422)
        number = next(self._ids)
        created = {"id": f"sp{number:06d}", "name": incident["name"], "status": incident.get("status", "investigating"),
                   "impact": incident.get("impact_override", "none"),
                   "component_ids": incident.get("component_ids", []), "metadata": incident.get("metadata", {}),
                   "shortlink": f"http://stspg.io/{number}", "page_id": self.page_id,
                   "incident_updates": [{"status": incident.get("status", "investigating"),
                                         "body": incident.get("body", "")}]}
        self.status_incidents[created["id"]] = created
        self._heard(f"Status page: new incident {created['name']!r}, {created['status']}")
        return web.json_response(created, status=201)

    async def _sp_update(self, request: web.Request) -> web.Response:
        if (refused := self._sp_refused(request)) is not None:
            return refused
        existing = self.status_incidents.get(request.match_info["id"])
        if existing is None:
            return web.json_response({"error": "Incident not found"}, status=404)
        incident = (json.loads(await request.read() or b"{}") or {}).get("incident") or {}
        if (problem := self._sp_invalid(incident, False)) is not None:
            return web.json_response({"error": problem}, status=422)
        existing["status"] = incident.get("status", existing["status"])
        existing["incident_updates"].insert(0, {"status": existing["status"], "body": incident.get("body", "")})
        self._heard(f"Status page: {existing['name']!r} now {existing['status']}")
        return web.json_response(existing)

    # -- PagerDuty --------------------------------------------------------------------------

    async def _pd_enqueue(self, request: web.Request) -> web.Response:
        try:
            event = json.loads(await request.read() or b"{}")
        except ValueError:
            return web.json_response({"status": "invalid event", "message": "Event object is invalid",
                                      "errors": ["Body is not valid JSON"]}, status=400)
        errors = []
        action = event.get("event_action")
        if event.get("routing_key") != self.routing_key:
            errors.append("'routing_key' is invalid" if event.get("routing_key") else "'routing_key' is missing")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
        key = event.get("dedup_key")
        if action in ("acknowledge", "resolve") and not key:
            errors.append("'dedup_key' is missing")
        if action == "trigger":
            payload = event.get("payload") or {}
            for name in ("summary", "source", "severity"):
                if not payload.get(name):
                    errors.append(f"'payload.{name}' is missing or blank")
            if payload.get("severity") and payload["severity"] not in PD_SEVERITIES:
                errors.append("'payload.severity' is invalid (must be one of: critical, error, warning, info)")
        if errors:
            return web.json_response({"status": "invalid event", "message": "Event object is invalid",
                                      "errors": errors}, status=400)
        key = key or f"pd{next(self._ids)}"
        alert = self.alerts.get(key)
        if action == "trigger":
            if alert is None or alert["status"] == "resolved":
                alert = self.alerts[key] = {"status": "triggered", "events": [], "pages": 0}
                alert["pages"] += 1
                self.pages += 1
            alert["events"].append(event)
        elif alert is not None:
            alert["events"].append(event)
            if alert["status"] != "resolved":
                alert["status"] = "acknowledged" if action == "acknowledge" else "resolved"
        paged = " (paged on-call)" if action == "trigger" and alert is not None and len(alert["events"]) == 1 else ""
        self._heard(f"PagerDuty: {action} {key}{paged}")
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": key}, status=202)

    # -- webhook ----------------------------------------------------------------------------

    async def _hook(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key", "")
        body = json.loads(await request.read() or b"null")
        if key and key in self.hooks:
            return web.json_response({"id": self.hooks[key], "duplicate": True})
        number = next(self._ids)
        if key:
            self.hooks[key] = number
        self.hook_bodies.append(body)
        if isinstance(body, dict):
            self._heard(f"Webhook: {body.get('moment')} {body.get('template')}")
        return web.json_response({"id": number})

    # -- what each received, for people -----------------------------------------------------

    def summary(self) -> list[str]:
        lines = []
        for channel in self.slack_channels.values():
            for m in channel["messages"]:
                thread = " (in thread)" if m["thread_ts"] else ""
                lines.append(f"slack #{channel['name']}{thread}: {m['text'].splitlines()[0][:80]}")
        for incident in self.status_incidents.values():
            lines.append(f"statuspage {incident['id']} {incident['status']} ({len(incident['incident_updates'])} "
                         f"updates): {incident['name']}")
        for key, alert in self.alerts.items():
            lines.append(f"pagerduty {key}: {alert['status']}, {len(alert['events'])} events")
        for body in self.hook_bodies:
            if isinstance(body, dict):
                lines.append(f"webhook {body.get('moment')} {body.get('template')}: {str(body.get('text', ''))[:60]}")
        return lines
