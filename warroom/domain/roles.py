"""The incident roles, their CLI names, and which may be held by several people."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A role in the response; the value is the name used on the command line."""

    IC = "ic"
    TECH_LEAD = "tech-lead"
    COMMS_LEAD = "comms-lead"
    SCRIBE = "scribe"
    SME = "sme"
    EXEC_LIAISON = "exec-liaison"

    @property
    def title(self) -> str:
        return ROLE_TITLES[self]

    @property
    def shared(self) -> bool:
        """Several people may hold it at once (subject matter experts)."""
        return self is Role.SME

    @classmethod
    def parse(cls, text: str) -> "Role":
        key = text.strip().lower().replace("_", "-").replace(" ", "-")
        key = _ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise ValueError(f"unknown role {text!r} (expected one of: {names})") from None


ROLE_TITLES = {
    Role.IC: "Incident Commander",
    Role.TECH_LEAD: "Technical Lead",
    Role.COMMS_LEAD: "Communications Lead",
    Role.SCRIBE: "Scribe",
    Role.SME: "Subject Matter Expert",
    Role.EXEC_LIAISON: "Executive Liaison",
}

_ALIASES = {
    "incident-commander": "ic",
    "commander": "ic",
    "tl": "tech-lead",
    "technical-lead": "tech-lead",
    "comms": "comms-lead",
    "communications-lead": "comms-lead",
    "cl": "comms-lead",
    "subject-matter-expert": "sme",
    "executive-liaison": "exec-liaison",
    "exec": "exec-liaison",
}
