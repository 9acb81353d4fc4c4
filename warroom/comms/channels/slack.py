"""Slack: the Web API with a bot token, or an incoming webhook.

With a token, the incident's first message goes to the configured channel, or, when none is
configured, to a channel made for the incident (``conversations.create``, named like the
guides' ``#incident-2026-12-06-checkout-errors``); every later message is a reply in that
first message's thread (its ``ts``, kept in the journal's receipt), and the first message
is rewritten (``chat.update``) to say what the incident is now: title, severity, status,
IC and the latest publication's first line. A failed ``chat.update`` is noted in the
receipt (``header``) and never fails the reply, which was already posted. Slack answers errors
with HTTP 200 and ``{"ok": false, "error": ...}``: those are failures too, retried only
when Slack says it was its own trouble. 429 carries ``Retry-After``.

Text is escaped for mrkdwn (``&``, ``<``, ``>``): a ``<!channel>`` or ``<https://x|y>`` in
an update reaches Slack as those characters, never as a mention or a link.
"""

from __future__ import annotations

import asyncio

import re
from typing import Any

from warroom.comms.channels.base import DeliveryFailed, Message, Receipt
from warroom.comms.channels.http import HttpChannel, Request
from warroom.text import safe_line

API = "https://slack.com/api"
RETRYABLE = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                       "request_timeout", "team_added_to_org"})
"""``ok: false`` errors that say "try again"; every other one would fail the same way."""
NAME_LIMIT = 80
SHORT_TITLE = 40


def escape(text: str) -> str:
    """``text`` as Slack shows it literally in mrkdwn (Slack's own three escapes)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def channel_name(message: Message) -> str:
    """``incident-YYYY-MM-DD-short-title``: lower case, digits, hyphens (Slack's rule)."""
    slug = re.sub(r"[^a-z0-9]+", "-", message.title.lower()).strip("-")
    if len(slug) > SHORT_TITLE:
        slug = slug[:SHORT_TITLE].rsplit("-", 1)[0] or slug[:SHORT_TITLE]
    name = f"incident-{message.declared_on:%Y-%m-%d}" + (f"-{slug}" if slug else "")
    return name[:NAME_LIMIT].strip("-")


def text_of(message: Message) -> str:
    return escape(message.text)


def header_of(message: Message) -> str:
    """The incident's first message as ``chat.update`` keeps it: what the incident is now
    (title, severity, status, IC) and the first line of the latest publication, every part
    escaped; the rest is in the thread."""
    first = next((line.strip() for line in message.text.splitlines() if line.strip()), "")
    level = f"{message.severity} · " if message.severity else ""
    lines = [f"{message.incident_key}: {message.title}",
             f"{level}{message.status or 'open'} · IC: {message.ic or 'unfilled'}",
             f"Latest: {first}" if first else "",
             "Every update is in this thread."]
    return "\n".join(escape(safe_line(line)) for line in lines if line)


class SlackChannel(HttpChannel):
    service = "Slack"

    # -- the requests -------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets.expand(self.config.token)}",
                "Content-Type": "application/json; charset=utf-8"}

    def _method(self, method: str, body: dict[str, Any]) -> Request:
        return Request("POST", f"{self.base(API)}/{method}", self._headers(), body)

    def _post(self, channel: str, message: Message, thread_ts: str | None) -> Request:
        body: dict[str, Any] = {"channel": channel, "text": text_of(message), "unfurl_links": False,
                                "unfurl_media": False}
        if thread_ts:
            body["thread_ts"] = thread_ts
        return self._method("chat.postMessage", body)

    def _update(self, channel: str, ts: str, message: Message) -> Request:
        return self._method("chat.update", {"channel": channel, "ts": ts, "text": header_of(message)})

    def _webhook(self, message: Message) -> Request:
        return Request("POST", self.secrets.expand(str(self.config.webhook_url)),
                       {"Content-Type": "application/json"}, {"text": text_of(message)})

    def requests(self, message: Message, earlier: Receipt | None) -> list[str]:
        if self.config.webhook_url is not None:
            return [self._webhook(message).shown(self.secrets)]
        shown = []
        if earlier is not None and earlier.remote_id:
            channel, thread = earlier.data.get("channel", self.config.channel or ""), earlier.remote_id
        elif self.config.channel:
            channel, thread = self.config.channel, None
        else:
            shown.append(self._method("conversations.create", {"name": channel_name(message)}).shown(self.secrets))
            channel, thread = "<the new channel's id>", None
        shown.append(self._post(channel, message, thread).shown(self.secrets))
        if thread:
            shown.append(self._update(channel, thread, message).shown(self.secrets))
        return shown

    # -- sending ------------------------------------------------------------------------

    async def _api(self, request: Request) -> dict[str, Any]:
        """A Web API call's answer; ``ok: false`` raised as the failure it is."""
        answer = self.answer(await self.call(request))
        if not isinstance(answer, dict):
            raise DeliveryFailed(f"{self.what}: unexpected answer to {request.url.rsplit('/', 1)[-1]}")
        if answer.get("ok") is True:
            return answer
        error = safe_line(str(answer.get("error") or "unknown error"))[:120]
        method = request.url.rsplit("/", 1)[-1]
        raise DeliveryFailed(f"{self.what}: {method} failed: {error}", permanent=error not in RETRYABLE,
                             retry_after=None)

    async def _incident_channel(self, message: Message) -> str:
        """The id of the incident's own channel: made now, or found when an earlier try
        (cut off before its answer was journaled) already made it."""
        name = channel_name(message)
        try:
            answer = await self._api(self._method("conversations.create", {"name": name}))
            return str(answer["channel"]["id"])
        except DeliveryFailed as exc:
            if "name_taken" not in exc.summary:
                raise
        cursor = ""
        for _ in range(50):  # pages of 200: 10,000 channels
            body: dict[str, Any] = {"exclude_archived": True, "limit": 200, "types": "public_channel"}
            if cursor:
                body["cursor"] = cursor
            answer = await self._api(self._method("conversations.list", body))
            for channel in answer.get("channels") or []:
                if channel.get("name") == name:
                    return str(channel["id"])
            cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        raise DeliveryFailed(f"{self.what}: #{name} exists but this token cannot see it", permanent=True)

    async def send(self, message: Message, earlier: Receipt | None) -> Receipt:
        if self.config.webhook_url is not None:
            # An incoming webhook answers "ok" as text, errors as 4xx text ("invalid_payload").
            await self.call(self._webhook(message))
            return Receipt()
        if earlier is not None and earlier.remote_id:
            channel, thread = str(earlier.data.get("channel") or self.config.channel), earlier.remote_id
        elif self.config.channel:
            channel, thread = self.config.channel, None
        else:
            channel, thread = await self._incident_channel(message), None
        header: dict[str, str] = {}

        async def keep_current() -> None:
            # The first message kept current, beside the reply (not after it: one answer's
            # wait, not two); the reply is delivered whatever this answers.
            try:
                await self._api(self._update(channel, thread, message))
                header["header"] = "updated"
            except DeliveryFailed as failed:
                header["header"] = f"not updated: {failed.summary}"

        if thread:
            answer, _ = await asyncio.gather(self._api(self._post(channel, message, thread)), keep_current(),
                                             return_exceptions=True)
            if isinstance(answer, BaseException):
                raise answer
        else:
            answer = await self._api(self._post(channel, message, thread))
        channel_id = str(answer.get("channel") or channel)
        ts = str(answer.get("ts") or "")
        data = {"channel": channel_id, "ts": ts, **header}
        # The thread is the first message's: a reply keeps pointing at it.
        return Receipt(remote_id=thread or ts, data=data)
