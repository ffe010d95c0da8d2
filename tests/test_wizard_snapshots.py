"""How every screen looks, on the built-in demo system (identical on every machine), at the
VNC console's 80x24 and at 120x36. Regenerate after a deliberate change with
`tests/run.sh tests/test_wizard_snapshots.py --snapshot-update` and review the SVG diffs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.wizard_kit import app_for, checked
from tui.core.demo import build_sample

SIZES = [(80, 24), (120, 36)]
SCREENS = {
    "overview": (),
    "method1": ("1",),
    "method1-alternative": ("1", "down"),
    "method2": ("2",),
    "method3": ("3",),
    "method4": ("4",),
    "others": ("5",),
    "summary": ("n", "n", "n", "n", "n", "n"),
    "confirm-apply": ("1", "a"),
    "help": ("question_mark",),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("keys", SCREENS.values(), ids=SCREENS.keys())
def test_screen(snap_compare, tmp_path: Path, size: tuple[int, int], keys: tuple[str, ...]) -> None:
    sample = build_sample(tmp_path / "demo")
    app = app_for(tmp_path, root=str(sample.root), label="demo sample system (demo-instance)")

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await checked(pilot)
        for key in keys:
            await pilot.press(key)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=ready)
