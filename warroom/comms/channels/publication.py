"""What tells one publication from another across attempts: the same for every retry of it,
so a service (or a person) can recognise a second copy where the service has no
idempotency key of its own."""

from __future__ import annotations

import hashlib
import re

from warroom.comms.channels.base import Message

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def atom(text: str) -> str:
    """``text`` as letters, digits, ``-`` and ``_`` only (a Message-ID part, a Jira label)."""
    return _UNSAFE.sub("-", text).strip("-") or "x"


def discriminator(message: Message) -> str:
    """The follow-up's entry id and the start of its uid (``f17-1a2b3c4d``), the publication's
    (``fields["publication"]``, else ``message.publication``: the outbox entry's uid), or
    else a digest of the text: the same text of the same template for the same incident is
    the same publication."""
    if message.fields.get("followup"):
        # The entry id reads well; its uid's start tells two journals' follow-up 17 apart.
        uid = atom(str(message.fields.get("uid", "")))[:8]
        return f"f{atom(str(message.fields['followup']))}" + (f"-{uid}" if uid != "x" else "")
    if message.fields.get("publication"):
        return atom(str(message.fields["publication"]))
    if message.publication:  # the outbox's publication: its entry's uid
        return atom(message.publication)
    return hashlib.sha256(f"{message.template}\0{message.text}".encode()).hexdigest()[:16]


def marker(message: Message) -> str:
    """``warroom-inc-42-f17-1a2b3c4d``: the label (Jira) or hidden marker (GitHub) a ticket
    is filed with, and searched for before filing it again: the incident's key, the
    follow-up's entry id and the start of its uid (the same whichever attempt, console or
    version of warroom filed it)."""
    return f"warroom-{atom(message.incident_key)}-{discriminator(message)}".lower()
