"""Email over SMTP: one text/plain UTF-8 message per publication, to the channel's
recipients, through the standard library's ``smtplib`` run off the event loop.

The body is the drafted text as it is (quoted-printable on the wire, so any line length and
any character arrive; line breaks in the canonical CRLF), never HTML. The Message-ID is
derived from the incident's dedup key, the template and the publication, so a message sent
again after a lost answer carries the same Message-ID and a mail system (or a person) can
recognise the second copy.

All recipients are checked before the message is handed over: one refused recipient and
nobody gets it (a retry would otherwise send it twice to the others). SMTP's 4xx replies
are worth retrying, its 5xx replies are not.
"""

from __future__ import annotations

import asyncio
import ipaddress
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from warroom.comms.channels.base import DeliveryFailed, Message, Receipt
from warroom.comms.channels.publication import atom, discriminator
from warroom.errors import describe_error
from warroom.secrets import Secrets
from warroom.text import MASK, safe_line


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def message_id(message: Message, sender: str) -> str:
    """``<dedup.template.publication@sender-domain>``: the same for every attempt at one
    publication (``publication.discriminator``)."""
    domain = sender.rpartition("@")[2] or "warroom.invalid"
    return f"<{atom(message.dedup_key)}.{atom(message.template)}.{discriminator(message)}@{atom(domain)}>"


def subject(message: Message) -> str:
    """``[INC-42] Checkout errors: resolution``: one line, whatever the title holds."""
    return safe_line(f"[{message.incident_key}] {message.title}: {message.template}")[:200]


def body(text: str) -> str:
    """The drafted text with its line breaks made one kind (CRLF on the wire)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


class EmailChannel:
    kind = "email"

    def __init__(self, config: Any, secrets: Secrets) -> None:
        """``config``: a ``warroom.config.channels.EmailChannel`` (not imported: pydantic stays out of comms)."""
        self.config = config
        self.name = config.name
        self._secrets = secrets
        self._timeout = config.timeout.total_seconds()

    # -- what is sent -----------------------------------------------------------------

    def compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage(policy=policy.SMTP)
        mail["From"] = self.config.sender
        mail["To"] = ", ".join(self.config.to)
        mail["Subject"] = subject(message)
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = message_id(message, self.config.sender)
        mail["X-Warroom-Incident"] = safe_line(message.incident_key)
        mail.set_content(body(message.text), subtype="plain", charset="utf-8", cte="quoted-printable")
        return mail

    def requests(self, message: Message, earlier: Receipt | None) -> list[str]:
        c = self.config
        lines = [f"SMTP {c.host}:{c.port}" + (" STARTTLS" if c.starttls else " (no TLS)")]
        if c.username is not None:
            lines.append(f"AUTH as {c.username} password {MASK}")
        lines.append(f"MAIL FROM:<{c.sender}>")
        lines += [f"RCPT TO:<{to}>" for to in c.to]
        lines.append("DATA")
        lines.append(self.compose(message).as_string())
        return [self._secrets.mask(line) for line in lines]

    # -- sending ----------------------------------------------------------------------

    async def send(self, message: Message, earlier: Receipt | None) -> Receipt:
        mail = self.compose(message)
        # smtplib blocks: a thread, each of its socket operations bounded by the timeout.
        await asyncio.to_thread(self._deliver, mail)
        return Receipt(remote_id=str(mail["Message-ID"]), data={"to": ", ".join(self.config.to)})

    async def aclose(self) -> None:
        return None

    def _what(self) -> str:
        return f"email {self.name}"

    def _failed(self, summary: str, *, permanent: bool) -> DeliveryFailed:
        return DeliveryFailed(self._secrets.mask(f"{self._what()}: {summary}"), permanent=permanent)

    def _reply(self, code: int, text: bytes | str) -> str:
        words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        return f"{code} {safe_line(words.strip())[:160]}".strip()

    def _refused(self, what: str, code: int, text: bytes | str) -> DeliveryFailed:
        # 4xx: the server asks to try later (greylisting, a full queue); 5xx: it won't ever.
        return self._failed(f"{what} ({self._reply(code, text)})", permanent=not 400 <= code < 500)

    def _deliver(self, mail: EmailMessage) -> None:
        c = self.config
        target = f"{c.host}:{c.port}"
        try:
            with smtplib.SMTP(c.host, c.port, timeout=self._timeout) as smtp:
                self._session(smtp, mail)
        except DeliveryFailed:
            raise
        except TimeoutError:  # socket.timeout too
            raise self._failed(f"no answer from {target} in {self._timeout:g}s", permanent=False) from None
        except ssl.SSLCertVerificationError as exc:
            raise self._failed(describe_error(exc, target), permanent=True) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise self._refused("login refused", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPSenderRefused as exc:
            raise self._refused(f"sender {c.sender} refused", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPDataError as exc:
            raise self._refused("message refused", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPConnectError as exc:
            raise self._refused(f"{target} would not talk", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPResponseException as exc:
            raise self._refused(f"{target} said no", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPServerDisconnected as exc:
            # smtplib reports a read that timed out as a disconnection; the timeout is its cause.
            if isinstance(exc.__context__, TimeoutError):
                raise self._failed(f"no answer from {target} in {self._timeout:g}s", permanent=False) from None
            raise self._failed(f"{target} closed the connection", permanent=False) from None
        except smtplib.SMTPException as exc:
            raise self._failed(f"{safe_line(str(exc))[:160]} ({target})", permanent=False) from None
        except OSError as exc:
            raise self._failed(describe_error(exc, target), permanent=False) from None

    def _login(self, smtp: smtplib.SMTP) -> None:
        """One attempt with one mechanism, PLAIN or else LOGIN (smtplib's ``login`` tries
        each mechanism in turn with the same password: several failures where one says it,
        and servers that lock accounts count them all)."""
        offered = (smtp.esmtp_features.get("auth") or "").upper().split()
        mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
        if mechanism is None:
            raise self._failed(f"{self.config.host}:{self.config.port} offers no login warroom knows "
                               f"(PLAIN, LOGIN; it offers: {safe_line(' '.join(offered))[:80] or 'none'})",
                               permanent=True)
        smtp.user = self._secrets.expand(self.config.username or "")
        smtp.password = self._secrets.expand(self.config.password or "")
        try:
            smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"), initial_response_ok=mechanism == "PLAIN")
        finally:
            smtp.user = smtp.password = ""

    def _session(self, smtp: smtplib.SMTP, mail: EmailMessage) -> None:
        c = self.config
        smtp.ehlo()
        if c.starttls:
            if not smtp.has_extn("starttls"):
                raise self._failed(f"{c.host}:{c.port} offers no STARTTLS (set starttls = false to send "
                                   f"unencrypted)", permanent=True)
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if c.username is not None:
            if not c.starttls and not _loopback(c.host):
                raise self._failed("refusing to send the password unencrypted: set starttls = true",
                                   permanent=True)
            if not smtp.has_extn("auth"):
                raise self._failed(f"{c.host}:{c.port} offers no login (AUTH)", permanent=True)
            self._login(smtp)
        code, text = smtp.mail(c.sender)
        if code != 250:
            raise self._refused(f"sender {c.sender} refused", code, text)
        for to in c.to:
            code, text = smtp.rcpt(to)
            if code not in (250, 251):
                try:
                    smtp.rset()
                except (smtplib.SMTPException, OSError):
                    pass  # the refusal is what to say; the connection is closed below anyway
                raise self._refused(f"recipient {to} refused, sent to nobody", code, text)
        code, text = smtp.data(mail.as_bytes(policy=policy.SMTP))
        if code != 250:
            raise self._refused("message refused", code, text)


__all__ = ["EmailChannel", "body", "message_id", "subject"]
