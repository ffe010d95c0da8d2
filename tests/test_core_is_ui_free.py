"""tui.core never imports Textual: every module of it, and a whole wizard session run
through the core alone (open, collect, check, plans, apply, undo) on a real fixture root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.wizard_kit import broken_root

CODE = """
import importlib, pkgutil, sys
import tui.core
for m in pkgutil.walk_packages(tui.core.__path__, "tui.core."):
    if m.name.startswith("tui.core.targets.ssh.") or m.name.endswith("sftpops"):
        continue  # paramiko's side of the target layer, imported only for --host
    importlib.import_module(m.name)
from tui.core.session import Session
from tui.core.targets.target import TargetSpec
s = Session(TargetSpec(root=sys.argv[1]))
s.open(); s.collect(); s.check()
finding, plans = s.remedies("libraries")
s.apply("libraries", plans[0]); s.undo()
print(finding.status, [c.undone for c in s.changes])
print(sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "paramiko")))
"""


def test_core_and_a_whole_session_without_textual(tmp_path: Path) -> None:
    root = broken_root(tmp_path / "sysimage")
    r = subprocess.run([sys.executable, "-c", CODE, str(root)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["problem [True]", "[]"]
