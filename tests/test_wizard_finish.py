"""The finish of a repair, driven with Textual's Pilot on fixture disks (--root): the first
screen's one-sentence diagnosis, `A` (every recommended fix after one confirmation), the
proof that sshd answers again (a probe target injected here; a real sshd in the live test),
and undo from every screen: the dialog (what, when, the files and their diff) and the list
of change sets, with the core's refusals shown and nothing changed."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.oracle import oracle
from tests.helpers.wizard_kit import CLIENT, DENY, app_for, broken_root, checked, screen_text
from tests.helpers.wizard_kit import until as wait_until
from tests.test_probe import Listener
from tui.wizard.screens.confirm import ConfirmScreen
from tui.wizard.screens.undo import UndoListScreen, UndoScreen

# The integration tier, as tests/test_wizard_pilot.py: whole app runs (several seconds of
# rendering each on a 2-core machine) do not fit the unit tier's minute.
pytestmark = pytest.mark.integration

LIBDIR = "usr/lib/x86_64-linux-gnu"
BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"


@pytest.fixture
def sshd_stand_in() -> Iterator[Listener]:
    """Answers every connection with an OpenSSH banner, as a repaired sshd does."""
    listener = Listener(lambda conn: conn.sendall(BANNER))
    yield listener
    listener.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def footer_keys(app: object) -> set[str]:
    """The keys the footer shows as usable on the current screen."""
    return {b.binding.key for b in app.active_bindings.values()  # type: ignore[attr-defined]
            if b.binding.show and b.enabled}


async def test_apply_all_after_one_confirmation_proves_sshd_answers_and_undoes_a_chosen_set(
    tmp_path: Path, sshd_stand_in: Listener
) -> None:
    root = broken_root(tmp_path / "sysimage")
    deny, allow = root / "etc/hosts.deny", root / "etc/hosts.allow"
    link = root / LIBDIR / "liblz4.so.1"
    app = app_for(tmp_path, root=str(root), proof_at=("127.0.0.1", sshd_stand_in.port))
    async with app.run_test(size=(80, 24)) as pilot:
        await checked(pilot)
        # The first screen says what is most likely wrong and which key fixes it.
        text = screen_text(app)
        assert (f"Most likely: denied for {CLIENT} by /etc/hosts.deny line 2: sshd: "
                "203.0.113.0/24 - press 1, then a (or A to apply all 2 recommended fixes)."
                ) in " ".join(text.split())
        assert "A" in footer_keys(app)
        palette = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Apply all recommended fixes", "Change sets", "Undo"} <= palette
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        shown = screen_text(app)
        assert "Apply all 2 recommended fixes?" in shown
        assert "1. Method 1: TCP wrappers: comment out" in shown
        assert "edits (backup first) /etc/hosts.deny" in shown
        assert "+#sshd: 203.0.113.0/24" in shown and "-sshd: 203.0.113.0/24" in shown
        assert "2. Method 2: shared libraries: recreate the missing soname link(s)" in shown
        assert "creates the symlink /usr/lib/x86_64-linux-gnu/liblz4.so.1 ->" in shown
        await pilot.press("y")
        await wait_until(pilot, lambda: len(app.session.changes) == 2 and not app.busy
                         and app.proof is not None)
        assert deny.read_bytes() == DENY.replace(b"\nsshd", b"\n#sshd")
        assert oracle(root / "etc", CLIENT) == "granted"
        assert link.is_symlink()
        assert [f.status for f in app.session.report.findings if f.method in (1, 2)] == [
            "ok", "ok"]
        # The proof: the (injected) sshd was probed and its banner shown.
        assert app.proof.outcome == "banner"
        assert "sshd answers again on 127.0.0.1" in app.status
        assert "Most likely: nothing on the target explains the reset" in screen_text(app)
        assert "A" not in footer_keys(app)  # nothing left to apply
        for _ in range(6):
            if app.current_mode == "m4":  # its probe field has the focus: Esc leaves it
                await pilot.press("escape")
            await pilot.press("n")
        assert app.current_mode == "summary"
        await pilot.pause()
        summary = " ".join(screen_text(app).split())
        assert "Does sshd answer again?" in summary
        assert f"yes: 127.0.0.1:{sshd_stand_in.port} answered SSH-2.0-OpenSSH_9.2p1" in summary
        await pilot.press("c")  # the report carries the proof
        await pilot.pause()
        (copy,) = (tmp_path / "copies").iterdir()
        report = copy.read_text()
        assert "## Does sshd answer again?" in report
        assert "banner: SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" in report
        # A probe that fails is shown as the failure, exactly.
        app.config.proof_at = ("127.0.0.1", closed_port())
        app.prove()
        await wait_until(pilot, lambda: app.proof.outcome == "refused")
        await pilot.pause()
        assert "not yet" in screen_text(app) and "refused" in screen_text(app)

        # Undo from the overview (u works on every screen): the newest set, the symlink.
        await pilot.press("0", "u")
        await wait_until(pilot, lambda: isinstance(app.screen, UndoScreen))
        shown = screen_text(app)
        assert "What   recreate the missing soname link(s)" in shown
        assert "remove symlink /usr/lib/x86_64-linux-gnu/liblz4.so.1" in shown
        # `l` lists every change set; the older one (hosts.deny) is chosen and undone.
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, UndoListScreen))
        assert app.screen.query_one("#sets").option_count == 2
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, UndoScreen))
        shown = screen_text(app)
        older = app.session.changes[0].change_set.id
        assert f"Undo change set {older}?" in shown
        assert "restore /etc/hosts.deny from /var/lib/ssh-reset-doctor/changes/" in shown
        assert "--- /etc/hosts.deny (now)" in shown
        assert "-#sshd: 203.0.113.0/24" in shown and "+sshd: 203.0.113.0/24" in shown
        body = app.screen.query_one(".dialog-body")
        assert body.max_scroll_y > 0  # longer than 80x24 shows: the dialog scrolls
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("y")
        await wait_until(pilot, lambda: app.session.changes[0].undone and not app.busy)
        assert deny.read_bytes() == DENY
        assert link.is_symlink()  # the newer set stays
        assert allow.read_bytes() == b"# /etc/hosts.allow\n"
        # The list shows it undone; its dialog offers nothing to do.
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, UndoScreen))
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, UndoListScreen))
        assert "undone" in screen_text(app)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, UndoScreen))
        shown = " ".join(screen_text(app).split())
        assert f"Change set {older} is undone" in shown
        assert "Nothing to undo: change set" in shown
        await pilot.press("y", "escape")
        await pilot.pause()
        assert not app.busy and deny.read_bytes() == DENY and link.is_symlink()


async def test_undo_everywhere_refuses_out_of_order_and_changed_files(
    tmp_path: Path
) -> None:
    from tui.core.changes.apply import apply_plan
    from tui.core.changes.plan import FileEdit, Plan
    from tui.core.targets.localops import LocalOps

    root = broken_root(tmp_path / "sysimage", library=False)
    # Two more causes beyond the article: a firewall rule resetting the operator and
    # MaxStartups drops in the log; each gets a row, only one row is labelled 5.
    rule = f"-A INPUT -s {CLIENT}/32 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset"
    (root / "etc/iptables").mkdir(parents=True)
    (root / "etc/iptables/rules.v4").write_text(f"*filter\n:INPUT ACCEPT [0:0]\n{rule}\nCOMMIT\n")
    config = root / "etc/ssh/sshd_config"
    config.write_bytes(b"Include /etc/ssh/sshd_config.d/*.conf\nMaxStartups 3:30:10\n")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime(time.time() - 60))
    with open(root / "var/log/auth.log", "a") as log:
        log.write("".join(
            f"{stamp} web1 sshd[{700 + n}]: drop connection #{n} from [198.51.100.{n}]:4{n}022 "
            "on [10.0.0.5]:22 past MaxStartups\n" for n in (3, 4, 5)))
    # Two change sets of an earlier run on the same file, one on top of the other.
    allow = root / "etc/hosts.allow"
    one = allow.read_bytes() + b"sshd: 198.51.100.1\n"
    two = one + b"sshd: 198.51.100.2\n"
    ops = LocalOps(str(root))
    first = apply_plan(ops, Plan("allow-client", "t", [FileEdit("/etc/hosts.allow",
                                                                allow.read_bytes(), one)]),
                       target="t")
    second = apply_plan(ops, Plan("allow-client", "t", [FileEdit("/etc/hosts.allow", one,
                                                                 two)]), target="t")
    app = app_for(tmp_path, root=str(root))
    async with app.run_test(size=(80, 24)) as pilot:
        await checked(pilot)
        rows = app.screen.query_one("#rows")
        keys = [str(rows.get_option_at_index(i).prompt.columns[0]._cells[0])
                if hasattr(rows.get_option_at_index(i).prompt, "columns")
                else rows.get_option_at_index(i).prompt.plain[:1]
                for i in range(rows.option_count)]
        ids = [rows.get_option_at_index(i).id for i in range(rows.option_count)]
        assert "other:firewall" in ids and "other:maxstartups" in ids
        labelled = [k for k in keys if k.strip()]
        assert labelled == ["@", "1", "2", "3", "4", "5"], keys  # each key once

        # u on Method 3 (no changes are made there): the newest set, which can be undone.
        await pilot.press("3", "u")
        await wait_until(pilot, lambda: isinstance(app.screen, UndoScreen))
        shown = screen_text(app)
        assert f"Undo change set {second.id}?" in shown
        assert "allow-client (Method 1: TCP wrappers)" in shown  # an earlier run's set
        assert "+++ /etc/hosts.allow (after undo: its backup)" in shown
        assert "-sshd: 198.51.100.2" in shown
        # The list: the older set cannot be undone while the newer one is in place.
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, UndoListScreen))
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, UndoScreen))
        shown = " ".join(screen_text(app).split())
        assert f"Change set {first.id} cannot be undone" in shown
        assert f"the newer change set {second.id} (allow-client) changed /etc/hosts.allow" \
            in shown
        await pilot.press("y")  # not offered: nothing happens
        await pilot.pause()
        assert isinstance(app.screen, UndoScreen) and not app.busy
        await pilot.press("escape")
        assert allow.read_bytes() == two

        # Someone changes the file: the dialog (on Method 4 now) shows the refusal.
        theirs = two + b"sshd: 192.0.2.99\n"
        allow.write_bytes(theirs)
        await pilot.press("4", "escape", "u")  # Method 4 opens in its probe field
        await wait_until(pilot, lambda: isinstance(app.screen, UndoScreen))
        shown = " ".join(screen_text(app).split())
        assert "cannot be undone" in shown and "changed by someone else since" in shown
        assert "Refused:" in shown and "Nothing is changed." in shown
        await pilot.press("y", "escape")
        await pilot.pause()
        assert not app.busy and allow.read_bytes() == theirs

        # And when it changes after the dialog was shown, the core refuses at undo time.
        allow.write_bytes(two)
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, UndoScreen))
        assert app.screen.view.can_undo
        allow.write_bytes(theirs)
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.busy and "failed" in app.status)
        assert "changed by someone else since" in app.status

        # Apply all: two fixes; the second's file changes after the confirmation, so the
        # first is applied, the second refused, and the notice says which is which.
        await pilot.press("0", "A")
        await pilot.pause()
        shown = screen_text(app)
        assert "Apply all 2 recommended fixes?" in shown
        assert "2. MaxStartups: " in shown
        edited = config.read_bytes() + b"# edited meanwhile\n"
        config.write_bytes(edited)
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.busy and "stopped at" in app.status)
        assert app.status.startswith("applied 1 of 2 recommended fixes; stopped at: "), \
            app.status
        assert "changed since the preview" in app.status
    assert allow.read_bytes() == theirs
    assert (root / "etc/hosts.deny").read_bytes() == DENY.replace(b"\nsshd", b"\n#sshd")
    assert config.read_bytes() == edited


def test_live_console_apply_all_then_sshd_answers_with_its_banner(
    tmp_path: Path, system_sshd
) -> None:
    """This machine's own sshd in private namespaces, its tcp wrappers denying the operator
    (127.0.0.1 here): the console script, run there as on the VNC console, names the deny
    rule in one sentence, applies every recommended fix after one confirmation, then probes
    127.0.0.1 on sshd's port and shows the banner: the proof that sshd answers again."""
    from tests.test_wizard_tmux import Terminal, console_script

    ns = system_sshd
    ns.write("/etc/hosts.deny", b"# site policy\nsshd: 127.0.0.1\n")
    (tmp_path / "cwd").mkdir()
    term = Terminal(tmp_path / "cwd")
    try:
        term.start([*ns.prefix, console_script(), "--client-ip", "127.0.0.1"],
                   {"TERM": "linux", "NO_COLOR": "1", "HOME": str(tmp_path / "home"),
                    "XDG_STATE_HOME": str(tmp_path / "state")})
        shown = term.wait_for("checks done", timeout=40)
        flat = " ".join(shown.split())
        assert "Most likely: denied for 127.0.0.1 by /etc/hosts.deny line 2" in flat, shown
        assert "press 1, then a" in flat, shown
        term.keys("A")
        shown = term.wait_for("Apply the recommended fix?")
        assert "edits (backup first) /etc/hosts.deny" in shown, shown
        term.keys("y")
        shown = term.wait_for("sshd answers again on 127.0.0.1:22", timeout=40)
        assert ns.read("/etc/hosts.deny") == b"# site policy\n#sshd: 127.0.0.1\n"
        term.keys(*["n"] * 4)
        # Esc leaves Method 4's probe field; an n right behind it reaches the wizard in the
        # same read, as Alt+n would (a fast typist on a slow console): it still goes on.
        term.keys_at_once("Escape", "n")
        term.keys("n")
        shown = term.wait_for("Does sshd answer again?")
        flat = " ".join(shown.split())
        assert "yes: 127.0.0.1:22 answered SSH-2.0-OpenSSH_" in flat, shown
        term.keys("q")
        assert term.exit_code() == 0
    finally:
        term.close()
