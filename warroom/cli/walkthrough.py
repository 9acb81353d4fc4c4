"""`warroom demo` for now: a guided walk-through of the CLI on a throwaway journal.

Every step runs the real command in this process against a journal in a temporary
directory, so what it prints is what the reader will see on their own incidents.
"""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
from pathlib import Path

STEPS: list[tuple[str, list[str]]] = [
    ("An alert fired: declare the incident (prints its id).",
     ["declare", "--severity", "SEV2", "--title", "API returning 500s",
      "--impact", "~30% of checkout requests fail", "--service", "api", "--service", "checkout",
      "--ic", "alice"]),
    ("Fill the roles the severity asks for; a handoff is recorded from whom to whom.",
     ["assign", "INC-1", "tech-lead", "bob"]),
    ("", ["assign", "INC-1", "scribe", "carol"]),
    ("The scribe keeps the timeline; each printed id is durable on disk.",
     ["log", "INC-1", "Error ratio jumped at 09:58, right after deploy of api v1.2.3", "--as", "carol"]),
    ("", ["log", "INC-1", "Roll back api to v1.2.2", "--kind", "decision", "--as", "alice"]),
    ("Impact grows: raise the severity. The update cadence and required roles follow.",
     ["severity", "INC-1", "SEV1"]),
    ("", ["status", "INC-1", "mitigating"]),
    ("Post the status update: the update timer restarts.",
     ["update", "INC-1", "Rolling back api; checkout errors expected to clear within 5 min"]),
    ("", ["status", "INC-1", "monitoring"]),
    ("", ["followup", "INC-1", "Add a canary stage for api deploys", "--owner", "bob", "--due", "2026-12-01"]),
    ("The console's view of it, as text:", ["show", "INC-1"]),
    ("Everything is in the journal, ready for the postmortem and other tools:",
     ["export", "INC-1", "--format", "md"]),
]


def walkthrough() -> int:
    from warroom.cli import main
    from warroom.identity import os_login

    with tempfile.TemporaryDirectory(prefix="warroom-demo-") as tmp:
        store = f"sqlite:///{Path(tmp) / 'demo.db'}"
        config = Path(tmp) / "warroom.toml"
        # One login, several people: as a shared bastion account would be mapped.
        config.write_text("# the defaults, and this login acting for the walk-through's people\n"
                          f"[people]\n{json.dumps(os_login())} = [\"alice\", \"bob\", \"carol\"]\n")
        print(f"warroom walk-through (journal: {store}, removed afterwards)\n")
        for say, argv in STEPS:
            if say:
                print(f"# {say}")
            print("$ warroom " + shlex.join(argv))
            sys.stdout.flush()
            extra = ["--store", store, "--config", str(config)]
            if argv[0] not in {"show", "export"} and "--as" not in argv:
                extra += ["--as", "alice"]
            code = main([*argv, *extra])
            if code != 0:
                return code
            print()
    print("The full-screen console (`warroom open`) builds on this journal; `warroom demo` runs a live one.")
    return 0

