"""The wizard as the Linux virtual terminal (the cloud console's VNC view) draws it: the
installed app's real output from an 80x24 pty with TERM=linux, through a terminal model with
the kernel's attribute rules (tests/helpers/vtconsole.py), on every main screen: on the demo
and on this machine's own sshd in private namespaces. Every character must be in both console
fonts (Lat15-Fixed16 and CP437) and every text cell at contrast >= 4.5:1 in the VGA palette;
with NO_COLOR the badges, the highlighted row and the focus stay visible."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import vtconsole as vt

# The integration tier: real ptys, and namespaces with this machine's sshd.
pytestmark = pytest.mark.integration


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {"TERM": "linux", "HOME": str(tmp_path / "home"),
            "XDG_STATE_HOME": str(tmp_path / "state"), "TMPDIR": str(tmp_path / "tmp"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **extra}


def console_script() -> str:
    path = Path(sys.executable).parent / "ssh-reset-doctor"
    assert path.exists(), f"{path} missing: install the package (tests/run.sh does)"
    return str(path)


@pytest.fixture
def runs() -> Iterator[list[vt.ConsoleRun]]:
    started: list[vt.ConsoleRun] = []
    yield started
    for run in started:
        run.close()


def assert_console_clean(shots: list[tuple[str, vt.Grid]]) -> None:
    print(vt.report(shots))
    problems = []
    for name, grid in shots:
        bad = vt.undrawable(grid)
        low = vt.low_contrast(grid)
        if bad or low:
            y, x, cell, ratio = low[0] if low else (0, 0, None, 0.0)
            problems.append(f"{name}: glyphs {''.join(sorted(bad)) or '-'}; {len(low)} cells "
                            f"below 4.5:1 (first at row {y}, column {x}: {cell}, {ratio:.1f})"
                            f"\n{vt.text_of(grid)}")
    assert not problems, "\n".join(problems)


def test_every_main_screen_of_the_demo(tmp_path: Path, runs: list[vt.ConsoleRun]) -> None:
    run = vt.ConsoleRun([console_script(), "--demo"], env_for(tmp_path))
    runs.append(run)
    shots = vt.tour(run)
    assert [n for n, _ in shots] == [n for n, _, _ in vt.SCREENS]
    # The command palette (ctrl+p) too: Textual's own prompt glyph is an emoji.
    run.keys("\x10")
    run.wait_for("Search for commands")
    shots.append(("palette", run.settle()))
    assert "> │Search for commands" in vt.text_of(shots[-1][1])
    assert_console_clean(shots)
    # Only the console's own 16 colours are written (no 256-colour or RGB rounding).
    extended = [s for s in vt.sgr_sequences(bytes(run.raw)) if re.search(r"(^|;)[34]8;", s)]
    assert not extended, extended


def test_without_the_console_look_the_issue_shows(tmp_path: Path,
                                                  runs: list[vt.ConsoleRun]) -> None:
    """The harness sees what the issue reported when the console look is off
    (SSH_RESET_DOCTOR_CONSOLE=0): glyphs a console font lacks, cells below 4.5:1."""
    run = vt.ConsoleRun([console_script(), "--demo"],
                        env_for(tmp_path, SSH_RESET_DOCTOR_CONSOLE="0"))
    runs.append(run)
    shots = vt.tour(run, vt.SCREENS[:2])
    print(vt.report(shots))
    (_, overview), (_, address) = shots
    assert "—" in vt.undrawable(overview) and set("━┃┏┓┗┛") <= vt.undrawable(address)
    low = vt.low_contrast(overview)
    assert len(low) > 20
    # The PROBLEM badge: bold reverse red shows dark grey on red or magenta (about 1:1).
    badge = [c for y, _x, c, ratio in low if "PROBLEM" in vt.text_of(overview).split("\n")[y]
             and c.reverse and ratio < 1.5]
    assert badge, low


def _row_looks(grid: vt.Grid, y: int) -> set[tuple[int, int, bool]]:
    return {(c.fg, c.bg, c.reverse) for c in grid[y] if c.ch.strip()}


def test_no_color_keeps_badges_highlight_and_focus(tmp_path: Path,
                                                   runs: list[vt.ConsoleRun]) -> None:
    run = vt.ConsoleRun([console_script(), "--demo"], env_for(tmp_path, NO_COLOR="1"))
    runs.append(run)
    shown = run.wait_for("checks done", "PROBLEM", timeout=40)
    grid = run.settle()
    # No colour at all: greys only (black, grey, light grey, white).
    greys = {0, 7, 8, 15}
    assert {c.fg for row in grid for c in row if c.ch.strip()} <= greys
    assert {c.bg for row in grid for c in row} <= greys
    # Badges are words, PROBLEM also a box: it looks unlike the row's label beside it.
    assert "PROBLEM" in shown and "ok" in shown
    lines = vt.text_of(grid).splitlines()
    badges = [(y, line.index("PROBLEM")) for y, line in enumerate(lines) if "PROBLEM" in line]
    assert len(badges) >= 2, shown
    for y, x in badges:
        badge, label = grid[y][x], grid[y][4]
        assert (badge.fg, badge.bg) != (label.fg, label.bg), (y, badge, label)
    # The overview lists its rows with the focus bar and one highlight.
    rows = [y for y, line in enumerate(lines) if line.startswith(" │")]
    assert len(rows) >= 5, shown  # '│': the focused list (Textual's half block elsewhere)
    looks = {y: _row_looks(grid, y) for y in rows}
    highlighted = [y for y in rows if any(bg != 0 for _fg, bg, _r in looks[y])]
    assert highlighted and len(highlighted) < len(rows), shown
    plain = [y for y in rows if y not in highlighted and looks[y]]
    assert all(looks[y] != looks[highlighted[0]] for y in plain)
    # Down moves the highlight: it is the row's look, not a fixed line.
    run.keys("down")
    grid2 = run.settle()
    assert [y for y in rows if any(c.bg != 0 for c in grid2[y] if c.ch.strip())] \
        != highlighted
    run.keys("up")
    shots = vt.tour(run, vt.SCREENS[1:])
    assert_console_clean([("overview", grid), *shots])


LIVE_SCREENS = (
    ("overview", (), "checks done"),
    ("method1", ("1",), "hosts.deny"),
    ("method2", ("2",), "sshd"),
    ("method3", ("3",), "whitelist"),
    ("others", ("5",), "other causes"),
    ("summary", ("n",), "Findings"),
    ("help", ("?",), "Esc close"),
    ("confirm", ("escape", "1", "a"), "Apply this fix?"),
    ("method4", ("escape", "4"), "From your machine"),
)


def test_every_main_screen_on_this_machine(system_sshd, runs: list[vt.ConsoleRun]) -> None:
    """This machine's own sshd in private namespaces (tests/conftest.py), its hosts.deny
    refusing the operator: the wizard run on the machine, as on the VNC console."""
    ns = system_sshd
    ns.write("/etc/hosts.deny", b"# site policy\nsshd: 127.0.0.2\n")
    run = vt.ConsoleRun([*ns.prefix, console_script(), "--client-ip", "127.0.0.2"],
                        {"TERM": "linux", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                         "HOME": str(ns.workdir / "home")})
    runs.append(run)
    shots = vt.tour(run, LIVE_SCREENS, timeout=60)
    overview = vt.text_of(shots[0][1])
    assert "TCP wrappers" in overview and "PROBLEM" in overview, overview
    assert_console_clean(shots)


def test_console_screenshots_are_current() -> None:
    """screenshots/console-*.png are what make_console_screenshots.py renders now."""
    script = Path(__file__).resolve().parent.parent / "screenshots/make_console_screenshots.py"
    r = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
