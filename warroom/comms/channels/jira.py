"""Jira: a follow-up becomes an issue (REST API v3 for Jira Cloud, v2 for Server and Data
Center): summary, description, assignee, due date, in the channel's project and issue type,
with basic auth (user and API token). The receipt is the issue key and its browse URL.

Jira has no idempotency key: the issue carries the label ``publication.marker`` and a JQL
search for it runs before the create, so a retry after a lost answer finds the issue the
first attempt made (Jira's search index follows a create within seconds; a retry comes
later than that).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx

from warroom.comms.channels import http
from warroom.comms.channels.base import DeliveryFailed, Message, Receipt
from warroom.comms.channels.publication import marker
from warroom.comms.channels.tracker import TrackerChannel, answer, as_json, details, heading, judged, summary, text
from warroom.text import MASK


# Jira Cloud account ids: "5b10ac8d82e05b22cc7d4ef5" or "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077".
_ACCOUNT_ID = re.compile(r"[0-9a-f]{24}|\d+:[0-9a-f-]{36}")
LABEL = "warroom"


def _explain(body: Any) -> str | None:
    """Jira's error body: ``{"errorMessages": [...], "errors": {"field": "message"}}``."""
    parts = [str(m) for m in body.get("errorMessages") or []]
    parts += [f"{field}: {message}" for field, message in (body.get("errors") or {}).items()]
    return "; ".join(parts) or None


def _document(head: str, lines: list[str], body: str) -> dict[str, Any]:
    """Atlassian Document Format: paragraphs of text nodes, which Jira shows as written (a
    mention or a link is a node of its own, never made from text)."""
    def paragraph(block: str) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        return {"type": "paragraph", "content": content}

    blocks = ["\n".join([head, *lines]), *[b for b in body.split("\n\n") if b.strip()]]
    return {"type": "doc", "version": 1, "content": [paragraph(b) for b in blocks]}


def _wiki(head: str, lines: list[str], body: str) -> str:
    """Jira wiki markup (v2): what people typed in a {noformat} block, where no markup,
    mention or link is made; a {noformat} in their text is broken so it cannot end the block."""
    typed = "\n".join([*lines, "", body]).replace("{noformat}", "{noformat }")
    return f"{head}\n\n{{noformat}}\n{typed}\n{{noformat}}"


class JiraChannel(TrackerChannel):
    kind = "jira"

    # -- the requests -----------------------------------------------------------------

    @property
    def _base(self) -> str:
        return (self.config.api_url or self.config.url).rstrip("/") + f"/rest/api/{self.config.api_version}"

    def fields(self, message: Message) -> dict[str, Any]:
        c = self.config
        head, lines, body = heading(message), details(message), text(message)
        fields: dict[str, Any] = {
            "project": {"key": c.project},
            "issuetype": {"name": c.issue_type},
            "summary": summary(message),
            "description": _document(head, lines, body) if c.api_version == 3 else _wiki(head, lines, body),
            "labels": [LABEL, marker(message)],
        }
        if message.fields.get("due"):
            fields["duedate"] = message.fields["due"]
        owner = message.fields.get("owner", "")
        if c.api_version == 2 and owner:
            fields["assignee"] = {"name": owner}
        elif owner and _ACCOUNT_ID.fullmatch(owner):
            fields["assignee"] = {"accountId": owner}
        return {"fields": fields}

    def _search(self, message: Message) -> tuple[str, dict[str, str]]:
        path = "/search/jql" if self.config.api_version == 3 else "/search"
        jql = f'project = "{self.config.project}" AND labels = "{marker(message)}"'
        return self._base + path, {"jql": jql, "fields": "key", "maxResults": "1"}

    def _headers(self, masked: bool = False) -> dict[str, str]:
        token = MASK if masked else self._secrets.expand(self.config.token)
        credentials = f"{self.config.user}:{token}"
        value = credentials if masked else base64.b64encode(credentials.encode()).decode()
        return {"Authorization": f"Basic {value}", "Accept": "application/json"}

    def requests(self, message: Message, earlier: Receipt | None) -> list[str]:
        url, params = self._search(message)
        auth = f"Authorization: Basic base64({self.config.user}:{MASK})"
        lines = [f"GET {httpx.URL(url, params=params)}", auth,
                 f"POST {self._base}/issue", auth, "Content-Type: application/json",
                 as_json(self.fields(message))]
        return [self._secrets.mask(line) for line in lines]

    # -- sending ----------------------------------------------------------------------

    async def send(self, message: Message, earlier: Receipt | None) -> Receipt:
        client = self._client
        timeout = self.config.timeout.total_seconds()
        judge = judged(self._what, _explain)
        url, params = self._search(message)
        found = await http.send(client, "GET", url, params=params, headers=self._headers(), what=self._what,
                                timeout=timeout, judge=judge)
        issues = answer(found, self._what, "Jira").get("issues") or []
        if issues and isinstance(issues[0], dict) and issues[0].get("key"):
            return self._receipt(str(issues[0]["key"]), found=True)
        created = await http.send(client, "POST", f"{self._base}/issue", json=self.fields(message),
                                  headers=self._headers(), what=self._what, timeout=timeout, judge=judge)
        key = answer(created, self._what, "Jira").get("key")
        if not key:
            raise DeliveryFailed(f"{self._what}: Jira created an issue but named no key", permanent=True)
        return self._receipt(str(key))

    def _receipt(self, key: str, *, found: bool = False) -> Receipt:
        browse = f"{self.config.url.rstrip('/')}/browse/{key}"
        return Receipt(remote_id=key, url=browse, data={"found": "true"} if found else {})
