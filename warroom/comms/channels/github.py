"""GitHub: a follow-up becomes an issue (the REST API's ``POST /repos/{owner}/{repo}/issues``
with a bearer token, the API's Accept and version headers). The receipt is ``owner/repo#N``
and the issue's html_url.

The body is Markdown on GitHub: the follow-up's own words go in a fenced code block (longer
than any run of backticks in them), where no mention, link, image or HTML is made of them.
The owner is assigned when the name looks like a GitHub login; GitHub refuses a login that
cannot be assigned (422), and the issue is then filed without the assignee (the owner is
in the body either way).

GitHub has no idempotency key: the body ends with a hidden marker (``publication.marker``)
and the repository's newest issues are read for it before filing (the issues list, which is
current, not the search index, which lags), so a retry after a lost answer finds the issue
the first attempt made.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from warroom.comms.channels import http
from warroom.comms.channels.base import DeliveryFailed, Message, Receipt
from warroom.comms.channels.publication import marker
from warroom.comms.channels.tracker import TrackerChannel, answer, as_json, details, heading, judged, summary, text
from warroom.text import MASK, safe_line


API = "https://api.github.com"
VERSION = "2022-11-28"
LOOKBACK = 50
"""How many of the newest issues are read for a marker before filing."""
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")


def _explain(body: Any) -> str | None:
    """GitHub's error body: ``{"message": ..., "errors": [{"field", "code", "message"}]}``."""
    parts = []
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            said = error.get("message") or " ".join(str(error[k]) for k in ("field", "code", "value") if error.get(k))
            parts.append(str(said))
        else:
            parts.append(str(error))
    message = str(body.get("message") or "")
    return (f"{message}: {'; '.join(parts)}" if parts else message) or None


def _fenced(body: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{body}\n{fence}"


class GitHubChannel(TrackerChannel):
    kind = "github"

    @property
    def _issues(self) -> str:
        return f"{(self.config.api_url or API).rstrip('/')}/repos/{self.config.repo}/issues"

    def payload(self, message: Message, *, assign: bool = True) -> dict[str, Any]:
        typed = "\n".join([*details(message), "", text(message)])
        body = "\n\n".join([heading(message), _fenced(typed), f"<!-- {marker(message)} -->"])
        payload: dict[str, Any] = {"title": summary(message), "body": body}
        owner = message.fields.get("owner", "").removeprefix("@")
        if assign and _LOGIN.fullmatch(owner):
            payload["assignees"] = [owner]
        return payload

    def _headers(self, masked: bool = False) -> dict[str, str]:
        token = MASK if masked else self._secrets.expand(self.config.token)
        return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": VERSION, "User-Agent": "warroom"}

    _LIST = {"state": "all", "sort": "created", "direction": "desc", "per_page": str(LOOKBACK)}

    def requests(self, message: Message, earlier: Receipt | None) -> list[str]:
        headers = [f"{k}: {v}" for k, v in self._headers(masked=True).items()]
        lines = [f"GET {httpx.URL(self._issues, params=self._LIST)}", *headers,
                 f"POST {self._issues}", *headers, "Content-Type: application/json",
                 as_json(self.payload(message))]
        return [self._secrets.mask(line) for line in lines]

    def _judge(self, response: httpx.Response) -> DeliveryFailed:
        # GitHub says "rate limited" with a 403 as often as with a 429: retry after the reset.
        if response.status_code == 403 and (response.headers.get("x-ratelimit-remaining") == "0"
                                            or "retry-after" in response.headers):
            wait = http.retry_after(response)
            if wait is None:
                try:
                    wait = max(0.0, float(response.headers["x-ratelimit-reset"]) - time.time())
                except (KeyError, ValueError):
                    wait = None
            return DeliveryFailed(f"{self._what}: rate limited (403)", retry_after=wait)
        return judged(self._what, _explain)(response)

    async def send(self, message: Message, earlier: Receipt | None) -> Receipt:
        client = self._client
        timeout = self.config.timeout.total_seconds()
        listed = await http.send(client, "GET", self._issues, params=self._LIST, headers=self._headers(),
                                 what=self._what, timeout=timeout, judge=self._judge)
        try:
            issues = listed.json()
        except ValueError:
            issues = None
        if not isinstance(issues, list):
            raise DeliveryFailed(f"{self._what}: {listed.status_code} is not GitHub's answer: "
                                 f"{safe_line(listed.text.strip()[:80]) or 'an empty body'}", permanent=True)
        mark = f"<!-- {marker(message)} -->"
        for issue in issues:
            if isinstance(issue, dict) and mark in str(issue.get("body") or ""):
                return self._receipt(issue, found=True)
        try:
            created = await self._create(client, message, timeout, assign=True)
        except DeliveryFailed as failed:
            if "(422)" not in failed.summary or "assignee" not in failed.summary.lower():
                raise
            created = await self._create(client, message, timeout, assign=False)
        return self._receipt(answer(created, self._what, "GitHub"))

    async def _create(self, client: httpx.AsyncClient, message: Message, timeout: float, *,
                      assign: bool) -> httpx.Response:
        return await http.send(client, "POST", self._issues, json=self.payload(message, assign=assign),
                               headers=self._headers(), what=self._what, timeout=timeout, judge=self._judge)

    def _receipt(self, issue: dict[str, Any], *, found: bool = False) -> Receipt:
        number = issue.get("number")
        if not isinstance(number, int):
            raise DeliveryFailed(f"{self._what}: GitHub's answer names no issue number", permanent=True)
        data = {"number": str(number), **({"found": "true"} if found else {})}
        return Receipt(remote_id=f"{self.config.repo}#{number}", url=str(issue.get("html_url") or ""), data=data)
