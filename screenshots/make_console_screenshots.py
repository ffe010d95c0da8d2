#!/usr/bin/env python3
"""Render screenshots/console-*.png: the wizard as the Linux console (the cloud console's VNC
view) draws it, 80x24 in Debian's Lat15-Fixed16 font and the kernel's VGA colours.

    .venv/bin/python screenshots/make_console_screenshots.py [--out DIR] [--check]

The real app runs in a pty with TERM=linux on the built-in demo system (built at a fixed path,
as the snapshot tests do); its output goes through a terminal model with the kernel's
attribute rules (tests/helpers/vtconsole.py), and each main screen is drawn with the font.
Prints, per screen, the cells below 4.5:1 contrast and the characters a console font lacks
(exit 1 if there is any). Notices are left out and the cursor does not blink: the pictures
are the same on every run. --check writes nothing and exits 1 if DIR is not what this would
write.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.helpers import vtconsole as vt  # noqa: E402

DEMO_DIR = Path("/tmp/ssh-reset-doctor-console-shots")
LAUNCH = """
import sys
from pathlib import Path
from textual.widgets import Input
from tui.wizard.app import WizardApp, WizardConfig

class Shots(WizardApp):
    def say(self, message, **kw):  # notices come and go with the machine's speed
        pass

def steady(self, event, mount=Input._on_mount):  # a blinking cursor: timing in the picture
    self.cursor_blink = False
    mount(self, event)

Input._on_mount = steady

d = Path(sys.argv[1])
sys.exit(Shots(WizardConfig(root=str(d / "sysimage"), label="demo sample system (demo-instance)",
                            copies_dir=d / "copies", save_dir=d / "saved")).run())
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if --out differs from the renders")
    args = ap.parse_args()
    from tui.core.demo import build_sample

    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    build_sample(DEMO_DIR / "sysimage")
    env = {"TERM": "linux", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": str(DEMO_DIR / "home"), "XDG_STATE_HOME": str(DEMO_DIR / "state"),
           "PYTHONPATH": str(REPO)}
    run = vt.ConsoleRun([sys.executable, "-c", LAUNCH, str(DEMO_DIR)], env, cwd=REPO)
    try:
        shots = vt.tour(run)
    finally:
        run.close()
        shutil.rmtree(DEMO_DIR, ignore_errors=True)
    print(vt.report(shots))
    stale = []
    if not args.check:
        args.out.mkdir(parents=True, exist_ok=True)
    for name, grid in shots:
        path, data = args.out / f"console-{name}.png", vt.png(grid)
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(str(path))
        else:
            path.write_bytes(data)
            print(path)
    if stale:
        print("not current (run screenshots/make_console_screenshots.py): "
              + ", ".join(stale), file=sys.stderr)
    bad = [n for n, g in shots if vt.low_contrast(g) or vt.undrawable(g)]
    return 1 if bad or stale else 0


if __name__ == "__main__":
    sys.exit(main())
