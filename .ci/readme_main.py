"""Run the README's main set-up command literally, in a pseudo-terminal, as a newcomer would,
in a fresh clone (so a fresh virtualenv, installed from the package registry): wait for the
live incident to be on screen with a red check, press q, expect exit 0."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main_command() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    lines = [line for line in blocks[0].splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) == 1, f"the README's first block should hold one command, found {lines}"
    return lines[0]


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="warroom-readme-"))
    try:
        return run(workdir / "warroom")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(fresh: Path) -> int:
    command = main_command()
    print(f"README main command: {command}", flush=True)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(fresh)], check=True)
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(fresh)
        os.environ.update(TERM="xterm-256color", COLUMNS="140", LINES="42")
        os.execv("/bin/bash", ["bash", "-c", command])
    seen = b""
    deadline = time.monotonic() + 300
    quit_sent = False
    while True:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            print("the demo did not come up and quit within 300 s", file=sys.stderr)
            return 1
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                pass
        if not quit_sent and b"critical" in seen and b"api returning 5xx" in seen:
            os.write(fd, b"q")
            quit_sent = True
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            print(f"exit {code}; the live incident was {'shown' if quit_sent else 'NOT shown'}")
            return 0 if code == 0 and quit_sent else 1


if __name__ == "__main__":
    sys.exit(main())
