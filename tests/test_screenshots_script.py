"""The screenshot script keeps working: it is how screenshots/ is regenerated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "screenshots/make_screenshots.py"


def test_script_renders_every_screen(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    made = {p.stem for p in tmp_path.glob("*.svg")}
    committed = {p.stem for p in SCRIPT.parent.glob("*.svg")}
    assert made == committed and len(made) == 11, (made, committed)
    summary = (tmp_path / "summary.svg").read_text()
    assert "applied" in summary  # both fixes were really applied before the shot
