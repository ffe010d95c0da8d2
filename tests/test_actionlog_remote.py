"""The action log of a run over SSH with a sudo password (a real sshd, tests/helpers/sshlab.py):
the connection, the commands, the facts reader, the lock and the files written are there;
the password is nowhere, not even where a careless line would have put it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.mountns import MountNamespace
from tests.helpers.sshlab import SshLab, ensure_user
from tui.core import actionlog
from tui.core.targets.target import TargetSpec, open_target

pytestmark = pytest.mark.integration

PW_USER, PW = "srd-logpw", "Log-Secret&9 srd"  # test-only account with password sudo


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshLab]:
    ns = MountNamespace(tmp_path_factory.mktemp("userns"))
    try:
        with SshLab(tmp_path_factory.mktemp("lab"), prefix=ns.prefix) as lab:
            ensure_user(ns, PW_USER, PW, "password", pubkey=lab.client_public_key())
            yield lab
    finally:
        ns.close()


def test_a_sudo_password_run_is_logged_without_the_password(
        lab: SshLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh/known_hosts").write_text(lab.host_key_line() + "\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    actionlog.reset()
    label = f"{PW_USER}@127.0.0.1:{lab.port}"
    asked: list[str] = []

    def provider(prompt: str) -> str:
        asked.append(prompt)
        return PW

    spec = TargetSpec(host=label, identities=[str(lab.client_key)], sudo=True, timeout=10)
    target = open_target(spec, provider)
    try:
        facts = target.collect()
        assert facts.target == label
        res = target.run(["id", "-u"])
        assert res is not None and res.stdout == b"0\n"
        written = str(tmp_path / "written-by-the-tool")
        with target.lock():
            ops = target.fileops()
            ops.create_exclusive(written, b"data\n", 0o600)
            ops.unlink(written)
        actionlog.record(label, "run", f"echo {PW}")  # a careless line: the secret is cut out
    finally:
        target.close()
        actionlog.reset()
    assert asked  # sudo did ask
    text = (state / "ssh-reset-doctor/actions.log").read_text()
    assert PW not in text and PW.split()[0] not in text
    for want in (f'target="{label}" ssh connect: user {PW_USER}, host 127.0.0.1, '
                 f"port {lab.port}",
                 "start facts reader: a read-only sh request server on one channel (sudo)",
                 "run (facts reader): ", "run as root (sudo): id -u",
                 "lock: /var/lib/ssh-reset-doctor/lock on ",
                 f"write: {written} (new, 5 bytes, mode 0600)", f"remove: {written}",
                 "run: echo <secret>"):
        assert want in text, (want, text)
