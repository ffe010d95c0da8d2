"""sshd-log in the wizard at the VNC console's 80x24 (overview row, screen 5) and in the
Markdown report: a disk whose auth.log says sshd could not fork, with a line of target text
that looks like Rich markup and carries an escape sequence."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from tests.helpers.wizard_kit import app_for, broken_root, checked, screen_text
from tui.core import reportmd

pytestmark = pytest.mark.integration

LOG = (
    "2024-11-21T09:00:00+00:00 web1 sshd[700]: Server listening on 0.0.0.0 port 22.\n"
    "2024-11-21T09:12:01+00:00 web1 sshd[700]: error: fork: Cannot allocate memory\n"
    "2024-11-21T09:12:05+00:00 web1 sshd[700]: error: fork: Cannot allocate memory\n"
    "2024-11-21T09:13:00+00:00 web1 sshd[700]: fatal: odd [bold red]x[/] \x1b[2J\n"
)


def _rows(svg: str) -> list[str]:
    """The text rows of a Textual SVG screenshot, at their columns."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text class="[^"]*" x="([0-9.]+)" y="([0-9.]+)"[^>]*>(.*?)</text>',
                         svg):
        rows.setdefault(float(m.group(2)), []).append((float(m.group(1)),
                                                       html.unescape(m.group(3))))
    out = []
    for y in sorted(rows):
        line = ""
        for x, t in sorted(rows[y]):
            line = line.ljust(int(round(x / 12.2))) + t
        out.append(line.replace("\xa0", " ").rstrip())
    return out


async def test_overview_screen5_and_report_show_sshds_fork_failure(tmp_path: Path) -> None:
    root = broken_root(tmp_path / "sysimage", deny=b"# deny\n", library=False, log=LOG)
    app = app_for(tmp_path, root=str(root))
    async with app.run_test(size=(80, 24)) as pilot:
        await checked(pilot)
        f = app.session.report.finding("sshd-log")
        assert f.status == "problem", f
        shown = _rows(app.export_screenshot())
        row = next(i for i, ln in enumerate(shown) if "sshd's log" in ln)
        assert "PROBLEM" in shown[row] and "sshd could not fork for new connections" in shown[row]
        assert all(len(ln) <= 80 for ln in shown)

        await pilot.press("5")
        await pilot.pause()
        text = screen_text(app)
        assert "# 2 times, newest 2024-11-21 09:12: error: fork: Cannot allocate memory" in text
        assert "free -m" in text
        assert re.search(r"sshd's log +PROBLEM +sshd could not fork", text), text
        assert all(len(ln) <= 80 for ln in _rows(app.export_screenshot()))

    md = reportmd.render(app.session.report, [])
    assert "| Errors in sshd's log | problem | sshd could not fork for new connections" in md
    assert "  - `# 2 times, newest 2024-11-21 09:12: error: fork: Cannot allocate memory`" in md
    assert "\x1b" not in md
    ev = f.evidence
    assert ev.lines[0] == "/var/log/auth.log: fatal: odd [bold red]x[/] \x1b[2J"  # data, raw
