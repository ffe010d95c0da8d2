"""Safe changes under faults and races: a full disk, a rewrite that fails half-way, a lost
record, another writer, a second run, Ctrl-C, and the plan the operator confirmed.

Real parts: tmpfs and bind mounts in a private mount namespace, real processes appending to
the file we edit, signals delivered by strace at a chosen system call, the CLI as operators
run it on a mounted root built from this machine's real sshd.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.faultkit import REPO, strace
from tests.helpers.fixture_root import build_root
from tests.helpers.mountns import MountNamespace, run_tool
from tui.core.changes import journal
from tui.core.changes.apply import ChangeError, apply_plan
from tui.core.changes.plan import FileEdit, Plan
from tui.core.changes.undo import undo
from tui.core.targets.localops import LocalOps
from tui.core.targets.lock import LOCK_FILE, LocalLock

CLIENT = "203.0.113.45"
RULE = f"sshd: {CLIENT}\n".encode()


def _root(tmp: Path, deny: bytes) -> Path:
    root = build_root(tmp / "sysimage")
    (root / "etc/hosts.allow").write_bytes(b"# /etc/hosts.allow\n")
    (root / "etc/hosts.deny").write_bytes(deny)
    return root


def _pad_to(size: int, *lines: bytes) -> bytes:
    """Comment lines (short: libwrap reads 2047 bytes a line) then `lines`, `size` bytes."""
    body = b"".join(lines)
    filler = size - len(body)
    out = []
    while filler > 0:
        n = min(filler, 80)
        out.append(b"#" * (n - 1) + b"\n" if n > 1 else b"\n")
        filler -= n
    return b"".join(out) + body


# --- 1. a rewrite in place that fails half-way ------------------------------------------------


@pytest.mark.integration  # a tmpfs in a mount namespace
def test_full_tmpfs_during_an_in_place_rewrite_is_rolled_back_and_verified(
    tmp_path: Path,
) -> None:
    """hosts.deny bind-mounted from a full tmpfs: the grown file needs a page there is not.
    The write fails after a page was overwritten; the old bytes go back and are read back."""
    deny = _pad_to(4096, RULE)  # exactly one tmpfs page: one more byte needs a second
    root = _root(tmp_path, deny)
    ns = MountNamespace(tmp_path / "ns-work")
    try:
        fs = tmp_path / "small"
        fs.mkdir()
        ns.sh(f"mount -t tmpfs -o size=8k tmpfs {fs} && cat > {fs}/hosts.deny", input=deny)
        ns.sh(f"dd if=/dev/zero of={fs}/fill bs=4096 count=8 2>/dev/null || true")
        ns.sh(f"mount --bind {fs}/hosts.deny {root}/etc/hosts.deny")
        r = ns.tool("fix", "tcp-wrappers", "--remedy", "comment-out", "--client-ip", CLIENT,
                    "--yes", "--root", str(root))
        assert r.returncode == 2, r.stdout + r.stderr
        assert "No space left on device" in r.stderr
        assert "rolled back, the files are as they were (read back and compared)" in r.stderr
        assert ns.read(f"{fs}/hosts.deny") == deny  # byte-identical, final newline and all
        doc = [cs for cs in journal.change_sets(LocalOps(str(root)))[0]]
        assert [cs.state for cs in doc] == ["rolled-back"]
    finally:
        ns.close()


class _HalfWrite(LocalOps):
    """A rewrite in place that dies half-way (EIO after writing half), as a failing disk or
    a lost link would leave it; optionally the way back fails too."""

    def __init__(self, root: str, restore_fails: bool = False) -> None:
        super().__init__(root)
        self.restore_fails = restore_fails
        self.calls = 0

    def rename_over(self, src: str, dst: str, limit: int = 64 << 20,
                    settle: tuple[float, ...] = ()) -> bytes | None:
        if dst == "/etc/hosts.deny":
            raise OSError(errno.EBUSY, "Device or resource busy", dst)  # bind-mounted
        return super().rename_over(src, dst, limit, settle)

    def overwrite(self, path: str, data: bytes) -> None:
        self.calls += 1
        if self.calls == 1 or self.restore_fails:
            with open(self.host_path(path), "r+b") as f:  # cut short: no final newline
                f.write(data[: len(data) // 2])
                f.truncate(len(data) // 2)
            raise OSError(errno.EIO, "Input/output error", path)
        super().overwrite(path, data)


def _plan_for(deny: bytes) -> Plan:
    return Plan("comment-out", "t", [FileEdit("/etc/hosts.deny", deny,
                                              deny.replace(RULE, b"#" + RULE))])


def test_half_written_file_is_restored_from_its_bytes_and_read_back(tmp_path: Path) -> None:
    deny = b"# policy\n" + RULE + b"ALL: 10.0.0.0/8\n"
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts.deny").write_bytes(deny)
    with pytest.raises(ChangeError) as err:
        apply_plan(_HalfWrite(str(tmp_path)), _plan_for(deny), target="t")
    assert "rolled back, the files are as they were (read back and compared)" in str(err.value)
    assert not err.value.changed and not err.value.details
    assert (tmp_path / "etc/hosts.deny").read_bytes() == deny


def test_unverified_rollback_names_state_backup_and_command_then_undo_restores(
    tmp_path: Path,
) -> None:
    deny = b"# policy\n" + RULE + b"ALL: 10.0.0.0/8\n"
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts.deny").write_bytes(deny)
    with pytest.raises(ChangeError) as err:
        apply_plan(_HalfWrite(str(tmp_path), restore_fails=True), _plan_for(deny), target="t")
    e = err.value
    assert e.changed and "could not be verified" in str(e)
    assert "rolled back, the files are as they were" not in str(e)
    [line] = e.details
    [cs] = journal.change_sets(LocalOps(str(tmp_path)))[0]
    backup = cs.backups()[0]
    assert line.startswith("/etc/hosts.deny: not restored")
    assert "may be cut short by a rewrite that was stopped half-way" in line
    assert f"cat {tmp_path}{backup} > {tmp_path}/etc/hosts.deny" in line
    torn = (tmp_path / "etc/hosts.deny").read_bytes()
    assert torn not in (deny, _plan_for(deny).ops[0].after)  # type: ignore[union-attr]
    # The printed command works (and undo does the same, from the journal).
    subprocess.run(line.split("restore it with: ", 1)[1], shell=True, check=True)
    assert (tmp_path / "etc/hosts.deny").read_bytes() == deny
    (tmp_path / "etc/hosts.deny").write_bytes(torn)
    res = undo(LocalOps(str(tmp_path)), target="t")
    assert res.done and (tmp_path / "etc/hosts.deny").read_bytes() == deny


# --- 2. the journal -----------------------------------------------------------------------


class _NoRoomForTheRecord(LocalOps):
    """ENOSPC on the journal write that would mark the set applied."""

    def create_exclusive(self, path: str, data: bytes, mode: int) -> None:
        if "/.journal.json." in path and b'"state": "applied"' in data:
            raise OSError(errno.ENOSPC, "No space left on device", path)
        super().create_exclusive(path, data, mode)


def test_no_room_for_the_final_record_keeps_the_change_and_undo_still_works(
    tmp_path: Path,
) -> None:
    deny = RULE
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts.deny").write_bytes(deny)
    plan = _plan_for(deny)
    cs = apply_plan(_NoRoomForTheRecord(str(tmp_path)), plan, target="t")
    assert (tmp_path / "etc/hosts.deny").read_bytes() == b"#" + RULE
    assert any("could not be marked applied" in n and "undo still restores it" in n
               for n in cs.notes)
    [on_disk] = journal.change_sets(LocalOps(str(tmp_path)))[0]
    assert on_disk.state == "applying"
    res = undo(LocalOps(str(tmp_path)), target="t")  # not "nothing to undo"
    assert res.done and (tmp_path / "etc/hosts.deny").read_bytes() == deny


@pytest.mark.parametrize("name", ["²-20261202T000000Z-abcdef", "1" * 240,
                                  "000003-20261202T000000Z-abcdef"])
def test_hostile_journal_entries_are_skipped_not_crashed_on(tmp_path: Path, name: str) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts.deny").write_bytes(RULE)
    ops = LocalOps(str(tmp_path))
    apply_plan(ops, _plan_for(RULE), target="t")
    bad = tmp_path / "var/lib/ssh-reset-doctor/changes" / name
    bad.mkdir()
    (bad / "journal.json").write_bytes(
        b'{"state": "applied", "remedy": "x", "entries": [{"op": "edit", "path": "/etc/shadow",'
        b' "backup": "/etc/passwd", "after_sha256": "00"}]}')
    res = undo(ops, target="t")  # the crafted set is not ours: the real one is undone
    assert res.change_set.seq == 1 and (tmp_path / "etc/hosts.deny").read_bytes() == RULE
    r = run_tool("check", "--root", str(tmp_path), "--json")
    assert "Traceback" not in r.stderr and r.returncode in (0, 1, 2), r.stderr
    r = run_tool("undo", "--root", str(tmp_path))
    assert "Traceback" not in r.stderr and r.returncode == 1, r.stderr


@pytest.mark.integration  # real lock waits and timeouts
def test_a_second_run_waits_then_is_refused_while_the_lock_is_held(tmp_path: Path) -> None:
    root = _root(tmp_path, RULE)
    with LocalLock(str(root / LOCK_FILE[1:]), "lock"):
        start = time.monotonic()
        r = run_tool("fix", "tcp-wrappers", "--client-ip", CLIENT, "--yes", "--root", str(root))
        waited = time.monotonic() - start
    assert r.returncode == 2 and waited > 4, (waited, r.stderr)
    assert re.search(r"another ssh-reset-doctor run \(pid \d+ on .* since \S+\) is changing "
                     r"this target", r.stderr), r.stderr
    assert (root / "etc/hosts.deny").read_bytes() == RULE
    r = run_tool("fix", "tcp-wrappers", "--client-ip", CLIENT, "--yes", "--root", str(root))
    assert r.returncode == 0, r.stderr  # released: kill -9 or exit drops a flock


# --- 3. another writer ------------------------------------------------------------------------

_APPENDER = r"""
import os, sys, time
path, stop, count = sys.argv[1], sys.argv[2], 0
while not os.path.exists(stop):
    with open(path, "ab") as f:  # as fail2ban's `echo ... >> hosts.deny`, DenyHosts' append
        f.write(b"sshd: 198.51.100.%d # w%d\n" % (count % 250, count))
    count += 1
    time.sleep(0.04)  # a ban every 40 ms: busier than any real fail2ban
print(count)
"""


@pytest.mark.integration  # a real concurrent writer, seconds long
@pytest.mark.parametrize("delay_us", [0, 3000])
def test_a_concurrent_appender_never_loses_a_line(tmp_path: Path, delay_us: int) -> None:
    """Another process appends to hosts.deny (as fail2ban and DenyHosts do) while we edit its
    first line again and again. With `delay_us`, strace holds every rename that long, so
    the appender's lines land in the very window between our last look and the rename."""
    (tmp_path / "etc").mkdir()
    deny = tmp_path / "etc/hosts.deny"
    deny.write_bytes(b"# v0\n" + RULE)
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", _APPENDER, str(deny), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    try:
        cmd = [sys.executable, "-m", "tests.helpers.fault_driver", "race", str(tmp_path), "120"]
        if delay_us:
            cmd = [strace(), "-qq", "-o", "/dev/null", "-e", "trace=rename",
                   "-e", f"inject=rename:delay_enter={delay_us}", *cmd]
        r = subprocess.run(cmd, input="GO\n", capture_output=True, text=True, timeout=300,
                           cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert r.returncode == 0, r.stderr
    finally:
        stop.touch()
        written = int(writer.communicate(timeout=30)[0])
    outcome = json.loads(r.stdout.splitlines()[-1])
    final = deny.read_bytes()
    lines = final.splitlines()
    kept = [n for n in range(written) if b"# w%d\n" % n in final]
    print(f"rename delay {delay_us} us: appender wrote {written} lines; {outcome}")
    assert len(kept) == written, f"lost {written - len(kept)} of {written} lines: {outcome}"
    assert len(lines) == written + 2  # nothing duplicated either
    assert lines[0] == b"# v%d" % outcome["version"] and outcome["applied"] > 0
    if delay_us:
        assert outcome["withdrawn"] > 0  # the race really was run


def test_rollback_keeps_what_another_writer_appended_meanwhile(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    deny = tmp_path / "etc/hosts.deny"
    deny.write_bytes(RULE)

    def verify() -> str:
        # fail2ban bans someone while our change is being verified...
        subprocess.run([sys.executable, "-c", "import sys; open(sys.argv[1], 'ab')"
                        ".write(b'sshd: 198.51.100.9\\n')", str(deny)], check=True)
        return "still denied"  # ...and our change did not help: roll back

    with pytest.raises(ChangeError, match="still denied; rolled back, the files are as they"):
        apply_plan(LocalOps(str(tmp_path)), _plan_for(RULE), target="t", verify=verify)
    assert deny.read_bytes() == RULE + b"sshd: 198.51.100.9\n"  # theirs kept, ours gone


# --- 10. the plan the operator confirmed --------------------------------------------------


def test_fix_applies_exactly_the_previewed_plan_id_or_nothing(tmp_path: Path) -> None:
    root = _root(tmp_path, b"# policy\n" + RULE)
    deny = root / "etc/hosts.deny"
    args = ("fix", "tcp-wrappers", "--client-ip", CLIENT, "--remedy", "comment-out", "--root",
            str(root))
    r = run_tool(*args)
    assert r.returncode == 1, r.stderr
    plan_id = re.search(r"^plan id: ([0-9a-f]{16})$", r.stdout, re.M).group(1)
    assert f"--yes --plan {plan_id} --root {root} --client-ip {CLIENT}" in r.stdout
    deny.write_bytes(deny.read_bytes() + b"# someone else's line\n")
    changed = deny.read_bytes()
    r = run_tool(*args, "--yes", "--plan", plan_id)
    assert r.returncode == 2 and f"plan {plan_id} is not what the files give now" in r.stderr
    assert deny.read_bytes() == changed
    r = run_tool(*args)
    new_id = re.search(r"^plan id: ([0-9a-f]{16})$", r.stdout, re.M).group(1)
    assert new_id != plan_id
    r = run_tool(*args, "--yes", "--plan", new_id)
    assert r.returncode == 0, r.stderr
    assert deny.read_bytes() == changed.replace(RULE, b"#" + RULE)
    assert f"(plan {new_id})" in r.stdout
    [cs] = [c for c in journal.change_sets(LocalOps(str(root)))[0]]
    assert cs.plan_id == new_id


# --- Ctrl-C and hang-ups --------------------------------------------------------------------


def _traced_fix(root: Path, path: Path, syscall: str, signal: str) -> subprocess.CompletedProcess:
    """`fix --yes` with `signal` delivered when it first calls `syscall` on `path`."""
    return subprocess.run(
        [strace(), "-qq", "-f", "-o", "/dev/null", "-P", str(path), "-e", f"trace={syscall}",
         "-e", f"inject={syscall}:signal={signal}:when=1",
         sys.executable, "-m", "tui", "fix", "tcp-wrappers", "--client-ip", CLIENT, "--yes",
         "--root", str(root)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"})


@pytest.mark.integration  # a second each: the change is held open while the signal lands
@pytest.mark.parametrize("signal", ["INT", "HUP", "TERM"])
def test_a_signal_during_the_change_waits_for_it_to_finish(tmp_path: Path, signal: str) -> None:
    root = _root(tmp_path, RULE)
    # At the rename of the temp file over hosts.deny (strace -P matches its first path).
    r = _traced_fix(root, root / "etc/.hosts.deny.srd-1-1", "rename", signal)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 2 and f"interrupted (SIG{signal}) after the change" in r.stderr
    assert "applied:" in r.stdout
    [cs] = journal.change_sets(LocalOps(str(root)))[0]
    assert cs.state == "applied"


@pytest.mark.integration  # strace
def test_ctrl_c_while_reading_the_target_is_one_line(tmp_path: Path) -> None:
    root = _root(tmp_path, RULE)
    r = _traced_fix(root, root / "etc/hosts.allow", "openat", "INT")
    assert r.returncode == 130 and r.stderr.strip() == "ssh-reset-doctor: interrupted", r.stderr
    assert (root / "etc/hosts.deny").read_bytes() == RULE
