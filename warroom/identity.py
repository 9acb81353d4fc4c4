"""Who is acting: the operating-system login, never a name typed on the command line.

The login comes from the process's effective user id (not from $USER or $LOGNAME, which any
shell can set). ``[people]`` in warroom.toml may map a login to the name entries show
(``alice = "Alice Ng"``), or to several people who share one login (a bastion account:
``oncall = ["alice", "bob"]``); ``--as`` / ``$WARROOM_USER`` then choose among the names
mapped to *this* login, and nothing else. Every entry also records the login itself.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from typing import Mapping, Sequence

from warroom.errors import WarroomError


def os_login() -> str:
    """The effective user's login name (its uid when the account has no name)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@dataclass(frozen=True, slots=True)
class Identity:
    login: str
    """The authenticated operating-system login: what the journal records as the writer."""
    name: str
    """How entries show the person; one of ``names``."""
    names: tuple[str, ...]
    """Every name ``[people]`` maps to this login (the login itself when unmapped). A role
    held under any of them is held by whoever acts through this login."""

    def holds(self, holders: Sequence[str]) -> bool:
        return any(name in holders for name in self.names)


def identify(people: Mapping[str, Sequence[str]], requested: str | None = None, *,
             login: str | None = None, source: str = "--as") -> Identity:
    """The acting identity. ``requested`` (``--as`` or ``$WARROOM_USER``) may only pick a
    name ``people`` maps to the login; anything else is refused, never believed."""
    login = login or os_login()
    names = tuple(people.get(login) or (login,))
    if requested is None or not requested.strip():
        return Identity(login, names[0], names)
    requested = requested.strip()
    if requested not in names:
        mapped = ", ".join(names)
        raise WarroomError(
            f"{source} {requested}: this login ({login}) acts as {mapped}, not {requested}",
            "who acts is the operating-system login; [people] in warroom.toml maps logins to names")
    return Identity(login, requested, names)
