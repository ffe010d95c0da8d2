#!/usr/bin/env python3
"""Regenerate screenshots/*.svg from the real wizard on the built-in demo system.

    .venv/bin/python screenshots/make_screenshots.py [--out DIR] [--size 80x24]

Drives the app with Textual's Pilot (the same keys an operator presses) and saves one SVG
per screen, at the VNC console's 80x24 by default. Run it after any change to the screens.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.commands.wizard import DEMO_LABEL  # noqa: E402
from tui.core.demo import build_sample  # noqa: E402
from tui.wizard.app import WizardApp, WizardConfig  # noqa: E402

# name -> keys pressed from the overview; "!" applies the recommended fix first.
# The demo's logs name two addresses: the operator picks theirs first.
PICK = ("up", "enter", "enter", "!wait")
SHOTS = {
    "overview": (),
    "address": ("up", "enter"),
    "method1-tcp-wrappers": (*PICK, "1"),
    "confirm-apply": (*PICK, "1", "a"),
    "method1-after-apply": (*PICK, "1", "a", "y", "!wait"),
    "method2-libraries": (*PICK, "2"),
    "method3-whitelist": (*PICK, "3"),
    "method4-network": (*PICK, "4"),
    "other-causes": (*PICK, "5"),
    "summary": (*PICK, "1", "a", "y", "!wait", "2", "a", "y", "!wait", "n", "n", "n", "n"),
    "help": ("question_mark",),
}


async def shoot(name: str, keys: tuple[str, ...], out: Path, size: tuple[int, int]) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        sample = build_sample(Path(tmp) / "demo")
        app = WizardApp(WizardConfig(root=str(sample.root), label=DEMO_LABEL,
                                     copies_dir=Path(tmp) / "copies"))
        async with app.run_test(size=size) as pilot:
            await _settle(pilot, app)
            for key in keys:
                if key == "!wait":
                    await _settle(pilot, app)
                else:
                    await pilot.press(key)
            await _settle(pilot, app)
            path = out / f"{name}.svg"
            app.save_screenshot(filename=path.name, path=str(out))
            return path


async def _settle(pilot, app: WizardApp) -> None:  # type: ignore[no-untyped-def]
    for _ in range(400):
        if app.session is not None and app.session.report is not None and not app.busy:
            break
        await pilot.pause(0.05)
    await pilot.pause()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--size", default="80x24")
    args = ap.parse_args()
    cols, rows = (int(n) for n in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, keys in SHOTS.items():
        print(asyncio.run(shoot(name, keys, args.out, (cols, rows))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
