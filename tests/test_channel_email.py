"""The email channel against a real SMTP server (aiosmtpd on loopback): the exact bytes
received, STARTTLS with a throwaway CA, AUTH LOGIN and PLAIN, refusals and hangs as one
line each, classified retryable (4xx, no answer) or permanent (5xx), and the password
nowhere but in the AUTH exchange."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from warroom.comms.channels import build_channel
from warroom.comms.channels.base import DeliveryFailed, Message
from warroom.config.loader import load_config
from warroom.domain.publishing import Moment
from warroom.sim.kubetls import server_context
from tests.conftest import free_port

PASSWORD = "s3cret-smtp-pw"


@dataclass
class Mailbox:
    """What the server received: envelopes, logins, whether each session was encrypted."""

    envelopes: list = field(default_factory=list)
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    """Recipient -> the reply that refuses it."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope, session.ssl is not None))
        return "250 OK queued"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((mechanism, login, password))
        return AuthResult(success=(login, password) == ("ops", PASSWORD), handled=False)


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A server context signed by a throwaway CA, which the client trusts (SSL_CERT_FILE)."""
    context, ca = server_context("127.0.0.1")
    (tmp_path / "ca.pem").write_bytes(ca)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    return context


def serve(mailbox: Mailbox, **smtp) -> Controller:
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **smtp)
    controller.start()
    return controller


@pytest.fixture
def servers() -> Iterator[list[Controller]]:
    started: list[Controller] = []
    yield started
    for controller in started:
        controller.stop()


def email_table(port: int, extra: str = "", *, name: str = "leadership", sender: str = "warroom@example.com",
                to: str = '["oncall@example.com", "lead@example.com"]', timeout: str = "1s") -> str:
    """An email ``[[channel]]`` table for the server on ``port``."""
    return f"""
[[channel]]
name = "{name}"
kind = "email"
host = "127.0.0.1"
port = {port}
sender = "{sender}"
to = {to}
timeout = "{timeout}"
{extra}
"""


def channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, port: int, extra: str = "", *,
            to: str = '["oncall@example.com", "lead@example.com"]', password: str = PASSWORD):
    monkeypatch.setenv("SMTP_PASSWORD", password)
    path = tmp_path / "warroom.toml"
    path.write_text(email_table(port, extra, to=to), encoding="utf-8")
    config = load_config(path)
    return build_channel(config.channels[0], config.secrets)


def message(text: str = "We are investigating elevated checkout errors.\nNext update in 30 min.",
            **fields: str) -> Message:
    return Message(incident_key="INC-42", dedup_key="warroom-inc-42", moment=Moment.LEADERSHIP,
                   template="leadership-notice", title="Checkout errors", text=text, severity="SEV1",
                   status="investigating", declared_on=date(2026, 12, 6), fields=fields)


async def test_plain_message_bytes_exactly(tmp_path, monkeypatch, servers):
    box = Mailbox()
    servers.append(server := serve(box))
    email = channel(tmp_path, monkeypatch, server.port, "starttls = false")
    receipt = await email.send(message("Checkout errors — 5% of requests.\nNext update 14:30 UTC.",
                                       publication="17"), None)
    (envelope, encrypted), = box.envelopes
    assert envelope.mail_from == "warroom@example.com" and not encrypted
    assert envelope.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    raw = re.sub(rb"Date: [^\r]*\r\n", b"Date: *\r\n", envelope.original_content)
    assert raw == (
        b"From: warroom@example.com\r\n"
        b"To: oncall@example.com, lead@example.com\r\n"
        b"Subject: [INC-42] Checkout errors: leadership-notice\r\n"
        b"Date: *\r\n"
        b"Message-ID: <warroom-inc-42.leadership-notice.17@example-com>\r\n"
        b"X-Warroom-Incident: INC-42\r\n"
        b'Content-Type: text/plain; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n"
        b"MIME-Version: 1.0\r\n"
        b"\r\n"
        b"Checkout errors =E2=80=94 5% of requests.\r\n"
        b"Next update 14:30 UTC.\r\n")
    assert receipt.remote_id == "<warroom-inc-42.leadership-notice.17@example-com>"


async def test_message_id_is_stable_per_publication(tmp_path, monkeypatch, servers):
    """A retried send carries the same Message-ID; another publication another one."""
    box = Mailbox()
    servers.append(server := serve(box))
    email = channel(tmp_path, monkeypatch, server.port, "starttls = false")
    first = await email.send(message(publication="17"), None)
    again = await email.send(message(publication="17"), None)
    other = await email.send(message(publication="18"), None)
    undiscriminated = {(await email.send(message("same text"), None)).remote_id for _ in range(2)}
    ids = [BytesParser(policy=policy.default).parsebytes(e.original_content)["Message-ID"] for e, _ in box.envelopes]
    assert ids[:3] == [first.remote_id, again.remote_id, other.remote_id]
    assert first.remote_id == again.remote_id != other.remote_id
    assert len(undiscriminated) == 1


async def test_hostile_text_arrives_as_plain_text(tmp_path, monkeypatch, servers):
    box = Mailbox()
    servers.append(server := serve(box))
    email = channel(tmp_path, monkeypatch, server.port, "starttls = false")
    hostile = "Ping @channel <!here> \x1b]8;;http://evil\x07link\x1b]8;;\x07 \x1b[2J\r\nBcc: victim@example.com\n" + "z" * 1500
    await email.send(replace(message(hostile), title="Evil\r\nBcc: x@example.com\x1b[31m"), None)
    (envelope, _), = box.envelopes
    assert envelope.rcpt_tos == ["oncall@example.com", "lead@example.com"], "no header injection adds a recipient"
    parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
    assert parsed["Bcc"] is None and "\n" not in parsed["Subject"] and "\x1b" not in parsed["Subject"]
    assert parsed.get_content_type() == "text/plain" and not parsed.is_multipart()
    assert parsed.get_content().replace("\r\n", "\n") == hostile.replace("\r\n", "\n") + "\n"
    assert max(len(line) for line in envelope.original_content.split(b"\r\n")) <= 78


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
async def test_starttls_then_auth(tmp_path, monkeypatch, servers, tls, mechanism):
    box = Mailbox()
    other = {"LOGIN": ["PLAIN"], "PLAIN": ["LOGIN"]}[mechanism]
    servers.append(server := serve(box, tls_context=tls, require_starttls=True, auth_required=True,
                                   authenticator=box.authenticate, auth_exclude_mechanism=other))
    email = channel(tmp_path, monkeypatch, server.port,
                    'username = "ops"\npassword = "${SMTP_PASSWORD}"\nstarttls = true')
    await email.send(message(), None)
    assert box.logins == [(mechanism, "ops", PASSWORD)]
    (envelope, encrypted), = box.envelopes
    assert encrypted, "the login and the message went over TLS"


async def test_wrong_password_is_one_permanent_line_without_the_password(tmp_path, monkeypatch, servers, tls):
    box = Mailbox()
    servers.append(server := serve(box, tls_context=tls, require_starttls=True, auth_required=True,
                                   authenticator=box.authenticate))
    email = channel(tmp_path, monkeypatch, server.port, 'username = "ops"\npassword = "${SMTP_PASSWORD}"',
                    password="hunter2-wrong")
    with pytest.raises(DeliveryFailed) as failed:
        await email.send(message(), None)
    assert failed.value.permanent
    assert str(failed.value).startswith("email leadership: login refused (535")
    assert "\n" not in str(failed.value) and "hunter2" not in str(failed.value)
    assert box.logins == [("LOGIN", "ops", "hunter2-wrong")] or box.logins[0][2] == "hunter2-wrong"
    assert box.envelopes == []


async def test_untrusted_certificate_is_permanent(tmp_path, monkeypatch, servers):
    context, _ = server_context("127.0.0.1")  # a CA nobody trusts
    servers.append(server := serve(Mailbox(), tls_context=context, require_starttls=True))
    email = channel(tmp_path, monkeypatch, server.port)
    with pytest.raises(DeliveryFailed) as failed:
        await email.send(message(), None)
    assert failed.value.permanent and "TLS certificate rejected" in str(failed.value)


async def test_starttls_asked_but_not_offered(tmp_path, monkeypatch, servers):
    servers.append(server := serve(Mailbox()))
    email = channel(tmp_path, monkeypatch, server.port)
    with pytest.raises(DeliveryFailed, match="offers no STARTTLS") as failed:
        await email.send(message(), None)
    assert failed.value.permanent


@pytest.mark.parametrize(("reply", "permanent"), [("550 5.1.1 No such user", True),
                                                  ("450 4.2.1 Mailbox busy, try later", False)])
async def test_a_refused_recipient_sends_to_nobody(tmp_path, monkeypatch, servers, reply, permanent):
    box = Mailbox(refuse={"lead@example.com": reply})
    servers.append(server := serve(box))
    email = channel(tmp_path, monkeypatch, server.port, "starttls = false")
    with pytest.raises(DeliveryFailed) as failed:
        await email.send(message(), None)
    assert failed.value.permanent is permanent
    assert str(failed.value) == f"email leadership: recipient lead@example.com refused, sent to nobody ({reply})"
    assert box.envelopes == [], "nobody got it: a retry cannot send it twice to the others"


async def test_a_server_that_never_greets_is_retryable(tmp_path, monkeypatch):
    with socket.socket() as hung:  # accepts (the kernel's backlog) and never greets
        hung.bind(("127.0.0.1", 0))
        hung.listen()
        port = hung.getsockname()[1]
        email = channel(tmp_path, monkeypatch, port)
        with pytest.raises(DeliveryFailed) as failed:  # the channel's 1 s, not the guard's 30 s
            await asyncio.wait_for(email.send(message(), None), 30)
    assert not failed.value.permanent
    assert str(failed.value) == f"email leadership: no answer from 127.0.0.1:{port} in 1s"


class Hangs(Mailbox):
    """Takes the message and never says it has it: the answer lost, the mail maybe queued."""

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope, False))
        await asyncio.Event().wait()


async def test_a_server_that_hangs_after_the_data_is_retryable_and_the_retry_is_recognisable(
        tmp_path, monkeypatch, servers):
    box = Hangs()
    servers.append(server := serve(box))
    email = channel(tmp_path, monkeypatch, server.port, "starttls = false")
    for _ in range(2):
        with pytest.raises(DeliveryFailed, match=r"no answer from 127\.0\.0\.1:\d+ in 1s") as failed:
            await asyncio.wait_for(email.send(message(publication="17"), None), 30)
        assert not failed.value.permanent
    ids = {BytesParser(policy=policy.default).parsebytes(e.original_content)["Message-ID"] for e, _ in box.envelopes}
    assert len(box.envelopes) == 2 and len(ids) == 1, "both copies carry one Message-ID: the second is known as a retry"


async def test_nothing_listening_is_retryable(tmp_path, monkeypatch):
    email = channel(tmp_path, monkeypatch, free_port())
    with pytest.raises(DeliveryFailed, match="connection refused") as failed:
        await email.send(message(), None)
    assert not failed.value.permanent


def test_dry_run_shows_the_conversation_with_the_password_masked(tmp_path, monkeypatch):
    email = channel(tmp_path, monkeypatch, 2525, 'username = "ops"\npassword = "${SMTP_PASSWORD}"')
    lines = email.requests(message(publication="17"), None)
    assert lines[:6] == ["SMTP 127.0.0.1:2525 STARTTLS", "AUTH as ops password ****",
                         "MAIL FROM:<warroom@example.com>", "RCPT TO:<oncall@example.com>",
                         "RCPT TO:<lead@example.com>", "DATA"]
    assert "Message-ID: <warroom-inc-42.leadership-notice.17@example-com>" in lines[6]
    assert not any(PASSWORD in line for line in lines)


class RefusesData(Mailbox):
    def __init__(self, reply: str) -> None:
        super().__init__()
        self.reply = reply

    async def handle_DATA(self, server, session, envelope):
        return self.reply


@pytest.mark.parametrize(("reply", "permanent"), [("451 4.3.0 Queue full, try later", False),
                                                  ("554 5.7.1 Message rejected as spam", True)])
async def test_a_refused_message_is_classified_by_its_reply(tmp_path, monkeypatch, servers, reply, permanent):
    servers.append(server := serve(RefusesData(reply)))
    email = channel(tmp_path, monkeypatch, server.port, "starttls = false")
    with pytest.raises(DeliveryFailed) as failed:
        await email.send(message(), None)
    assert str(failed.value) == f"email leadership: message refused ({reply})"
    assert failed.value.permanent is permanent
