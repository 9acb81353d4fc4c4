"""Regenerate screenshots/*.svg: the console's scenes (fixed clock, sample incident, the
same ones the snapshot tests use) and two pictures of the live demo (bad-deploy), broken and
then rolled back:

    .venv/bin/python screenshots/make.py            # everything
    .venv/bin/python screenshots/make.py demo       # only the demo
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from warroom.tui.scenes import SCENES, build, settle

HERE = Path(__file__).resolve().parent


async def shoot(name: str, app) -> Path:
    scene = SCENES[name]
    async with app.run_test(size=scene.size) as pilot:
        await settle(pilot, scene)
        target = HERE / f"{name}.svg"
        app.save_screenshot(filename=target.name, path=str(HERE))
    return target


async def demo() -> None:
    """The live demo: a picture once the checks are red, another after the rollback."""
    from warroom.cli.demo import _run

    async def pilot_run(pilot):
        app = pilot.app

        async def until(condition, timeout=90.0):
            deadline = asyncio.get_running_loop().time() + timeout
            while not condition():
                if asyncio.get_running_loop().time() > deadline:
                    raise SystemExit("the demo did not get there in time")
                await pilot.pause(0.1)

        await until(lambda: app.wired and app.health_flow.runner is not None and len(app.health_flow.runner.latest) == 4
                    and sum(r.state.value == "critical" for r in app.health_flow.runner.latest.values()) >= 3)
        await pilot.pause(1.0)
        app.save_screenshot(filename="demo-broken.svg", path=str(HERE))
        await pilot.press("x", "enter")
        await until(lambda: len(app.screen_stack) == 2 and bool(app.screen.query("#typed")))
        await pilot.press(*"api")
        app.save_screenshot(filename="demo-confirm.svg", path=str(HERE))
        await pilot.press("enter")
        await until(lambda: app.incident_flow.incident.mitigated_at is not None)
        await pilot.pause(1.0)
        app.save_screenshot(filename="demo-recovered.svg", path=str(HERE))
        await pilot.press("q")

    await _run("bad-deploy", speed=20, drill=False, store=None, author="alice", login="alice", theme=None,
               auto_pilot=pilot_run)
    for name in ("demo-broken", "demo-confirm", "demo-recovered"):
        print(HERE / f"{name}.svg")


def main() -> int:
    if sys.argv[1:] == ["demo"]:
        asyncio.run(demo())
        return 0
    names = sys.argv[1:] or [*SCENES, "demo"]
    if "demo" in names:
        names.remove("demo")
        asyncio.run(demo())
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            app = build(SCENES[name], Path(tmp))  # outside the loop: it runs its own
            print(asyncio.run(shoot(name, app)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
