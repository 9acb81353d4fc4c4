"""Snapshot tests of the main screens, in three themes (pytest-textual-snapshot).

The scenes are the ones screenshots/make.py draws: a fixed clock and a sample incident.
Update the baselines deliberately with `pytest tests/test_snapshots.py --snapshot-update`
after a reviewed visual change; never to make a failing run pass.
"""

import pytest

from warroom.tui.scenes import SCENES, build, settle


@pytest.mark.parametrize("name", sorted(SCENES))
def test_screen(name, snap_compare, tmp_path):
    scene = SCENES[name]
    app = build(scene, tmp_path)

    async def before(pilot):
        await settle(pilot, scene)

    assert snap_compare(app, terminal_size=scene.size, run_before=before)
