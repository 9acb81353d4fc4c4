"""What the publishing tests share: the stand-in services on loopback and a warroom.toml
whose channels point at them, credentials as ${VAR} from the environment."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from warroom.comms.channels import Message
from warroom.domain.publishing import Moment

SLACK_TOKEN = "xoxb-s3cr3t-slack-token"
STATUSPAGE_KEY = "sp-s3cr3t-api-key"
ROUTING_KEY = "R0UT1NGs3cr3tKEY000000000000000"[:32].ljust(32, "0")
HOOK_TOKEN = "hook-s3cr3t-bearer"
SECRETS = {"SLACK_TOKEN": SLACK_TOKEN, "STATUSPAGE_KEY": STATUSPAGE_KEY, "PD_ROUTING_KEY": ROUTING_KEY,
           "HOOK_TOKEN": HOOK_TOKEN}


def set_secrets(monkeypatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def channels_toml(standins, *, slack_channel: str | None = None, attempts: int = 5, timeout: str = "2s",
                  extra: str = "") -> str:
    slack_channel_line = f'channel = "{slack_channel}"\n' if slack_channel else ""
    return f"""
[[channel]]
name = "slack"
kind = "slack"
token = "${{SLACK_TOKEN}}"
api_url = "{standins.api_url('slack')}"
{slack_channel_line}attempts = {attempts}
timeout = "{timeout}"

[[channel]]
name = "status"
kind = "statuspage"
api_key = "${{STATUSPAGE_KEY}}"
page_id = "page1"
component_ids = ["comp1"]
api_url = "{standins.api_url('statuspage')}"
attempts = {attempts}
timeout = "{timeout}"

[[channel]]
name = "pager"
kind = "pagerduty"
routing_key = "${{PD_ROUTING_KEY}}"
api_url = "{standins.api_url('pagerduty')}"
attempts = {attempts}
timeout = "{timeout}"

[[channel]]
name = "hook"
kind = "webhook"
url = "{standins.api_url('webhook')}"
headers = {{ Authorization = "Bearer ${{HOOK_TOKEN}}" }}
attempts = {attempts}
timeout = "{timeout}"
{extra}"""


def write_config(path: Path, standins, **options) -> Path:
    path.write_text(channels_toml(standins, **options))
    return path


def standins_for_tests():
    from warroom.sim.standins import StandIns

    return StandIns(slack_token=SLACK_TOKEN, statuspage_key=STATUSPAGE_KEY, routing_key=ROUTING_KEY)


@pytest.fixture
async def standins():
    """The stand-ins on the test's own event loop (import this fixture into a test module)."""
    servers = standins_for_tests()
    await servers.start()
    yield servers
    await servers.stop()


def message(text: str = "Checkout errors at 12%; rolling back.", *, moment: Moment = Moment.UPDATE,
            template: str = "internal-update", status: str = "investigating", rank: int | None = 0,
            publication: str = "pub-1", **fields: str) -> Message:
    return Message(incident_key="INC-7", dedup_key="warroom-INC-7-20261206T0300", moment=moment,
                   template=template, title="Checkout errors after deploy", text=text, severity="SEV1",
                   status=status, declared_on=date(2026, 12, 6), fields=fields, publication=publication,
                   rank=rank)


class HostedStandIns:
    """The stand-ins on a loop of their own in a thread: for in-process CLI runs (which
    run their own event loop) and child processes alike."""

    def __init__(self) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers = self._run(self._start())

    async def _start(self):
        servers = standins_for_tests()
        await servers.start()
        return servers

    def _run(self, coro):
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def release(self) -> None:
        self.loop.call_soon_threadsafe(self.servers.release)

    def close(self) -> None:
        self._run(self.servers.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def until(condition, timeout: float = 20.0, what: str = "condition") -> None:
    """Wait for ``condition()`` to hold (polling a condition, not sleeping for luck)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


async def journal_ticket(svc, incident_id: int, followup: int, channel: str, kind: str, key: str,
                         url: str = "") -> None:
    """A follow-up filed as the Publisher journals it: its ``followup`` publication and the
    delivery whose receipt holds the ticket's key."""
    asked = await svc.ask_publication(incident_id, "Follow-up", "warroom", moment="followup", template="followup",
                                      channels=[{"name": channel, "kind": kind, "external": False, "attempts": 3}],
                                      details={"followup": followup, "fields": {}})
    await svc.record_delivery(incident_id, asked.id, channel, "sent", attempt=1, attempts=3, author="warroom",
                              receipt={"remote_id": key, "url": url, "data": {}}, followup=followup)
