"""Fixtures shared by the tests; the host guard; the two tiers.

Tiers: a test that needs root, namespaces, a real sshd, tmux, the network, heavy runs of the
real tcpdmatch or the built binary is marked `integration` (`pytest -m integration`); the
rest is the unit tier (`pytest -m "not integration"`), which runs unprivileged and offline in
under a minute. A unit-tier test that reaches for a namespace or an sshd fails at once with
"mark the test integration" (tests/helpers/mountns.py: needs_integration), and one that fails on a
permission error says it probably needs root.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import hostguard
from tests.helpers.mountns import TIER_ENV, MountNamespace

# The tool turns a bug of its own into one line for operators; the tests want the traceback.
os.environ.setdefault("SSH_RESET_DOCTOR_DEBUG", "1")

# A run started in the background (`nohup`, or `&` in a shell without job control) inherits
# SIGINT ignored, and every program the tests start would too: the Ctrl-C tests would see
# the tool carry on. The programs start as from a terminal, with SIGINT at its default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _real_action_logs() -> list[Path]:
    """The action logs the tool would write outside the tests (XDG_STATE_HOME as the session
    found it, and the account's ~/.local/state)."""
    import pwd

    dirs = [Path(pwd.getpwuid(os.getuid()).pw_dir) / ".local/state"]
    if os.environ.get("XDG_STATE_HOME", "").strip():
        dirs.append(Path(os.environ["XDG_STATE_HOME"]))
    return [d / "ssh-reset-doctor" / name for d in dirs for name in ("actions.log",
                                                                      "actions.log.1")]


def _stat_or_none(p: Path) -> tuple[int, int] | None:
    try:
        st = p.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


@pytest.fixture(scope="session", autouse=True)
def state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test, and every program a test starts with this environment, keeps its state
    (the action log, copies) in a directory of the session's, never the real
    ~/.local/state; the session fails if the real action log changed anyway."""
    real = _real_action_logs()
    before = [_stat_or_none(p) for p in real]
    state = tmp_path_factory.mktemp("xdg-state")
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(state)
    try:
        yield state
    finally:
        if old is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = old
    changed = [str(p) for p, b in zip(real, before) if _stat_or_none(p) != b]
    if changed:
        pytest.fail("the tests wrote the real action log: " + ", ".join(changed),
                    pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def host_guard() -> Iterator[None]:
    """Fail the run if it changed the machine's users, sudo rights, TCP wrappers or ssh
    configuration (tests/helpers/hostguard.py says what is watched)."""
    before = hostguard.state()
    yield
    changed = hostguard.changes(before, hostguard.state())
    if changed:
        pytest.fail("the tests changed this machine (only namespaces and overlays may be "
                    "changed):\n  " + "\n  ".join(changed), pytrace=False)


def _unit(item: pytest.Item) -> bool:
    return item.get_closest_marker("integration") is None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture of the test (module-scoped ones too) is set up: say its tier."""
    os.environ[TIER_ENV] = "unit" if _unit(item) else "integration"


def pytest_runtest_teardown(item: pytest.Item) -> None:
    os.environ.pop(TIER_ENV, None)


_NEEDS_ROOT = re.compile(r"Operation not permitted|Permission denied|must be (run as )?root"
                         r"|needs root|EPERM|EACCES")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not (report.failed and _unit(item) and call.excinfo is not None):
        return
    exc = call.excinfo
    if "pytest.mark.integration" in str(exc.value):
        return  # needs_integration said it already
    if exc.errisinstance(PermissionError) or _NEEDS_ROOT.search(str(exc.value)):
        report.sections.append((
            "unit tier",
            f"{item.nodeid} is in the unit tier (no integration marker), which runs without "
            "root or network, and it failed on a permission error: if it needs root, "
            "namespaces or the network, mark it @pytest.mark.integration.",
        ))


@pytest.fixture
def ns(tmp_path: Path) -> Iterator[MountNamespace]:
    (tmp_path / "ns").mkdir()
    ns = MountNamespace(tmp_path / "ns")
    try:
        ns.overlay("/etc")
        ns.overlay("/var/lib")  # the change journal lands here
        yield ns
    finally:
        ns.close()


@pytest.fixture
def system_sshd(tmp_path: Path) -> Iterator[MountNamespace]:
    """This machine's own sshd, with its own config and host keys, serving port 22 in a
    private mount and network namespace (the machine's real port 22 is untouched)."""
    ns = MountNamespace(tmp_path, net=True)
    try:
        for path in ("/etc", "/var/lib", "/run", "/var/log"):
            ns.overlay(path)
        ns.write("/etc/hosts.deny", b"# nothing denied\n")
        ns.sh("mkdir -p /run/sshd && chmod 0755 /run/sshd && /usr/sbin/sshd")
        yield ns
    finally:
        ns.sh("kill $(cat /run/sshd.pid) 2>/dev/null || true", check=False)
        ns.close()
