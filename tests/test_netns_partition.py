"""Two "machines": a scribe's `warroom log --stdin` in a network namespace of its own reaching
PostgreSQL over a veth link, the IC's console on the host. The link is cut (`ip link set ...
down`) while the scribe keeps typing: it keeps printing spool ids; the link comes back:
every entry is on the IC's console and in the server, once, in order. Needs root and `ip`
(skipped with the reason otherwise, failed under CI=true)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading

import asyncpg
import pytest

from tests.conftest import PG_HOST, PG_PORT, child_env
from tests.console_support import FakeClock, console, sample_incident, until
from tests.tcp_proxy import TcpProxy


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def netns(require):
    require(os.geteuid() == 0 and shutil.which("ip") is not None, "needs root and iproute2 for ip netns")
    tag = f"{os.getpid() % 10000}"
    ns, host_if, ns_if = f"wr{tag}", f"wrh{tag}", f"wrn{tag}"
    octet = os.getpid() % 250 + 1
    host_ip, ns_ip = f"10.231.{octet}.1", f"10.231.{octet}.2"
    try:
        ip("netns", "add", ns)
    except subprocess.CalledProcessError as exc:
        require(False, f"ip netns add refused here: {exc.stderr.decode().strip()}")
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", ns)
        ip("addr", "add", f"{host_ip}/30", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("netns", "exec", ns, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_if)
        ip("netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        # PostgreSQL listens on the host's loopback: a forwarder on the link's host address.
        proxy = TcpProxy(PG_HOST, PG_PORT, listen_host=host_ip)
        try:
            yield ns, host_if, host_ip, proxy.port
        finally:
            proxy.close()
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


async def test_a_scribe_on_another_machine_keeps_typing_through_a_cut_link(netns, pg_store, tmp_path):
    ns, host_if, host_ip, port = netns
    clock = FakeClock()
    await sample_incident(pg_store, clock)
    remote_store = pg_store.replace(f"@{PG_HOST}:{PG_PORT}/", f"@{host_ip}:{port}/")
    scribe = subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, "-m", "warroom", "log", "INC-1", "--stdin",
         "--store", remote_store],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        env=child_env())
    printed: list[str] = []
    lock = threading.Lock()

    def read() -> None:
        for line in scribe.stdout:
            with lock:
                printed.append(line.strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def say(text: str) -> None:
        scribe.stdin.write(text + "\n")
        scribe.stdin.flush()

    def count() -> int:
        with lock:
            return len(printed)

    app = console(pg_store, clock, tmp_path)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, lambda: app.incident_flow.loaded)
            flow = app.incident_flow
            say("linked-0")
            try:
                await until(pilot, lambda: flow.entries[-1].text == "linked-0", timeout=20)
            except AssertionError:
                scribe.kill()
                raise AssertionError(f"the scribe: {scribe.stderr.read()}") from None
            ip("link", "set", host_if, "down")
            for n in range(5):
                say(f"cut-{n}")
                await until(pilot, lambda: count() == 2 + n, timeout=40)
            assert all(p.startswith("spool:") for p in printed[1:]), printed
            assert [e.text for e in flow.entries if e.text.startswith("cut-")] == []
            ip("link", "set", host_if, "up")
            say("back")
            await until(pilot, lambda: flow.entries[-1].text == "back", timeout=40)
            texts = [e.text for e in flow.entries]
            assert texts[-7:] == ["linked-0", *(f"cut-{n}" for n in range(5)), "back"]
    finally:
        scribe.stdin.close()
        scribe.wait(60)
        reader.join(10)
    assert scribe.returncode == 0, scribe.stderr.read()
    conn = await asyncpg.connect(pg_store)
    try:
        rows = await conn.fetch("SELECT uid, text FROM entries ORDER BY id")
    finally:
        await conn.close()
    texts = [r["text"] for r in rows]
    assert texts[-7:] == ["linked-0", *(f"cut-{n}" for n in range(5)), "back"]
    assert len(set(r["uid"] for r in rows)) == len(rows)
    uids = {r["uid"] for r in rows}
    assert {p.removeprefix("spool:") for p in printed if p.startswith("spool:")} <= uids
