"""The installed console script in a real terminal (tmux, 80x24, TERM=linux): keys in, the
screen read back, through a complete repair, as an operator on the VNC console would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.oracle import oracle
from tests.helpers.wizard_kit import CLIENT, broken_root

# The integration tier: tmux and a real sshd in namespaces.
pytestmark = pytest.mark.integration


def console_script() -> str:
    path = Path(sys.executable).parent / "ssh-reset-doctor"
    assert path.exists(), f"{path} missing: install the package (tests/run.sh does)"
    return str(path)


class Terminal:
    def __init__(self, workdir: Path) -> None:
        if not shutil.which("tmux"):
            pytest.fail("tmux not found: install Debian's 'tmux' package (tests/run.sh does)")
        self.socket = f"srd-test-{os.getpid()}-{time.monotonic_ns()}"
        self.workdir = workdir
        self.exit_file = workdir / "exit-code"

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, check=True, timeout=10).stdout

    def start(self, argv: list[str], env: dict[str, str]) -> None:
        envs = " ".join(f"{k}={subprocess.list2cmdline([v])}" for k, v in env.items())
        cmd = " ".join(subprocess.list2cmdline([a]) for a in argv)
        shell = f"cd {self.workdir} && env {envs} {cmd}; echo $? > {self.exit_file}; sleep 600"
        self.tmux("new-session", "-d", "-x", "80", "-y", "24", shell)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        for k in keys:
            self.tmux("send-keys", k)
            time.sleep(0.15)  # one key per frame, as a person types

    def keys_at_once(self, *keys: str) -> None:
        """Several keys in one write to the terminal, as a fast typist's reach it."""
        self.tmux("send-keys", *keys)
        time.sleep(0.15)

    def exit_code(self, timeout: float = 10.0) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.exit_file.exists() and self.exit_file.read_text().strip():
                return int(self.exit_file.read_text())
            time.sleep(0.1)
        raise AssertionError(f"the wizard did not exit; the screen shows:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    (tmp_path / "cwd").mkdir()
    t = Terminal(tmp_path / "cwd")
    try:
        yield t
    finally:
        t.close()


def env_for(tmp_path: Path) -> dict[str, str]:
    return {"TERM": "linux", "HOME": str(tmp_path / "home"),
            "XDG_STATE_HOME": str(tmp_path / "state"), "TMPDIR": str(tmp_path / "tmp"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def copies(tmp_path: Path) -> dict[str, str]:
    d = tmp_path / "state/ssh-reset-doctor/copied"
    return {p.name.split("-2")[0]: p.read_text() for p in d.iterdir()} if d.exists() else {}


def apply_recommended(term: Terminal, method: str, shown: str) -> None:
    """Open a method, check what it shows, apply its recommended remedy, confirm."""
    term.keys(method)
    term.wait_for(shown)
    term.keys("a")
    term.wait_for("Apply this fix?")
    term.keys("y")
    term.wait_for("Last change here: applied")


def test_full_repair_on_a_mounted_disk(tmp_path: Path, term: Terminal) -> None:
    root = broken_root(tmp_path / "sysimage")
    term.start([console_script(), "--root", str(root)], env_for(tmp_path))
    term.wait_for("PROBLEM")
    assert "Shared libraries PROBLEM" in term.wait_for("missing liblz4.so.1")
    apply_recommended(term, "1", "sshd: 203.0.113.0/24")  # the deciding rule is shown
    assert oracle(root / "etc", CLIENT) == "granted"
    apply_recommended(term, "2", "symlink: /usr/lib/x86_64-linux-gnu/liblz4.so.1")
    assert (root / "usr/lib/x86_64-linux-gnu/liblz4.so.1").is_symlink()
    # Methods 3 and 4: instructions shown and copied (the file fallback always works).
    term.keys("3")
    term.wait_for("Addresses to whitelist")
    term.keys("c")
    term.wait_for("copied")
    term.keys("4")
    term.wait_for("From your machine")
    term.keys("Escape", "c")  # the probe field has the keys first; Esc leaves it
    term.wait_for("copied")
    term.keys("0")
    shown = term.wait_for("TCP wrappers     ok")
    assert "Shared libraries ok" in shown
    term.keys("q")
    assert term.exit_code() == 0
    got = copies(tmp_path)
    assert CLIENT in got["whitelist"] and "Access Whitelist" in got["whitelist"]
    assert "Test-NetConnection" in got["network-test"]


def test_demo_as_a_newcomer_runs_it(tmp_path: Path, term: Terminal) -> None:
    (tmp_path / "tmp").mkdir()
    term.start([console_script(), "--demo"], env_for(tmp_path))
    term.wait_for("demo sample system")
    term.wait_for("PROBLEM")
    # Two addresses in the demo's logs: the wizard asks, the newcomer picks the newest.
    term.wait_for("not known: 2 addresses in the logs")
    term.keys("Up", "Enter")
    term.wait_for("pick yours")
    term.keys("Enter")
    term.wait_for("picked from /var/log/auth.log")
    apply_recommended(term, "1", "all:all:deny")
    apply_recommended(term, "2", "liblz4.so.1.9.4")
    term.keys("3", "c")
    term.wait_for("copied")
    term.keys("0")
    shown = term.wait_for("TCP wrappers     ok")
    assert "Shared libraries ok" in shown
    term.keys("q")
    assert term.exit_code() == 0
    assert "203.0.113.45" in copies(tmp_path)["whitelist"]
    assert list((tmp_path / "tmp").iterdir()) == []  # the sample system is gone again


def test_q_quits_at_once_while_the_target_hangs(tmp_path: Path, term: Terminal) -> None:
    from tests.test_probe import Listener

    silent = Listener(lambda conn: None)  # accepts and never speaks: the connect hangs
    try:
        term.start([console_script(), "--host", f"127.0.0.1:{silent.port}", "--timeout", "30"],
                   env_for(tmp_path))
        term.wait_for("working: opening")
        start = time.monotonic()
        term.keys("q")
        assert term.exit_code(timeout=10) == 0
        assert time.monotonic() - start < 5, "q waited for the hung connection"
    finally:
        silent.close()


def test_live_machine_causes_beyond_the_article_in_a_real_terminal(
    term: Terminal, system_sshd
) -> None:
    """This machine's own sshd in private namespaces, broken twice beyond the article: its
    privilege-separation directory is gone and a firewall rule resets the operator. The
    console script, run on that machine as on the VNC console, names both on the overview
    and on screen 5, and nothing of the article's four."""
    ns = system_sshd
    ns.sh("rmdir /run/sshd")
    ns.sh("iptables -A INPUT -s 127.0.0.2/32 -p tcp -m tcp --dport 22 "
          "-j REJECT --reject-with tcp-reset")
    term.start([*ns.prefix, console_script(), "--client-ip", "127.0.0.2"],
               {"TERM": "linux", "NO_COLOR": "1"})
    shown = term.wait_for("checks done", timeout=40)
    assert "sshd itself      PROBLEM" in shown, shown
    assert "Host firewall    PROBLEM" in shown, shown
    for row in ("1 TCP wrappers     ok", "2 Shared libraries ok"):
        assert row in shown, shown
    term.keys("5")
    shown = term.wait_for("5: other causes")
    assert "/run/sshd" in shown and "127.0.0.2" in shown, shown
    assert "mkdir -p /run/sshd" in shown, shown
    term.keys("q")
    assert term.exit_code() == 0
