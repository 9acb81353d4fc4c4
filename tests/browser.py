"""Debian's chromium, headless, for the tests that check HTML in a real browser. Where it is
missing, the first test needing it installs it from Debian's packages (as root, as on this
machine kind: the README's test command then works on a fresh machine); if that fails, the
test fails under CI=true and is skipped otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest


_INSTALL_TRIED = False


def _install() -> None:
    """``apt-get install chromium`` once per session, refreshing the package lists if the
    first try finds none (a fresh machine); quietly nothing when not root or no apt."""
    global _INSTALL_TRIED
    if _INSTALL_TRIED or shutil.which("apt-get") is None or os.geteuid() != 0:
        return
    _INSTALL_TRIED = True
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    for attempt in ([install], [["apt-get", "update", "-q"], install]):
        if all(subprocess.run(argv, env=env, capture_output=True, timeout=900).returncode == 0 for argv in attempt):
            return


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        _install()
        found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (.ci/run installs it: apt-get install -y -q chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--disable-background-networking", *args],
            capture_output=True, text=True, timeout=120, check=True)


def dump_dom(path: Path) -> str:
    """The document as chromium parsed it."""
    return _run("--dump-dom", path.as_uri()).stdout


def screenshot(path: Path, png: Path, size: str = "1200,2400") -> Path:
    _run(f"--screenshot={png}", f"--window-size={size}", path.as_uri())
    return png


def png_pixels(png: Path) -> tuple[int, int, set[tuple[int, int, int]]]:
    """Width, height and the distinct colours of an 8-bit RGB/RGBA, non-interlaced PNG
    (what chromium writes)."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            depth, colour = body[8], body[9]
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    colours: set[tuple[int, int, int]] = set()
    previous = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            upleft = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - upleft
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else upleft)) & 0xFF
        if row % 4 == 0:
            colours.update(tuple(line[i:i + 3]) for i in range(0, stride, channels * 2))
        previous = line
    return width, height, colours
