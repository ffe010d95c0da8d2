"""screenshots/ is current: each image is the snapshot test's render of that screen (the
script copies them; tests/test_wizard_snapshots.py checks the renders against the real app),
and the script that regenerates screenshots/ keeps working."""

from __future__ import annotations

import ast
import html
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "screenshots/make_screenshots.py"


def _shots() -> dict[str, str]:
    tree = ast.parse(SCRIPT.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.Assign)
                and any(getattr(t, "id", None) == "SHOTS" for t in n.targets))
    return ast.literal_eval(node.value)


def test_committed_screenshots_are_the_snapshot_renders() -> None:
    r = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_script_writes_every_screen(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    made = {p.stem for p in tmp_path.glob("*.svg")}
    committed = {p.stem for p in SCRIPT.parent.glob("*.svg")} - {"before-after"}
    assert made == committed and len(made) == 11, (made, committed)
    for path in tmp_path.glob("*.svg"):
        assert path.read_bytes() == (SCRIPT.parent / path.name).read_bytes(), path.name
    summary = (tmp_path / "summary.svg").read_text()
    assert "applied" in summary  # both fixes were really applied before the shot


def test_every_screenshot_is_a_screen_the_snapshot_tests_render() -> None:
    from tests.test_wizard_snapshots import SCREENS, SIZES

    assert set(_shots().values()) <= set(SCREENS)
    assert (80, 24) in SIZES


def test_check_names_a_stale_screenshot(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    (tmp_path / "help.svg").write_text("<svg/>")
    r = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "help.svg" in r.stderr


@pytest.mark.integration
def test_before_after_picture_is_current(tmp_path: Path) -> None:
    """The README's first picture is a real run: sshd on loopback in private namespaces
    resets the login, `fix --yes` comments out the rule, and the next login works."""
    script = SCRIPT.parent / "make_before_after.py"
    r = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "ba.svg")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    made = (tmp_path / "ba.svg").read_text()
    shown = html.unescape(made).replace("\xa0", " ")
    assert "Connection reset by peer" in shown and "logged in as root" in shown
    assert made == (SCRIPT.parent / "before-after.svg").read_text()
