"""What a new operator ran into on a first run (issue 15, items 1-4 and 7): Method 4's probe
field and its footer, notices that hide nothing, long lines that wrap under their text, the
address dialog with many logged candidates, Ctrl+C, copying on a console without a
clipboard, and what a refused probe means.

The renderers and the core are checked directly (unit tier, fast); the app runs twice with
Pilot at the console's 80x24 (integration tier, like tests/test_wizard_pilot.py).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from tui.core import export
from tui.core.probe import ProbeResult
from tui.wizard.widgets.render import Wrapped, diff, numbered

BACKUP = "/var/lib/ssh-reset-doctor/changes/000001-20251201T000000Z-000001/etc/hosts.allow"


def lines(renderable: object, width: int) -> list[str]:
    console = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(renderable)
    console.file.close()
    return console.export_text().rstrip("\n").split("\n")


# --- unit tier: the renderers and the core -----------------------------------------------

def test_file_views_diffs_and_paths_wrap_under_their_text() -> None:
    data = (b"# a comment\n"
            b"sshd: 203.0.113.0/24 198.51.100.0/24 192.0.2.0/24 : spawn /bin/echo %a\n")
    shown = lines(numbered(data, 2), 40)
    assert shown[0] == " 1 # a comment"
    assert shown[1].startswith(">2 sshd: 203.0.113.0/24")
    assert len(shown) > 2 and all(s.startswith("   ") and s[3] != " " for s in shown[2:])
    assert all(len(s) <= 40 for s in shown)
    assert "".join(s.strip() + " " for s in shown[1:]).split() == (
        [">2", *data.decode().split("\n")[1].split()])  # nothing lost, nothing split mid-word

    shown = lines(diff("--- a/x\n+++ b/x\n+sshd: " + " ".join(["203.0.113.45"] * 6)), 40)
    assert shown[2].startswith("+sshd:") and all(s.startswith(" 2") for s in shown[3:])

    # A backup path is never split mid-name: whole on the next line when it fits there...
    shown = lines(Wrapped(Text(f"applied. Backups: {BACKUP}. Undo with u."), hang=2), 90)
    assert shown[0] == "applied. Backups:" and shown[1].startswith(f"  {BACKUP}. Undo")
    # ...and after a '/' when no line can hold it.
    shown = lines(Wrapped(Text(f"Backups: {BACKUP}"), hang=2), 40)
    assert all(s.rstrip().endswith("/") for s in shown[:-1]) and shown[-1].endswith("allow")
    assert "".join(s.strip() for s in shown) == f"Backups: {BACKUP}"
    # Cut to two lines: the end says where the rest is.
    shown = lines(Wrapped(Text("word " * 40), max_lines=2, more=" ... (? shows all)"), 40)
    assert len(shown) == 2 and shown[1].endswith("... (? shows all)")


def test_copy_on_a_console_without_clipboard_says_where_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyperclip

    def no_clipboard(text: str) -> None:
        raise pyperclip.PyperclipException(
            "Pyperclip could not find a copy/paste mechanism for your system. For more "
            "information, please visit https://pyperclip.readthedocs.io/en/latest/\nOn Linux")

    monkeypatch.setattr(pyperclip, "copy", no_clipboard)
    monkeypatch.setenv("HOME", str(tmp_path))
    sent: list[str] = []
    old = os.umask(0)  # the files are the operator's alone whatever the umask
    try:
        r = export.copy_text("# report\n", "report", osc52=sent.append, term="linux",
                             directory=tmp_path / "state/copied", suffix=".md")
        saved = export.save_text(str(tmp_path / "saved/report"), "# report\n", suffix=".md")
    finally:
        os.umask(old)
    assert not sent  # the Linux console has no OSC 52
    assert r.file and r.file.endswith(".md")
    assert r.message() == f"saved to ~/state/copied/{Path(r.file).name}"
    assert "http" not in r.message() and "\n" not in r.message()
    assert r.details() == ["not copied to the system clipboard: no clipboard tool (xclip, "
                           "xsel, wl-copy) or no display",
                           "not copied to OSC 52: the Linux console has no clipboard"]
    assert saved.endswith("saved/report.md")
    for p in (r.file, saved):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
        assert Path(p).read_text() == "# report\n"


def test_refused_does_not_fit_method_4() -> None:
    refused = ProbeResult("h", 22, "192.0.2.1", None, "refused", None,
                          "[Errno 111] Connection refused", 3.0)
    assert refused.likely_methods() == [] and "fits Method" not in refused.report()
    assert "nothing listens" in refused.meaning() and "REJECT" in refused.meaning()


# --- integration tier: the app at 80x24 ----------------------------------------------------

CANDIDATES = ["203.0.113.45", "192.168.1.20", "198.51.100.7", "10.0.0.5", "100.64.3.2",
              "203.0.113.99", "172.16.0.9", "198.51.100.200"]


@pytest.mark.integration
async def test_method4_field_footer_probe_notices_and_ctrl_c(tmp_path: Path) -> None:
    from textual.widgets import Input, Static

    from tests.helpers.sshlab import free_port
    from tests.helpers.wizard_kit import app_for, broken_root, checked, screen_text
    from tests.helpers.wizard_kit import until as wait_until
    from tui.wizard.screens.help import HelpScreen

    root = broken_root(tmp_path / "sysimage")
    port = free_port()  # nothing listens: the probe is refused
    app = app_for(tmp_path, root=str(root), probe_port=port)
    async with app.run_test(size=(80, 24)) as pilot:
        await checked(pilot)
        await pilot.press("ctrl+c")  # Textual would say ctrl+q; the wizard quits with q
        await pilot.pause()
        assert app.notice is not None and app.notice.text() == "press q to quit"
        assert "press q to quit" in str(app.screen.query_one("#status", Static).content.plain)

        await pilot.press("4")
        await pilot.pause()
        field = app.screen.query_one("#probe-target", Input)
        assert field.has_focus  # typing an address must not switch screens
        shown = {b.binding.description for b in app.screen.active_bindings.values()
                 if b.binding.show}
        assert {"probe", "leave field (keys work again)"} <= shown  # the footer is not empty
        await pilot.press(*"127.0.0.1")
        assert app.current_mode == "m4" and field.value == "127.0.0.1"
        await pilot.press("enter")  # the port is --port's (WizardConfig.probe_port)
        await wait_until(pilot, lambda: app.probe_result is not None)
        await pilot.pause()
        assert (app.probe_result.port, app.probe_result.outcome) == (port, "refused")
        text = screen_text(app)
        assert "Connection refused" in text and "fits Method" not in text
        assert "`" not in text  # no raw Markdown code marks
        await pilot.press("escape", "1")  # Esc leaves the field: digits switch screens again
        assert app.current_mode == "m1"
        await pilot.press("4")
        await pilot.pause()
        assert field.has_focus  # opened again: the field has the keys again

        # A notice is one line in the status line, above the footer: nothing is covered.
        await pilot.press("escape", "3", "c")
        await pilot.pause()
        status = app.screen.query_one("#status", Static)
        body = app.screen.query_one("#body")
        assert app.notice is not None and app.notice.text().startswith(("copied", "saved"))
        assert status.region.height <= 2 and body.region.bottom <= status.region.y
        assert not list(app.screen.query("Toast"))  # no toast over the screen
        # A long status wraps to two lines and says where the rest is; ? shows it whole.
        app.clear_notifications()
        app.status = "applied: allow only 203.0.113.45. Backups: " + " ".join([BACKUP] * 3)
        await pilot.pause()
        assert status.region.height == 2
        assert lines(status.content, status.content_region.width)[-1].endswith(
            "(? shows all)")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        dialog = app.screen.query_one(".dialog")
        assert dialog.region.width == 80  # no stray columns of the screen behind
        keys = app.screen.query_one("#keys", Static)
        shown = lines(keys.content, keys.content_region.width)
        wrapped = [s for s in shown if not s[:10].strip()]
        assert wrapped and all(s[10] != " " for s in wrapped)  # under the text, not column 1
        help_text = screen_text(app)
        assert app.status in help_text.replace("\n          ", "") or BACKUP in help_text
        assert "no clipboard tool" in help_text  # the copy's details, whole
        await pilot.press("escape")
        # An error: one line with its word, the status keeps it, ? has every detail.
        from tui.core.errors import UserError

        detail = f"/etc/hosts.allow: the original; restore with cp -p {BACKUP} /etc/hosts.allow"
        app.show_error("applying", UserError("the file changed since the preview",
                                             details=[detail]))
        await pilot.pause()
        assert app.notice is not None and app.notice.severity == "error"
        assert app.notice.text() == "applying failed: the file changed since the preview"
        assert status.content.plain.endswith("preview (? more)")  # its details are in ?
        assert status.content.plain.startswith("error: applying failed: the file changed")
        assert detail in app.status
        await pilot.press("question_mark")
        await pilot.pause()
        assert detail in screen_text(app).replace("\n          ", " ")
        await pilot.press("escape")


@pytest.mark.integration
async def test_address_dialog_lists_many_candidates_fits_and_keeps_bad_entries(
    tmp_path: Path,
) -> None:
    from textual.widgets import Input, OptionList

    from tests.helpers.wizard_kit import app_for, broken_root, checked, screen_text
    from tui.wizard.screens.address import AddressScreen

    log = "".join(
        f"Nov 21 09:{10 + i:02d}:02 web1 sshd[22{i}]: refused connect from {ip} ({ip})\n"
        * (i % 3 + 1) for i, ip in enumerate(CANDIDATES))
    root = broken_root(tmp_path / "sysimage", log=log)
    app = app_for(tmp_path, root=str(root))
    async with app.run_test(size=(80, 24)) as pilot:
        await checked(pilot)
        assert app.session.client is None  # eight candidates: no guess
        await pilot.press("up", "enter")
        await pilot.pause()
        assert isinstance(app.screen, AddressScreen)
        text = screen_text(app)
        assert f"sshd logged {len(CANDIDATES)}" in text
        assert "203.0.113.99  3 times, last Nov 21 09:15:02, /var/log/auth.log" in text
        assert "172.16.0.9  1 time, last Nov 21 09:16:02" in text
        assert "a private address (RFC 1918)" in text and "100.64.0.0/10" in text
        dialog = app.screen.query_one(".dialog")
        listing = app.screen.query_one("#candidates", OptionList)
        field = app.screen.query_one("#address", Input)
        # The dialog fits the console; the list scrolls in its own box, the field below it.
        assert dialog.region.y >= 0 and dialog.region.bottom <= 24 and dialog.region.width == 80
        assert dialog.region.contains_region(listing.region)
        assert dialog.region.contains_region(field.region) and field.region.height == 1
        assert listing.max_scroll_y > 0 and listing.option_count == len(CANDIDATES)
        for _ in CANDIDATES[1:]:
            await pilot.press("down")
        await pilot.pause()
        assert listing.highlighted == len(CANDIDATES) - 1 and listing.scroll_y > 0
        # A bad entry keeps the dialog open and says why.
        await pilot.press(*"203.0.113.", "x", "enter")
        await pilot.pause()
        assert isinstance(app.screen, AddressScreen)
        assert "not an IP address: '203.0.113.x'" in screen_text(app)
        assert app.screen.query_one("#address-error").display
        assert dialog.region.bottom <= 24 and dialog.region.contains_region(field.region)
        field.value = ""
        listing.focus()
        listing.highlighted = [o.id for o in listing.options].index("203.0.113.99")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, AddressScreen)
