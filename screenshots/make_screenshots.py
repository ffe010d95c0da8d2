#!/usr/bin/env python3
"""Regenerate screenshots/*.svg from the wizard's snapshot tests, at 80x24 by default.

    .venv/bin/python screenshots/make_screenshots.py [--out DIR] [--size 80x24] [--check]

Each screenshot is a copy of an SVG that tests/test_wizard_snapshots.py renders from the real
app on the built-in demo system (the same keys an operator presses) and checks on every test
run: nothing is rendered twice. After a change to the screens, update the snapshots
(`tests/run.sh tests/test_wizard_snapshots.py --snapshot-update`), review them, then run this.
--check changes nothing and exits 1 if DIR is not what this would write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNAPSHOTS = HERE.parent / "tests/__snapshots__/test_wizard_snapshots"

# screenshot name -> the snapshot test's screen (tests/test_wizard_snapshots.py SCREENS).
SHOTS = {
    "overview": "overview",
    "address": "address",
    "method1-tcp-wrappers": "method1",
    "confirm-apply": "confirm-apply",
    "method1-after-apply": "method1-after-apply",
    "method2-libraries": "method2",
    "method3-whitelist": "method3",
    "method4-network": "method4-probe",
    "other-causes": "others",
    "summary": "summary-after-both-fixes",
    "help": "help",
}


def snapshot(screen: str, size: str) -> Path:
    return SNAPSHOTS / f"test_screen[{screen}-{size}].svg"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--size", default="80x24")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if --out differs from the snapshots")
    args = ap.parse_args()
    missing = [str(snapshot(s, args.size)) for s in SHOTS.values()
               if not snapshot(s, args.size).is_file()]
    if missing:
        print("no snapshot (run tests/test_wizard_snapshots.py --snapshot-update): "
              + ", ".join(missing), file=sys.stderr)
        return 2
    stale = []
    if not args.check:
        args.out.mkdir(parents=True, exist_ok=True)
    for name, screen in SHOTS.items():
        data = snapshot(screen, args.size).read_bytes()
        path = args.out / f"{name}.svg"
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(str(path))
        else:
            path.write_bytes(data)
            print(path)
    # before-after.svg is a terminal transcript, made by make_before_after.py.
    extra = sorted(str(p) for p in args.out.glob("*.svg")
                   if p.stem not in SHOTS and p.stem != "before-after") \
        if args.check else []
    if stale or extra:
        print("not current (run screenshots/make_screenshots.py): "
              + ", ".join(stale + [f"{p} (no such screen)" for p in extra]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
