"""The product stands on its own: nothing it ships or prints cites the design notes it was
built from (users get --help and the README)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_no_shipped_file_cites_the_design_notes() -> None:
    shipped = [*sorted((ROOT / "tui").rglob("*.py")), *sorted((ROOT / "tui").rglob("*.tcss")),
               ROOT / "README.md", ROOT / "pyproject.toml"]
    citing = [str(p.relative_to(ROOT)) for p in shipped
              if "DESIGN.md" in p.read_text(encoding="utf-8") or "../shared" in
              p.read_text(encoding="utf-8")]
    assert citing == []


@pytest.mark.parametrize("argv", [[], ["check"], ["fix"], ["undo"], ["match"],
                                  ["instructions"]])
def test_help_cites_no_design_notes(argv: list[str]) -> None:
    out = subprocess.run([sys.executable, "-m", "tui", *argv, "--help"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert "usage:" in out
    assert "DESIGN" not in out and "shared/" not in out
