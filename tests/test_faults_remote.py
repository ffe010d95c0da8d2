"""The same safety rules over SSH (SFTP), on a real sshd in a private mount namespace: one run
at a time per target, and a connection lost in the middle of a rewrite."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.mountns import MountNamespace, run_tool
from tests.helpers.sshlab import SshLab
from tests.test_integration_remote import home_for
from tui.core.changes.apply import ChangeError, apply_plan
from tui.core.changes.plan import FileEdit, Plan
from tui.core.targets.base import TargetError
from tui.core.targets.lock import LockError
from tui.core.targets.sftpops import SftpOps
from tui.core.targets.target import RemoteTarget, TargetSpec, open_target

# The integration tier: a real sshd in a mount namespace.
pytestmark = pytest.mark.integration

DENY = b"# policy\n" + b"".join(b"sshd: 198.51.100.%d\n" % n for n in range(40)) + \
    b"sshd: 127.0.0.2\n"


@pytest.fixture
def lab(tmp_path: Path, ns: MountNamespace, monkeypatch: pytest.MonkeyPatch) -> Iterator[SshLab]:
    with SshLab(tmp_path / "lab", prefix=ns.prefix) as lab:
        monkeypatch.setenv("HOME", home_for(lab, tmp_path)["HOME"])
        yield lab


def _open(lab: SshLab) -> RemoteTarget:
    target = open_target(TargetSpec(host=f"root@127.0.0.1:{lab.port}",
                                    identities=[str(lab.client_key)]))
    assert isinstance(target, RemoteTarget)
    return target


def test_one_run_at_a_time_and_a_lost_connection_frees_the_lock(lab: SshLab) -> None:
    first, second = _open(lab), _open(lab)
    try:
        with first.lock():
            with pytest.raises(LockError) as err, second.lock():
                pass
            assert re.search(r"another ssh-reset-doctor run \(pid \d+ on \S+ since \S+\) is "
                             r"changing this target", str(err.value)), err.value
            r = run_tool("fix", "tcp-wrappers", "--yes", "--client-ip", "127.0.0.2", "--host",
                         f"root@127.0.0.1:{lab.port}", "-i", str(lab.client_key))
            assert r.returncode == 2 and "another ssh-reset-doctor run" in r.stderr, r.stderr
        with second.lock():  # released when the first run let go
            pass
        holder = _open(lab)
        held = holder.lock()
        held.__enter__()
        holder.conn.close()  # the holder's connection drops (kill -9, a network cut)
        deadline = time.monotonic() + 20
        while True:  # sshd notices the dead connection and the lock command ends with it
            try:
                with second.lock():
                    break
            except LockError:
                assert time.monotonic() < deadline, "the lock outlived its connection"
    finally:
        first.close()
        second.close()


def test_connection_lost_mid_rewrite_names_the_state_then_undo_restores(
    lab: SshLab, ns: MountNamespace, tmp_path: Path
) -> None:
    """hosts.deny is bind-mounted (rewritten in place over SFTP) and the connection drops
    after half of the new bytes went in: the file is torn. The error must say so, name the
    backup and the command; the next run's undo restores it byte for byte."""
    src = tmp_path / "bound-hosts.deny"
    src.write_bytes(DENY)
    ns.sh(f"mount --bind {src} /etc/hosts.deny")
    target = _open(lab)
    ops = target.fileops()
    assert isinstance(ops, SftpOps)
    real_overwrite = ops.overwrite

    def dropping(path: str, data: bytes) -> None:
        if path == "/etc/hosts.deny" and data.startswith(b"# policy"):
            # Half of the new bytes reach the file (SFTP writes in 32 KiB requests; a big
            # file is many), then the link is gone before the rest and the cut.
            with ops._sftp.open(path, "r+b") as f:
                f.write(data[: len(data) // 2])
            target.conn.close()
        real_overwrite(path, data)

    ops.overwrite = dropping  # type: ignore[method-assign]
    after = DENY.replace(b"sshd: 127.0.0.2\n", b"#sshd: 127.0.0.2\n").replace(
        b"# policy\n", b"# policy (edited)\n")
    try:
        with pytest.raises((ChangeError, TargetError)) as err:
            apply_plan(ops, Plan("comment-out", "t", [FileEdit("/etc/hosts.deny", DENY, after)]),
                       target="lab")
    finally:
        target.close()
    e = err.value
    torn = src.read_bytes()
    assert torn not in (DENY, after)
    assert isinstance(e, ChangeError) and e.changed, e
    assert "rolled back, the files are as they were" not in str(e)
    [line] = e.details
    assert line.startswith("/etc/hosts.deny: not restored")
    assert "cat /var/lib/ssh-reset-doctor/changes/" in line and "> /etc/hosts.deny" in line
    # Reconnect: undo finds the interrupted set and restores the original, byte for byte.
    r = run_tool("undo", "--yes", "--host", f"root@127.0.0.1:{lab.port}", "-i",
                 str(lab.client_key))
    assert r.returncode == 0, r.stderr
    assert "interrupted while applying" in r.stdout
    assert src.read_bytes() == DENY
