"""Start-up time of the console (`warroom open`) to its first frame, against a bare Textual app.

    .venv/bin/python bench/startup.py [--runs 20] [--linger 3] [--big 100000] [--what-if RUNS] [--keep]

Setup (not measured): a fresh temporary directory holds the journal, made with the real CLI:
`warroom declare --store sqlite:///<tmp>/journal.db -s SEV1 -t TITLE --ic alice ...` and five
`warroom log INC-1 ... --store ...` calls. Every child runs with that directory as its working
directory and XDG_CONFIG_HOME / XDG_DATA_HOME inside it, WARROOM_CONFIG / WARROOM_STORE unset
(so: built-in default config, no user themes), TERM=xterm-256color, no COLUMNS/LINES, and
without PYTHONDONTWRITEBYTECODE, so warroom runs from cached bytecode as an installed copy does
(the warm-up writes it).

What is measured, from this (parent) process: the time from just before `pty.fork()` to the
moment a distinctive string of the first frame arrives on the pseudo-terminal's master side.
The child makes the pty its controlling terminal (pty.fork), sets the window size to 120x40
(TIOCSWINSZ on the slave, before exec), then execs the venv's python with `-c CODE`, so
Textual runs its real Linux driver, writer thread and all. The parent reads the master
continuously (select + os.read) and records the time at the first occurrence of each marker,
then kills the child (SIGKILL, by pid) once the last marker has arrived.

  bare     a Textual App with Header(), Static(MARKER), Footer(); its first frame holds
           MARKER, so "first frame" = MARKER seen.
  console  `warroom open --store URL` exactly as the console script runs it
           (sys.argv set, then warroom.cli.entry_point()). Four markers:
             layout   "Update draft" (a pane's border title): the first full-screen update,
                      the header and the panes' frames;
             title    the incident's title, in the header: the first frame that shows the
                      incident (the CLI reads the incident's state before the app starts,
                      so it is the same frame as "layout");
             filled   the text of the journal's last entry: the panes' contents mounted
                      (in on_ready, after the first frame) and the journal loaded and drawn;
             config   "No health checks configured" in the Health pane: the configuration
                      validated (in a thread, once the timeline is drawn) and applied. Until
                      then the pane reads "Reading the configuration…" (before run S4 it said
                      "No health checks configured" from its first frame, so this marker came
                      before the configuration was read: S-S3's "complete" is not comparable).
           "title" is the first frame; "complete" is the later of filled and config: the
           console as the IC uses it.

CPU time: when a marker arrives the parent also reads the child's CPU time so far (the sum
of /proc/<pid>/task/*/schedstat over its threads), a figure less disturbed by other work on
the machine than wall time.

Runs: one warm-up of each (not counted: it fills the page cache and __pycache__), then
--runs of each, alternating bare, console, bare, console, ... Figures are the median and
p90 (linear interpolation) of each; the ratios are console median / bare median, in the same
run. Goals: first frame (title) <= 1.5x, complete (timeline drawn and config validated)
<= 2.0x.

--big N: the console on an incident of N entries (common.build_big_incident, as
bench/ui_lag.py builds it), 3 runs after a warm-up, to show how the first frames scale with
the incident.

--what-if RUNS: interleaved rounds of consoles with other configurations, all validated
after the first frame like the default one: a config holding one http check and one action;
one holding one kubernetes check; a custom severity scheme. Their "complete" marker is what
their Health pane shows once the config is in (the check's name, or "No health checks").

Then console runs with `python -X importtime` (not timed: importtime slows imports
down), whose import log (stderr, fd 2) goes to a file while Textual's output goes to the pty
(sys.__stderr__ is rebound to a dup of the pty before warroom is imported). The file's size
is noted when each marker arrives, so the imports done before the first frame are told apart
from those done after it; the child then keeps running --linger seconds (to catch lazy
imports, e.g. a kubernetes client loaded after the first frame) before it is killed. Printed:
the top 15 imports by cumulative time and by self time before the title frame, the total
self time per top-level package, which heavy third-party packages were imported, and whether
`kubernetes` was imported (it must not be, before the first frame). The same run is done
with the kubernetes-check config (only the summary and the kubernetes verdict are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from common import PYTHON, percentile  # noqa: E402

COLUMNS, ROWS = 120, 40
TITLE = "Checkout API returning 500s for EU customers"
BARE_MARKER = "BARE-APP-FIRST-FRAME-MARKER"
LAYOUT_MARKER = "Update draft"
LAST_ENTRY = "Error ratio back under 1%"
FILLED_MARKER = LAST_ENTRY[:20]  # the timeline cuts long lines; this part always shows
CONFIG_MARKER = "No health checks configured"  # the Health pane, once the default config is in
GOALS = {"title": 1.5, "complete": 2.0}  # console / bare, medians
TIMEOUT_S = 30.0
HEAVY = ("textual", "rich", "pydantic", "pydantic_core", "jinja2", "markupsafe", "httpx",
         "httpcore", "anyio", "h11", "aiohttp", "asyncpg", "redis", "kubernetes", "yaml",
         "urllib3", "requests", "platformdirs", "sqlite3", "asyncio", "tomllib", "email",
         "ssl", "uuid", "json", "zoneinfo")

BARE_CODE = f"""
from textual.app import App
from textual.widgets import Footer, Header, Static

class Bare(App):
    def compose(self):
        yield Header()
        yield Static({BARE_MARKER!r})
        yield Footer()

Bare().run()
"""

CONSOLE_CODE = """
import sys
sys.argv = ["warroom", "open", "--store", {url!r}] + {extra!r}
from warroom.cli import entry_point
entry_point()
"""

# For the second -X importtime run: a console configured with a Kubernetes health check (no
# cluster is reachable here; the check fails, which is fine: the point is when the client is
# imported, and DESIGN.md says after the first frame).
KUBE_CONFIG = """
[[check]]
name = "api-deploy"
kind = "kubernetes"
namespace = "prod"
deployment = "api"
interval = "10s"
timeout = "2s"
"""

# For the -X importtime run: fd 2 is the import log file; Textual writes to sys.__stderr__,
# so point that (and sys.stderr) at fd 3, a dup of the pty, before anything else is imported.
REBIND_STDERR = """
import sys
sys.__stderr__ = sys.stderr = open(3, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
"""


CUSTOM_SCHEME_CONFIG = """
[severity]
scheme = "ours"

[[severity.levels]]
name = "SEV1"
title = "Critical"
update_every = "15m"
required_roles = ["ic", "scribe"]

[[severity.levels]]
name = "SEV2"
update_every = "30m"
"""
HTTP_CONFIG = """
[[check]]
name = "api-health"
kind = "http"
url = "http://127.0.0.1:9/health"
interval = "10s"
timeout = "1s"

[[action]]
name = "restart-api"
kind = "command"
argv = ["true"]
"""


# -- setup ----------------------------------------------------------------------------------


def child_env(work: Path) -> dict[str, str]:
    return common.terminal_env(work)


def make_journal(work: Path, url: str) -> None:
    env = child_env(work)

    def cli(*args: str) -> None:
        subprocess.run([PYTHON, "-m", "warroom", *args, "--store", url], cwd=work, env=env,
                       check=True, stdout=subprocess.DEVNULL)

    cli("declare", "-s", "SEV1", "-t", TITLE, "--ic", "alice", "--impact", "~30% of EU checkouts fail",
        "--service", "api", "--service", "checkout")
    for text in ("Error ratio on api jumped to 12% at 09:58, right after the deploy of v1.2.3",
                 "Paged the payments on-call; bob joining the bridge",
                 "Rolling back api to v1.2.2",
                 "Rollback finished; watching the error ratio for 15 minutes",
                 LAST_ENTRY):
        cli("log", "INC-1", text)


def cpu_seconds(pid: int) -> float:
    """CPU time the process has run so far, all its threads (schedstat: ns on a CPU)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


# -- one child under a pty ------------------------------------------------------------------


def run_child(code: str, markers: list[str], work: Path, *, python_flags: tuple[str, ...] = (),
              stderr_file: Path | None = None, linger: float = 0.0) -> dict[str, float | int]:
    """Start `python -c code` under a new pty; return {marker: seconds since the fork}, and,
    with stderr_file, {marker + "@offset": that file's size when the marker arrived}."""
    env = child_env(work)
    argv = [PYTHON, *python_flags, "-c", (REBIND_STDERR + code) if stderr_file else code]
    log_fd = os.open(stderr_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) if stderr_file else None
    t0 = time.perf_counter()
    pid, master = common.spawn_in_pty(argv, work, env, COLUMNS, ROWS, stderr_fd=log_fd)
    if log_fd is not None:
        os.close(log_fd)
    found: dict[str, float | int] = {"@t0": t0}  # perf_counter() at the fork: CLOCK_MONOTONIC, as in the child
    buffer = bytearray()
    wanted = [(m, m.encode()) for m in markers]
    longest = max(len(b) for _, b in wanted)
    deadline = t0 + TIMEOUT_S
    stop_at: float | None = None
    try:
        while True:
            now = time.perf_counter()
            if stop_at is not None and now >= stop_at:
                break
            if now > deadline:
                raise RuntimeError(f"markers {[m for m, _ in wanted if m not in found]} not seen "
                                   f"within {TIMEOUT_S:.0f} s; output tail: {bytes(buffer[-2000:])!r}")
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: the child is gone
                data = b""
            stamp = time.perf_counter()
            if not data:
                if stop_at is None:
                    raise RuntimeError(f"child exited before its first frame: {bytes(buffer[-2000:])!r}")
                break
            start = max(0, len(buffer) - longest)
            buffer += data
            for name, needle in wanted:
                if name not in found and buffer.find(needle, start) >= 0:
                    found[name] = stamp - t0
                    found[name + "@cpu"] = cpu_seconds(pid)
                    if stderr_file is not None:
                        found[name + "@offset"] = stderr_file.stat().st_size
            if stop_at is None and all(name in found for name, _ in wanted):
                stop_at = stamp + linger
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(master)
    return found


# -- figures ---------------------------------------------------------------------------------


def p90(values: list[float]) -> float:
    return percentile(values, 0.9)


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:7.0f} ms"


IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)\s*$")


def parse_importtime(text: str) -> list[tuple[str, int, int, int]]:
    """(module, self us, cumulative us, depth) in the order the imports finished."""
    rows = []
    for line in text.splitlines():
        m = IMPORT_LINE.match(line)
        if m:
            rows.append((m.group(4), int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2))
    return rows


def import_report(log: Path, offsets: dict[str, int], top: int = 15) -> list[str]:
    raw = log.read_bytes()
    before = parse_importtime(raw[:offsets["title"]].decode("utf-8", "replace"))
    before_layout = parse_importtime(raw[:offsets["layout"]].decode("utf-8", "replace"))
    after = parse_importtime(raw[offsets["title"]:].decode("utf-8", "replace"))
    out = [f"Imports before the title frame: {len(before)} modules "
           f"({len(before_layout)} before the layout frame), self time total "
           f"{sum(r[1] for r in before) / 1000:.0f} ms under -X importtime; "
           f"{len(after)} more modules in the following seconds."]
    out.append(f"Top {top} by cumulative time (before the title frame; nested, so parents include children):")
    for name, self_us, cum_us, depth in sorted(before, key=lambda r: -r[2])[:top]:
        out.append(f"  {cum_us / 1000:8.1f} ms cum  {self_us / 1000:7.1f} ms self  {'  ' * min(depth, 6)}{name}")
    out.append(f"Top {top} by self time (the module's own top-level code):")
    for name, self_us, cum_us, depth in sorted(before, key=lambda r: -r[1])[:top]:
        out.append(f"  {self_us / 1000:8.1f} ms self {cum_us / 1000:8.1f} ms cum  {name}")
    per_pkg: dict[str, int] = {}
    for name, self_us, _, _ in before:
        per_pkg[name.split(".")[0]] = per_pkg.get(name.split(".")[0], 0) + self_us
    out.append("Self time per top-level package (before the title frame):")
    for pkg, us in sorted(per_pkg.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"  {us / 1000:8.1f} ms  {pkg}")
    names_before = {r[0] for r in before}
    names_after = {r[0] for r in after}
    present = [p for p in HEAVY if p in names_before]
    out.append("Heavy/notable packages imported before the title frame: " + ", ".join(
        f"{p} ({next(r[2] for r in before if r[0] == p) / 1000:.0f} ms cum)" for p in present))
    late = sorted({n.split(".")[0] for n in names_after} - {n.split(".")[0] for n in names_before})
    out.append("Top-level packages first imported after the title frame: " + (", ".join(late) or "none"))
    def kube(rows: list[tuple[str, int, int, int]]) -> list[str]:
        return [r[0] for r in rows if r[0] == "kubernetes" or r[0].startswith("kubernetes.")]

    kube_layout, kube_title, kube_after = kube(before_layout), kube(before), kube(after)
    between = kube_title[len(kube_layout):] if len(kube_title) >= len(kube_layout) else kube_title
    verdict = "OK, not imported" if not kube_title else (
        f"FAIL: {len(kube_title)} kubernetes modules finished importing before the title frame "
        f"({len(kube_layout)} before the layout frame; {', '.join(between[:4])})")
    kube_top = [r for r in after if r[0] == "kubernetes"]
    cost = f", `import kubernetes` {kube_top[0][2] / 1000:.0f} ms cumulative" if kube_top else ""
    out.append(f"kubernetes before the first frame: {verdict}; "
               f"after it (within the linger time): {len(kube_after)} kubernetes modules{cost}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--linger", type=float, default=3.0,
                        help="seconds the -X importtime child keeps running after its first frame")
    parser.add_argument("--big", type=int, default=100_000,
                        help="also time the console on an incident with this many entries (3 runs; 0: skip)")
    parser.add_argument("--what-if", type=int, default=0, metavar="RUNS",
                        help="also time variants, RUNS interleaved rounds: a config with an http check and an "
                             "action, one with a kubernetes check, one with a custom severity scheme")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    with common.work_dir("warroom-bench-startup-", keep=args.keep) as work:
        run(args, work)
    return 0


def run(args: argparse.Namespace, work: Path) -> None:
    url = f"sqlite:///{work / 'journal.db'}"
    print(f"machine: {common.machine('textual')}; python {PYTHON}")
    print(f"code: {common.git_state()}; load average at start {common.loadavg()} (other work on this "
          "machine shows up as noise: compare the alternating pairs)")
    print(f"journal: {url} (1 incident, declare + IC + 5 log entries); terminal {COLUMNS}x{ROWS}")
    make_journal(work, url)

    console_code = CONSOLE_CODE.format(url=url, extra=[])
    kinds = {
        "bare": (BARE_CODE, [BARE_MARKER]),
        "console": (console_code, [LAYOUT_MARKER, TITLE, FILLED_MARKER, CONFIG_MARKER]),
    }
    for kind, (code, markers) in kinds.items():  # warm-up, not counted
        run_child(code, markers, work)
    names = ("bare", "console layout", "console title", "console filled", "console config", "console complete")
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {"bare": [], "console title": [], "console complete": []}
    for i in range(args.runs):
        for kind in ("bare", "console"):
            code, markers = kinds[kind]
            found = run_child(code, markers, work)
            if kind == "bare":
                times["bare"].append(found[BARE_MARKER])
                cpu["bare"].append(found[BARE_MARKER + "@cpu"])
                continue
            for name, marker in (("layout", LAYOUT_MARKER), ("title", TITLE), ("filled", FILLED_MARKER),
                                 ("config", CONFIG_MARKER)):
                times[f"console {name}"].append(found[marker])
            last = max((FILLED_MARKER, CONFIG_MARKER), key=lambda m: found[m])
            times["console complete"].append(found[last])
            cpu["console title"].append(found[TITLE + "@cpu"])
            cpu["console complete"].append(found[last + "@cpu"])
        print(f"  run {i + 1:2d}: bare {fmt_ms(times['bare'][-1])}   console title {fmt_ms(times['console title'][-1])}"
              f"   filled {fmt_ms(times['console filled'][-1])}   config {fmt_ms(times['console config'][-1])}",
              flush=True)

    print(f"\nprocess start -> frame, {args.runs} runs each, alternating (median / p90 / min / max):")
    for name, values in times.items():
        print(f"  {name:17s} {fmt_ms(statistics.median(values))} {fmt_ms(p90(values))} "
              f"{fmt_ms(min(values))} {fmt_ms(max(values))}")
    bare = statistics.median(times["bare"])
    ratios = {name: statistics.median(times[f"console {name}"]) / bare
              for name in ("layout", "title", "filled", "config", "complete")}
    print("ratio console/bare (medians): " + ", ".join(f"{name} {r:.2f}x" for name, r in ratios.items()))
    for name, goal in GOALS.items():
        print(f"  {name}: {ratios[name]:.2f}x the bare app (goal <= {goal:.1f}x): "
              f"{'met' if ratios[name] <= goal else 'NOT met'}; p90 ratio "
              f"{p90(times[f'console {name}']) / p90(times['bare']):.2f}x")
    c_bare = statistics.median(cpu["bare"])
    print(f"CPU time of the child up to that frame (all its threads, /proc/<pid>/task/*/schedstat; less "
          f"sensitive to other load): bare {fmt_ms(c_bare)}, console title "
          f"{fmt_ms(statistics.median(cpu['console title']))} "
          f"({statistics.median(cpu['console title']) / c_bare:.2f}x), complete "
          f"{fmt_ms(statistics.median(cpu['console complete']))} "
          f"({statistics.median(cpu['console complete']) / c_bare:.2f}x)")
    print(f"load average at the end of the timed runs {common.loadavg()}")

    if args.big:
        # Built as bench/ui_lag.py builds it (common.build_big_incident); not measured.
        big_url = asyncio.run(common.build_big_incident(work / "big.db", args.big))
        big_code = CONSOLE_CODE.format(url=big_url, extra=[])
        marks = [LAYOUT_MARKER, common.BIG_TITLE, CONFIG_MARKER]
        run_child(big_code, marks, work)  # warm-up
        big = [run_child(big_code, marks, work) for _ in range(3)]
        print(f"\nconsole on a {args.big}-entry incident, 3 runs (after a warm-up): title frame "
              f"{', '.join(fmt_ms(f[common.BIG_TITLE]).strip() for f in big)}; config validated (after the "
              f"timeline is drawn) {', '.join(fmt_ms(f[CONFIG_MARKER]).strip() for f in big)}")

    (work / "kube.toml").write_text(KUBE_CONFIG)
    (work / "http.toml").write_text(HTTP_CONFIG)
    if args.what_if:
        (work / "custom.toml").write_text(CUSTOM_SCHEME_CONFIG)
        configured = lambda name: CONSOLE_CODE.format(url=url, extra=["--config", str(work / name)])  # noqa: E731
        variants = {
            "bare (baseline)": (BARE_CODE, [BARE_MARKER]),
            "as is": (console_code, [TITLE, FILLED_MARKER, CONFIG_MARKER]),
            "config: http check + action": (configured("http.toml"), [TITLE, FILLED_MARKER, "api-health"]),
            "config: 1 kubernetes check": (configured("kube.toml"), [TITLE, FILLED_MARKER, "api-deploy"]),
            "config: custom severity scheme": (configured("custom.toml"), [TITLE, FILLED_MARKER, CONFIG_MARKER]),
        }
        for code, marks in variants.values():
            run_child(code, marks, work)  # warm-up
        got: dict[str, list[dict[str, float | int]]] = {name: [] for name in variants}
        for _ in range(args.what_if):
            for name, (code, marks) in variants.items():
                got[name].append(run_child(code, marks, work))
        bare_w = statistics.median(r[BARE_MARKER] for r in got["bare (baseline)"])
        print(f"\nwhat-if, {args.what_if} interleaved rounds (medians): first frame (x bare) / complete (x bare) "
              "/ CPU at first frame")
        for name, runs in got.items():
            first, last = variants[name][1][0], variants[name][1][-1]
            title = statistics.median(r[first] for r in runs)
            cpu_t = statistics.median(r[first + "@cpu"] for r in runs)
            done = (f"{fmt_ms(statistics.median(max(r[FILLED_MARKER], r[last]) for r in runs))} "
                    f"(x{statistics.median(max(r[FILLED_MARKER], r[last]) for r in runs) / bare_w:.2f})"
                    if last != first else "         -        ")
            print(f"  {name:32s} {fmt_ms(title)} (x{title / bare_w:.2f}) {done} {fmt_ms(cpu_t)}")

    kube_code = CONSOLE_CODE.format(url=url, extra=["--config", str(work / "kube.toml")])
    for label, code, full in (("default config (no checks)", console_code, True),
                              ("config with a kubernetes check", kube_code, False)):
        log = work / "importtime.log"
        found = run_child(code, [LAYOUT_MARKER, TITLE], work, python_flags=("-X", "importtime"),
                          stderr_file=log, linger=args.linger)
        print(f"\n-X importtime console run, {label} (not timed for the ratio): layout "
              f"{fmt_ms(found[LAYOUT_MARKER])}, title {fmt_ms(found[TITLE])}; lingered {args.linger:.0f} s")
        offsets = {"layout": int(found[LAYOUT_MARKER + "@offset"]), "title": int(found[TITLE + "@offset"])}
        report = import_report(log, offsets)
        for line in report if full else [report[0]] + report[-2:]:
            print(line)


if __name__ == "__main__":
    sys.exit(main())
