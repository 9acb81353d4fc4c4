"""Local stand-ins for Jira's and GitHub's create-issue APIs, as their documentation has them:
the requests they take (paths, auth, headers, bodies), the answers they give (201 with the
key or number, their error bodies), and what a test scripts on top: a failure for the next
request, or a create that is made and then never answered (the answer lost). The demo runs
the Jira one, so a follow-up filed from its console lands somewhere; the tests run both (in
a thread of their own: tests/tracker_servers.py). Every request is recorded."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JIRA_TOKEN = "jira-token-value"
GITHUB_TOKEN = "ghp_tokenvalue"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fake:
    seen: list[Seen] = field(default_factory=list)
    failures: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    """Answers for the next requests, in order, before any is looked at."""
    hang_creates: int = 0
    """So many creates are made, then never answered."""
    port: int = 0
    on_receive: Callable[[str], None] | None = None
    """Told one line for each issue filed (the demo shows it in the console)."""
    filed: threading.Event = field(default_factory=threading.Event)
    """Set once an issue is created (a test in another thread or process waits on it)."""
    _release: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.method, request.path, dict(request.query),
                              {k.lower(): v for k, v in request.headers.items()}, await request.read()))
        if self.failures:
            status, body, headers = self.failures.pop(0)
            text = body if isinstance(body, str) else json.dumps(body)
            return web.Response(status=status, text=text, headers=headers,
                                content_type="text/plain" if isinstance(body, str) else "application/json")
        status, body = await self.handle(request, self.seen[-1])
        return web.json_response(body, status=status)

    async def hang(self) -> None:
        self._release = self._release or asyncio.Event()
        await self._release.wait()

    async def handle(self, request: web.Request, seen: Seen) -> tuple[int, Any]:
        raise NotImplementedError


@dataclass
class FakeJira(Fake):
    user: str = "ops@example.com"
    token: str = JIRA_TOKEN
    projects: tuple[str, ...] = ("OPS",)
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def handle(self, request: web.Request, seen: Seen) -> tuple[int, Any]:
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        if seen.headers.get("authorization") != expected:
            return 401, {"errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
                         "errors": {}}
        match = re.fullmatch(r"/rest/api/([23])/(issue|search|search/jql)", request.path)
        if match is None:
            return 404, {"errorMessages": ["Not found"], "errors": {}}
        version, what = match.groups()
        if what != "issue":
            if (what == "search/jql") != (version == "3"):
                return 410, {"errorMessages": ["The requested API has been removed."], "errors": {}}
            label = re.search(r'labels = "([^"]+)"', seen.query.get("jql", ""))
            hits = [{"id": str(i), "key": key} for i, (key, fields) in enumerate(self.issues.items())
                    if label and label[1] in fields.get("labels", [])]
            return 200, {"issues": hits[: int(seen.query.get("maxResults", "50"))], "isLast": True}
        fields = seen.json["fields"]
        if fields.get("project", {}).get("key") not in self.projects:
            return 400, {"errorMessages": [], "errors": {"project": "valid project is required"}}
        if not fields.get("summary"):
            return 400, {"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}
        description = fields.get("description")
        if version == "3" and not (isinstance(description, dict) and description.get("type") == "doc"):
            return 400, {"errorMessages": [], "errors": {"description": "Operation value must be an Atlassian Document"}}
        if version == "2" and not isinstance(description, str):
            return 400, {"errorMessages": [], "errors": {"description": "Operation value must be a string"}}
        key = f"{fields['project']['key']}-{len(self.issues) + 1}"
        self.issues[key] = fields
        self.filed.set()
        if self.on_receive is not None:
            self.on_receive(f"jira: {key} filed: {fields['summary']}"[:120])
        if self.hang_creates:
            self.hang_creates -= 1
            await self.hang()
        return 201, {"id": str(10000 + len(self.issues)), "key": key, "self": f"{self.url}/rest/api/{version}/issue/{key}"}


@dataclass
class FakeGitHub(Fake):
    token: str = GITHUB_TOKEN
    repo: str = "acme/ops"
    assignable: tuple[str, ...] = ("bob",)
    issues: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request, seen: Seen) -> tuple[int, Any]:
        if seen.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        if request.path != f"/repos/{self.repo}/issues":
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        if request.method == "GET":
            newest = sorted(self.issues, key=lambda i: i["number"], reverse=True)
            return 200, newest[: int(seen.query.get("per_page", "30"))]
        payload = seen.json
        if not payload.get("title"):
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}]}
        for login in payload.get("assignees", []):
            if login not in self.assignable:
                return 422, {"message": "Validation Failed",
                             "errors": [{"value": login, "resource": "Issue", "field": "assignees", "code": "invalid"}]}
        number = len(self.issues) + 1
        issue = {"number": number, "title": payload["title"], "body": payload.get("body"),
                 "assignees": [{"login": a} for a in payload.get("assignees", [])],
                 "html_url": f"https://github.example/{self.repo}/issues/{number}", "state": "open"}
        self.issues.append(issue)
        self.filed.set()
        if self.hang_creates:
            self.hang_creates -= 1
            await self.hang()
        return 201, issue


async def start(fake: Fake) -> web.AppRunner:
    """``fake`` on a loopback port (``fake.url``) in the running loop; ``runner.cleanup()``
    stops it."""
    runner = web.AppRunner(fake.app(), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    fake.port = runner.addresses[0][1]
    return runner


async def stop(fake: Fake, runner: web.AppRunner) -> None:
    if fake._release is not None:
        fake._release.set()
    await runner.cleanup()
