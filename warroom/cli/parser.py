"""The `warroom` command line: every subcommand and its options, nothing else."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from warroom.domain.incident import Milestone, Status
from warroom.domain.roles import Role
from warroom.domain.timeline import FREE_TEXT_KINDS


class UsageError(Exception):
    """Raised instead of argparse's multi-line usage dump; reported as one line."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value


def _common() -> argparse.ArgumentParser:
    # SUPPRESS lets the same option stand before or after the subcommand.
    common = Parser(add_help=False)
    common.add_argument("--store", default=argparse.SUPPRESS, metavar="URL",
                        help="journal URL (default: $WARROOM_STORE, else sqlite:///<data dir>/warroom/warroom.db)")
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE",
                        help="config file (default: $WARROOM_CONFIG, ./warroom.toml, <config dir>/warroom/config.toml)")
    return common


def build_parser() -> Parser:
    common = _common()
    parser = Parser(prog="warroom", parents=[common],
                    description="A terminal console for a production incident's war room.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, help: str) -> Parser:
        return sub.add_parser(name, help=help, description=help, parents=[common])

    def author(p: Parser) -> None:
        p.add_argument("--author", "--as", dest="author", metavar="NAME",
                       help="who is writing (default: $WARROOM_USER, config user, login name)")

    def reopen(p: Parser) -> None:
        p.add_argument("--reopen", action="store_true", help="reopen a resolved incident to do this")

    p = command("declare", "declare a new incident and print its id")
    p.add_argument("--severity", "-s", required=True, help="a level of the configured scheme, e.g. SEV1")
    p.add_argument("--title", "-t", required=True)
    p.add_argument("--impact", default="", help="who or what is affected")
    p.add_argument("--service", action="append", default=[], metavar="NAME", help="affected service (repeatable)")
    p.add_argument("--started", metavar="TIME", help="when the impact began (ISO 8601; no offset means UTC)")
    p.add_argument("--detected", metavar="TIME", help="when it was first detected (ISO 8601)")
    p.add_argument("--ic", metavar="NAME", help="assign the Incident Commander at once")
    author(p)

    p = command("list", "list open incidents")
    p.add_argument("--all", action="store_true", help="include resolved incidents")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("show", "show an incident's state and timeline")
    p.add_argument("incident", metavar="INC")
    p.add_argument("--last", type=positive_int, metavar="N", help="only the last N timeline entries")

    p = command("log", "append an entry to the timeline")
    p.add_argument("incident", metavar="INC")
    p.add_argument("text", nargs="?", help="the entry (omit with --stdin)")
    p.add_argument("--kind", "-k", default="note",
                   help="one of: " + ", ".join(sorted(k.value for k in FREE_TEXT_KINDS)))
    p.add_argument("--stdin", action="store_true",
                   help="one entry per input line; each id is printed once it is durable")
    author(p)
    reopen(p)

    p = command("severity", "change an incident's severity")
    p.add_argument("incident", metavar="INC")
    p.add_argument("severity")
    author(p)
    reopen(p)

    p = command("status", "change an incident's status")
    p.add_argument("incident", metavar="INC")
    p.add_argument("status", help="one of: " + ", ".join(s.value for s in Status))
    author(p)
    reopen(p)

    p = command("assign", "assign (or with --remove, stand down) a role")
    p.add_argument("incident", metavar="INC")
    p.add_argument("role", help="one of: " + ", ".join(r.value for r in Role))
    p.add_argument("person")
    p.add_argument("--remove", action="store_true", help="the person stands down from the role")
    author(p)
    reopen(p)

    p = command("impact", "change the stated impact or affected services")
    p.add_argument("incident", metavar="INC")
    p.add_argument("--impact", help="who or what is affected now")
    p.add_argument("--service", action="append", metavar="NAME", help="affected service (repeatable; replaces the list)")
    author(p)
    reopen(p)

    p = command("followup", "record a follow-up action with an owner and due date")
    p.add_argument("incident", metavar="INC")
    p.add_argument("text")
    p.add_argument("--owner", required=True)
    p.add_argument("--due", metavar="DATE", help="YYYY-MM-DD")
    author(p)

    p = command("milestone", "set a lifecycle time explicitly")
    p.add_argument("incident", metavar="INC")
    p.add_argument("milestone", help="one of: " + ", ".join(m.value for m in Milestone))
    p.add_argument("--at", metavar="TIME", help="ISO 8601 (default: now)")
    author(p)

    p = command("update", "mark a status update as posted (restarts the update timer)")
    p.add_argument("incident", metavar="INC")
    p.add_argument("text", nargs="?", help="the update as posted (omit to read it from stdin)")
    author(p)

    p = command("export", "the whole incident as Markdown or JSON")
    p.add_argument("incident", metavar="INC")
    p.add_argument("--format", "-f", choices=["md", "json"], default="md")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")

    p = command("config", "configuration")
    config_sub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", parser_class=Parser)
    config_sub.required = True
    config_sub.add_parser("check", help="validate the config and print it resolved, secrets masked",
                          parents=[common])

    for name, help in (("open", "open the Incident Commander's console"),
                       ("scribe", "open a scribe's console (starts in the timeline input)")):
        p = command(name, help)
        p.add_argument("incident", metavar="INC", nargs="?" if name == "open" else None,
                       help="the incident (default: the one open incident)" if name == "open" else None)
        p.add_argument("--read-only", action="store_true", help="observe only: every change is refused")
        p.add_argument("--theme", metavar="NAME", help="warroom-dark, warroom-light, warroom-projector, or a user theme")
        author(p)

    p = command("check", "run the health checks once (--once) or refreshing in place")
    p.add_argument("--once", action="store_true", help="one sweep, then exit 0 ok / 1 warn / 2 critical")
    p.add_argument("--json", action="store_true",
                   help="print a JSON array (name, kind, state, summary, latency_ms, details)")

    p = command("action", "mitigations: list them, or run one with preview, confirmation and audit")
    action_sub = p.add_subparsers(dest="action_command", metavar="SUBCOMMAND", parser_class=Parser)
    action_sub.required = True
    action_sub.add_parser("list", help="the configured actions", parents=[common])
    run = action_sub.add_parser("run", help="preview, confirm and run an action", parents=[common])
    run.add_argument("name")
    run.add_argument("--incident", "-i", required=True, metavar="INC")
    run.add_argument("--dry-run", action="store_true", help="show the preview and stop")
    run.add_argument("--yes", action="store_true",
                     help="skip the interactive confirmation (never the permission check)")
    author(run)

    p = command("postmortem", "write the postmortem draft from the journal (Markdown)")
    p.add_argument("incident", metavar="INC")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")

    for name, help in (("demo", "a live simulated incident on loopback, already declared: mitigate it"),
                       ("drill", "a game day: the same simulation, nothing declared; scored at the end")):
        p = command(name, help)
        p.add_argument("scenario", nargs="?" if name == "demo" else None, metavar="SCENARIO",
                       help="a shipped scenario (see --list) or a scenario file" +
                       (" (default: bad-deploy)" if name == "demo" else ""))
        p.add_argument("--speed", type=float, default=1.0 if name == "drill" else 4.0,
                       help="how much faster than real time the scenario runs")
        p.add_argument("--theme", metavar="NAME")
        if name == "demo":
            p.add_argument("--list", action="store_true", help="list the scenarios")
            p.add_argument("--walkthrough", action="store_true",
                           help="instead: a printed walk-through of the CLI on a throwaway journal")
        author(p)
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        # Plain `warroom`: the console on the one open incident.
        return parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "open"])
    return args
