"""Regenerate screenshots/*.svg from the console's scenes (fixed clock, sample incident):

    .venv/bin/python screenshots/make.py
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


def main() -> int:
    names = sys.argv[1:] or list(SCENES)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            app = build(SCENES[name], Path(tmp))  # outside the loop: it runs its own
            print(asyncio.run(shoot(name, app)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
