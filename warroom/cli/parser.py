"""The `warroom` command line: every subcommand and its options, nothing else."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, NoReturn

from warroom.comms import TEMPLATE_NAMES
from warroom.domain.incident import Milestone, Status
from warroom.domain.publishing import MOMENTS
from warroom.domain.roles import Role
from warroom.domain.timeline import FREE_TEXT_KINDS


class UsageError(Exception):
    """Raised instead of argparse's multi-line usage dump; reported as one line."""


class Parser(argparse.ArgumentParser):
    """One-line errors; and a command's options go anywhere among its words
    (`log INC --kind decision "text"` as well as `log INC "text" --kind decision`).

    Plain argparse matches the positionals of the words before the first option at once,
    so an optional positional (`log`'s text) is settled as missing before the option is
    seen. ``parse_intermixed_args`` reads the options first, then the positionals; it can't
    parse a command's subcommands, so a parser that has them parses as before."""

    intermixed = True

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")

    def add_subparsers(self, **kwargs):
        self.intermixed = False
        return super().add_subparsers(**kwargs)

    def parse_known_args(self, args=None, namespace=None):
        if not self.intermixed:
            return super().parse_known_args(args, namespace)
        # parse_known_intermixed_args calls parse_known_args itself: plain, this time.
        self.intermixed = False
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self.intermixed = True


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


Builder = Callable[[Parser, argparse.ArgumentParser], None]
COMMANDS: dict[str, tuple[str, Builder]] = {}
"""Each subcommand: its help line and what adds its arguments (given it and the common options)."""


def command(*names_and_helps: tuple[str, str]) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        for name, help in names_and_helps:
            COMMANDS[name] = (help, builder)
        return builder

    return register


def author(p: Parser) -> None:
    p.add_argument("--as", dest="author", metavar="NAME",
                   help="which of the names [people] maps your login to (default: $WARROOM_USER, "
                        "[incident] user, the first one); who acts is always the login")


def reopen(p: Parser) -> None:
    p.add_argument("--reopen", action="store_true", help="reopen a resolved incident to do this")


@command(("declare", "declare a new incident and print its id"))
def _declare(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("--severity", "-s", required=True, help="a level of the configured scheme, e.g. SEV1")
    p.add_argument("--title", "-t", required=True)
    p.add_argument("--impact", default="", help="who or what is affected")
    p.add_argument("--service", action="append", default=[], metavar="NAME", help="affected service (repeatable)")
    p.add_argument("--started", metavar="TIME", help="when the impact began (ISO 8601; no offset means UTC)")
    p.add_argument("--detected", metavar="TIME", help="when it was first detected (ISO 8601)")
    p.add_argument("--ic", metavar="NAME", help="assign the Incident Commander at once")
    author(p)


@command(("list", "list open incidents"))
def _list(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", help="include resolved incidents")
    p.add_argument("--json", action="store_true", help="print JSON")


@command(("show", "show an incident's state and timeline"))
def _show(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("--last", type=positive_int, metavar="N", help="only the last N timeline entries")


@command(("log", "append an entry to the timeline"))
def _log(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("text", nargs="?", help="the entry (omit with --stdin)")
    p.add_argument("--kind", "-k", default="note",
                   help="one of: " + ", ".join(sorted(k.value for k in FREE_TEXT_KINDS)))
    p.add_argument("--stdin", action="store_true",
                   help="one entry per input line; each id is printed once it is durable")
    p.add_argument("--at", metavar="TIME",
                   help="when it happened, if earlier: 14:32 (UTC, the latest such time) or ISO 8601")
    author(p)
    reopen(p)


@command(("severity", "change an incident's severity"))
def _severity(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("severity")
    author(p)
    reopen(p)


@command(("status", "change an incident's status"))
def _status(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("status", help="one of: " + ", ".join(s.value for s in Status))
    p.add_argument("--done", action="append", default=[], metavar="ITEM",
                   help="resolving: a checklist item that holds (its number or words; repeatable)")
    p.add_argument("--force", metavar="REASON",
                   help="resolve although checklist items are not done (the reason is journaled)")
    p.add_argument("--at", metavar="TIME",
                   help="when it happened, if earlier: 14:32 (UTC, the latest such time) or ISO 8601")
    author(p)
    reopen(p)


@command(("notify", "record that an audience the severity names was told (journaled)"))
def _notify(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("audience", help='e.g. "engineering leadership" (see `warroom show`)')
    p.add_argument("--note", default="", help="how, e.g. \"called the VP on the bridge\"")
    author(p)


@command(("escalate", "record that the escalation chain's current step was contacted"))
def _escalate(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("--note", default="", help="how, e.g. \"paged, joined the bridge\"")
    author(p)


@command(("assign", "assign (or with --remove, stand down) a role"))
def _assign(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("role", help="one of: " + ", ".join(r.value for r in Role))
    p.add_argument("person")
    p.add_argument("--remove", action="store_true", help="the person stands down from the role")
    author(p)
    reopen(p)


@command(("take-command", "become the Incident Commander without the current IC's handoff "
                           "(journaled with the reason, shown to every console)"))
def _take_command(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("--reason", required=True, help="why, e.g. \"IC unreachable for 10 min\"")
    author(p)


@command(("impact", "change the stated impact or affected services"))
def _impact(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("--impact", help="who or what is affected now")
    p.add_argument("--service", action="append", metavar="NAME", help="affected service (repeatable; replaces the list)")
    p.add_argument("--cause", metavar="TEXT", help='the root cause once known ("" when it is not after all); '
                   "shown in updates, status-identified and the resolution notice")
    author(p)
    reopen(p)


@command(("category", "set what kind of incident it was, for the monthly report (\"\" clears it)"))
def _category(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("category", metavar="TEXT", help='e.g. "bad deploy", "database", "capacity"')
    author(p)


@command(("eta", "set the expected time to resolution shown in updates (30m, 14:30 UTC, or clear)"))
def _eta(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("eta", metavar="WHEN", help='"30m" from now, "14:30" (UTC, the next one), or "clear"')
    author(p)


@command(("followup", "record a follow-up action with an owner and due date"))
def _followup(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("text")
    p.add_argument("--owner", required=True)
    p.add_argument("--due", metavar="DATE", help="YYYY-MM-DD")
    p.add_argument("--priority", metavar="P0-P3", help="P0 (most urgent) to P3, as in the postmortem's action items")
    p.add_argument("--publish", action="store_true",
                   help="also file it as a ticket in the channels used for follow-ups (Jira, GitHub)")
    ticket_channels(p)
    author(p)


def ticket_channels(p: Parser) -> None:
    p.add_argument("--channel", action="append", default=[], metavar="NAME",
                   help="file only in this channel (repeatable; default: every channel used for follow-ups)")


@command(("followup-publish", "file a follow-up as a ticket in the channels used for follow-ups (Jira, GitHub)"))
def _followup_publish(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("entry", metavar="ENTRY_ID", type=positive_int)
    ticket_channels(p)
    p.add_argument("--dry-run", action="store_true", help="print the requests (secrets masked); send nothing")
    author(p)


@command(("followups", "follow-ups across incidents: open ones first, overdue first"))
def _followups(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("--owner", metavar="NAME", help="only this owner's")
    p.add_argument("--overdue", action="store_true", help="only open ones past their due date")
    p.add_argument("--all", action="store_true", help="done ones too")


@command(("report", "the monthly incident report: MTTD/MTTA/MTTM/MTTR against targets, categories, follow-ups"))
def _report(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("--month", metavar="YYYY-MM", help="a calendar month (default: the last whole month)")
    p.add_argument("--from", dest="start", metavar="DATE", help="first day (YYYY-MM-DD), with --to")
    p.add_argument("--to", dest="end", metavar="DATE", help="last day (YYYY-MM-DD), included")
    p.add_argument("--format", "-f", choices=["md", "json", "html"], default="md")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")


@command(("handoff", "on-call handoff notes: incidents, open follow-ups, ongoing issues, recent changes"))
def _handoff(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("--since", default="7d", metavar="DURATION", help='how far back (default "7d")')
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")


@command(("followup-done", "mark a follow-up done (its entry id, as `followup` printed it); "
                           "also `warroom followup done INC ID`"))
def _followup_done(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("entry", metavar="ENTRY_ID", type=positive_int)
    author(p)


@command(("milestone", "set a lifecycle time explicitly"))
def _milestone(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("milestone", help="one of: " + ", ".join(m.value for m in Milestone))
    p.add_argument("--at", metavar="TIME", help="ISO 8601 (default: now)")
    author(p)


@command(("update", "mark a status update as posted (restarts the update timer)"))
def _update(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("text", nargs="?", help="the update as posted (omit to read it from stdin)")
    p.add_argument("--template", default="internal-update", choices=TEMPLATE_NAMES,
                   help="what was posted: internal-update (default), or a status-* stage or "
                        "customer-email, which run the status page's own clock")
    author(p)


@command(("publish", "publish a drafted update to the configured channels (Slack, status page, PagerDuty, ...)"))
def _publish(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("--template", choices=TEMPLATE_NAMES,
                   help="the draft to publish (default: internal-update); the status-page and customer "
                        "templates are the only ones external channels take")
    p.add_argument("--channel", action="append", metavar="NAME",
                   help="only this channel (repeatable; default: the channels used at the moment)")
    p.add_argument("--moment", choices=MOMENTS,
                   help="the moment it is published at (default: the template's: update, declare, status, resolve)")
    p.add_argument("--text", help="publish this text instead of the draft ('-': read it from stdin)")
    p.add_argument("--notify", metavar="AUDIENCE",
                   help='the notice to an audience the severity names (e.g. "engineering leadership"): published '
                        "at the leadership moment; once delivered, the audience is marked notified")
    p.add_argument("--pending", action="store_true",
                   help="deliver what is still pending (a crashed console's publications)")
    p.add_argument("--dry-run", action="store_true", help="print the exact requests (secrets masked); send nothing")
    author(p)


@command(("export", "the whole incident as Markdown or JSON"))
def _export(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("--format", "-f", choices=["md", "json"], default="md")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")


@command(("config", "configuration"))
def _config(p: Parser, common: argparse.ArgumentParser) -> None:
    config_sub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", parser_class=Parser)
    config_sub.required = True
    config_sub.add_parser("check", help="validate the config and print it resolved, secrets masked",
                          parents=[common])


@command(("store", "the journal itself: copy it to another store, check one"))
def _store(p: Parser, common: argparse.ArgumentParser) -> None:
    store_sub = p.add_subparsers(dest="store_command", metavar="SUBCOMMAND", parser_class=Parser)
    store_sub.required = True
    copy = store_sub.add_parser("copy", parents=[common],
                                help="copy every incident and entry (uids kept; idempotent, resumable)")
    copy.add_argument("source", metavar="FROM_URL")
    copy.add_argument("destination", metavar="TO_URL")
    init = store_sub.add_parser("init", parents=[common],
                                help="create (or migrate) the journal's tables, e.g. as the team journal's owner")
    init.add_argument("url", metavar="URL")
    init.add_argument("--grant", metavar="ROLE", help="a PostgreSQL role (the team's group role) that may then "
                      "read, add incidents and entries, and hold leases: nothing else")
    check = store_sub.add_parser("check", parents=[common], help="reachability, schema version and counts")
    check.add_argument("url", metavar="URL", nargs="?", help="the store (default: --store, $WARROOM_STORE, "
                       "[store] url, the default file)")


@command(("open", "open the Incident Commander's console"),
         ("scribe", "open a scribe's console (starts in the timeline input)"))
def _console(p: Parser, common: argparse.ArgumentParser) -> None:
    ic = p.prog.endswith(" open")
    p.add_argument("incident", metavar="INC", nargs="?" if ic else None,
                   help="the incident (default: the one open incident)" if ic else None)
    p.add_argument("--read-only", action="store_true", help="observe only: every change is refused")
    p.add_argument("--theme", metavar="NAME", help="warroom-dark, warroom-light, warroom-projector, or a user theme")
    author(p)


@command(("check", "run the health checks once (--once) or refreshing in place"))
def _check(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="one sweep, then exit 0 ok / 1 warn / 2 critical")
    p.add_argument("--json", action="store_true",
                   help="print a JSON array (name, kind, state, summary, latency_ms, details)")


@command(("action", "mitigations: list them, or run one with preview, confirmation and audit"))
def _action(p: Parser, common: argparse.ArgumentParser) -> None:
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


@command(("runbook", "runbooks: list, show, run a step read-only, tick a step, lint"))
def _runbook(p: Parser, common: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="runbook_command", metavar="SUBCOMMAND", parser_class=Parser)
    sub.required = True
    sub.add_parser("list", help="the runbooks found", parents=[common])
    show = sub.add_parser("show", help="a runbook: its steps, options and escalation", parents=[common])
    show.add_argument("name")
    show.add_argument("--incident", "-i", metavar="INC", help="with each step's state on this incident")
    run = sub.add_parser("run", help="run a step read-only, print its output and journal it as evidence",
                         parents=[common])
    run.add_argument("name")
    run.add_argument("step", type=positive_int, help="the step's number as written (### 2. ... is 2)")
    run.add_argument("--incident", "-i", required=True, metavar="INC")
    author(run)
    tick = sub.add_parser("tick", help="mark a step done by hand (or --skip it), journaled", parents=[common])
    tick.add_argument("name")
    tick.add_argument("step", type=positive_int)
    tick.add_argument("--incident", "-i", required=True, metavar="INC")
    tick.add_argument("--skip", action="store_true", help="the step does not apply: skipped, not done")
    author(tick)
    check = sub.add_parser("check", help="lint runbooks: sections, checks, actions, steps that can't run",
                           parents=[common])
    check.add_argument("path", nargs="?", help="a runbook file or directory (default: the configured ones)")


@command(("postmortem", "write the postmortem draft from the journal (Markdown)"))
def _postmortem(p: Parser, common: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="INC")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    p.add_argument("--published", metavar="WHERE",
                   help="instead: record that the finished postmortem is published there (a link or a path)")
    author(p)


@command(("demo", "a live simulated incident on loopback, already declared: mitigate it"),
         ("drill", "a game day: the same simulation, nothing declared; scored at the end"))
def _simulation(p: Parser, common: argparse.ArgumentParser) -> None:
    demo = p.prog.endswith(" demo")
    p.add_argument("scenario", nargs="?" if demo else None, metavar="SCENARIO",
                   help="a shipped scenario (see --list) or a scenario file" +
                   (" (default: bad-deploy)" if demo else ""))
    p.add_argument("--speed", type=float, default=4.0 if demo else 1.0,
                   help="how much faster than real time the scenario runs")
    p.add_argument("--theme", metavar="NAME")
    if demo:
        p.add_argument("--list", action="store_true", help="list the scenarios")
        p.add_argument("--walkthrough", action="store_true",
                       help="instead: a printed walk-through of the CLI on a throwaway journal")
    author(p)


def build_parser(only: str | None = None) -> Parser:
    """The whole command line, or with ``only`` (a command's name) just that subcommand
    under the top level: what parsing needs once the command is known, without the ~5 ms
    that building every subcommand costs each start-up."""
    common = _common()
    parser = Parser(prog="warroom", parents=[common],
                    description="A terminal console for a production incident's war room.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (help, builder) in COMMANDS.items():
        if only is None or name == only:
            builder(sub.add_parser(name, help=help, description=help, parents=[common]), common)
    return parser


def _command_word(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is no option or option value)."""
    words = iter(argv)
    for word in words:
        if word in ("--store", "--config"):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _utf8(argv: list[str]) -> None:
    """Every word is valid UTF-8: undecodable bytes (PEP 383 hands them over as lone
    surrogates) would otherwise reach the journal, or fail at the first print."""
    for number, word in enumerate(argv, start=1):
        try:
            word.encode("utf-8")
        except UnicodeEncodeError as exc:
            at = len(word[:exc.start].encode("utf-8")) + 1
            shown = word.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise UsageError(f"warroom: argument {number} is not valid UTF-8 (byte {at}): {shown!r}") from None


def _followup_done(argv: list[str]) -> list[str]:
    """``followup done INC ID`` is ``followup-done INC ID`` (no incident is called "done")."""
    at = argv.index("followup")
    rest = argv[at + 1:]
    word = _command_word(rest)
    if word != "done":
        return argv
    index = rest.index("done")
    return argv[:at] + ["followup-done"] + rest[:index] + rest[index + 1:]


def parse(argv: list[str] | None) -> argparse.Namespace:
    argv = list(sys.argv[1:] if argv is None else argv)
    _utf8(argv)
    word = _command_word(argv)
    if word == "followup":
        argv = _followup_done(argv)
        word = _command_word(argv)
    if word is None and not {"-h", "--help"} & set(argv):
        # Plain `warroom`: the console on the one open incident.
        return build_parser(only="open").parse_args([*argv, "open"])
    # An unknown word (or --help) gets the whole parser: its error names every command.
    return build_parser(only=word if word in COMMANDS else None).parse_args(argv)
