"""The wizard over SSH against a real sshd (in a private mount namespace), and against a
deliberately slow target: keys keep working while a remote call waits."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.mountns import MountNamespace
from tests.helpers.sshlab import SshLab
from tests.helpers.wizard_kit import app_for, checked, screen_text
from tests.helpers.wizard_kit import until as wait_until
from tests.test_integration_console import assert_login, assert_reset
from tests.test_probe import Listener
from tui.wizard.screens.help import HelpScreen
from tui.wizard.screens.hostkey import HostKeyScreen

# The integration tier: a real sshd in a mount namespace.
pytestmark = pytest.mark.integration

OPERATOR = "127.0.0.2"


@pytest.fixture
def lab(tmp_path: Path, ns: MountNamespace) -> Iterator[SshLab]:
    with SshLab(tmp_path / "lab", prefix=ns.prefix) as lab:
        yield lab


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME: no known host, no ssh config of the machine's own user."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return home


def fingerprint_of(pub: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1]


async def test_remote_repair_after_trusting_the_host_key(
    tmp_path: Path, ns: MountNamespace, lab: SshLab, home: Path
) -> None:
    original = b"sshd: 127.0.0.2\n"
    ns.write("/etc/hosts.deny", original)
    assert_reset(lab, bind=OPERATOR)
    app = app_for(tmp_path, host=f"root@127.0.0.1:{lab.port}",
                  identities=[str(lab.client_key)], client_ip=OPERATOR)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, HostKeyScreen))
        await pilot.pause()
        text = screen_text(app)
        assert fingerprint_of(Path(f"{lab.host_key}.pub")) in text
        assert not (home / ".ssh/known_hosts").exists()  # nothing trusted before the answer
        await pilot.press("y")
        await checked(pilot)
        assert lab.host_public_key() in (home / ".ssh/known_hosts").read_text()
        assert app.session.finding("tcp-wrappers").status == "problem"
        # Method 4 probed the instance from this side meanwhile (127.0.0.1 is let in).
        await wait_until(pilot, lambda: app.probe_result is not None)
        assert app.probe_result.outcome == "banner"
        await pilot.press("1", "a", "y")
        await wait_until(pilot, lambda: app.session.changes and not app.busy)
        assert ns.read("/etc/hosts.deny") == b"#sshd: 127.0.0.2\n"
        assert app.session.finding("tcp-wrappers").status == "ok"
        await pilot.press("q")
    assert app.return_code == 0
    assert_login(lab, bind=OPERATOR)


async def test_refused_host_key_changes_nothing(
    tmp_path: Path, lab: SshLab, home: Path
) -> None:
    app = app_for(tmp_path, host=f"root@127.0.0.1:{lab.port}",
                  identities=[str(lab.client_key)], auto_probe=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, HostKeyScreen))
        await pilot.press("n")
        await wait_until(pilot, lambda: not app.busy and "failed" in app.status)
        assert "not trusted" in app.status
        assert app.session is None  # never got as far as collecting anything
        await pilot.press("q")
    assert app.return_code == 0
    assert not (home / ".ssh/known_hosts").exists()


async def test_keys_work_while_a_slow_target_hangs(tmp_path: Path, home: Path) -> None:
    server = Listener(lambda conn: None)  # accepts, never says a word: every call hangs
    try:
        app = app_for(tmp_path, host=f"127.0.0.1:{server.port}", timeout=4.0,
                      banner_wait=3.0)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.busy == "check" and server.conns)
            start = time.monotonic()
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape", "4")
            assert app.current_mode == "m4"
            await pilot.press("escape", "0")  # Esc: out of the probe field
            latency = time.monotonic() - start
            assert app.busy == "check", "the slow call should still be running"
            # Frozen would be the whole connect timeout (4 s); a loaded 2-core CI machine
            # takes ~1.5 s to import and draw the lazily loaded screens the keys open.
            assert latency < 3.0, f"keys took {latency:.2f} s while the target hung"
            # The probe from this side classifies the same silence.
            await wait_until(pilot, lambda: app.probe_result is not None, timeout=10)
            assert app.probe_result.outcome == "no-banner"
            await wait_until(pilot, lambda: not app.busy, timeout=15)
            assert "failed" in app.status
            await pilot.press("q")
        assert app.return_code == 0
    finally:
        server.close()
