"""Host key permissions judged as the target's sshd judges them (issue 14, item 1).

Upstream sshd (authfile.c sshkey_perm_ok) ignores a root-owned key with any group or other
bit; RHEL-family sshd (openssh-6.6p1-keyperm.patch) also accepts group read when the group is
ssh_keys, and sshd-keygen makes keys 0640 root:ssh_keys. The rule is read from the sshd
binary (the patch leaves "ssh_keys" in it), else from the distribution.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers import centos7_root
from tests.helpers.fixture_root import build_root
from tests.helpers.mountns import run_tool
from tui.core.demo import elf
from tui.core.diagnosis import sshdserve
from tui.core.facts import local
from tui.core.facts.common import keyperm_patched
from tui.core.facts.model import Facts, FileBlob, PathInfo

SSH_KEYS_GID = 996  # what RHEL's openssh package gets from `groupadd -r ssh_keys`
GROUP = b"root:x:0:\nbin:x:1:\nssh_keys:x:996:\nsshd:x:74:\n"
KEYS = ("rsa", "ecdsa", "ed25519")


def _rhel_root(tmp_path: Path, *, patched: bool = True) -> Path:
    """The CentOS 7 disk with RHEL's host keys (0640 root:ssh_keys) and both seed faults
    repaired, so anything left is about the keys."""
    root = centos7_root.build(tmp_path / "c7")
    rodata = b"OpenSSH_7.4p1\0OpenSSH_7.4\0" + (b"ssh_keys\0" if patched else b"") + \
        b"SSH-%d.%d-%.100s%s%s\r\n\0"
    (root / "usr/sbin/sshd").write_bytes(elf.build(
        needed=centos7_root.SSHD_NEEDED, interp=centos7_root.INTERP, rodata=rodata, pie=True))
    os.symlink("liblz4.so.1.7.5", root / "usr/lib64/liblz4.so.1")
    (root / "etc/hosts.deny").write_bytes(b"# hosts.deny\n")
    (root / "etc/group").write_bytes(GROUP)
    for kind in KEYS:
        key = root / f"etc/ssh/ssh_host_{kind}_key"
        key.write_bytes(b"placeholder\n")
        os.chown(key, 0, SSH_KEYS_GID)
        key.chmod(0o640)
    return root


def _keys(root: Path) -> sshdserve.Finding:
    return sshdserve.finding(local.collect(str(root)), None)


def test_keyperm_string_is_found_in_sshd(tmp_path: Path) -> None:
    assert keyperm_patched(b"\0x\0ssh_keys\0y\0")
    assert not keyperm_patched(Path("/usr/sbin/sshd").read_bytes())  # Debian: upstream rule
    facts = local.collect(str(_rhel_root(tmp_path)))
    assert facts.sshd_keyperm is True


def test_rhel_keys_0640_root_ssh_keys_are_fine(tmp_path: Path) -> None:
    root = _rhel_root(tmp_path)
    f = _keys(root)
    assert f.status == "ok" and "3 host keys usable" in f.summary, f
    assert f.evidence.host_key_rule.startswith("RHEL keyperm: 0640 root:ssh_keys")
    assert "from sshd's binary" in f.evidence.host_key_rule
    assert [r.gid for r in f.evidence.host_keys] == [SSH_KEYS_GID] * 3

    # the whole check of a healthy CentOS 7 disk: exit 0, no problem
    r = run_tool("check", "--root", str(root), "--json", "--client-ip", "203.0.113.9")
    doc = json.loads(r.stdout)
    assert r.returncode == 0, [x for x in doc["findings"] if x["status"] == "problem"]


def test_rhel_least_change_that_sshd_accepts(tmp_path: Path) -> None:
    root = _rhel_root(tmp_path)
    rsa, ecdsa, ed = (root / f"etc/ssh/ssh_host_{k}_key" for k in KEYS)
    os.chown(rsa, 0, 0)  # 0640 root:root: the group is not ssh_keys
    ecdsa.chmod(0o644)  # others may read: never accepted
    ed.chmod(0o660)  # group write: the patch allows group read only
    f = _keys(root)
    assert f.status == "problem", f
    assert f.remedy == [  # a disk: the commands name its files under the mount point
        f"chgrp ssh_keys {root}/etc/ssh/ssh_host_rsa_key",
        f"chmod 0640 {root}/etc/ssh/ssh_host_ecdsa_key",
        f"chmod 0640 {root}/etc/ssh/ssh_host_ed25519_key",
    ]
    rows = {r.path: r for r in f.evidence.host_keys}
    assert rows["/etc/ssh/ssh_host_rsa_key"].reason == (
        "bad permissions 0640 (UNPROTECTED PRIVATE KEY FILE, this sshd allows group read by "
        "ssh_keys only, as 0640 root:ssh_keys): sshd ignores it")
    assert "chmod 600" not in "\n".join(f.remedy)


def test_unpatched_sshd_on_rpm_disk_uses_the_upstream_rule(tmp_path: Path) -> None:
    root = _rhel_root(tmp_path, patched=False)  # e.g. a self-built OpenSSH in /usr/sbin
    f = _keys(root)
    assert f.status == "problem", f
    assert f.evidence.host_key_rule.startswith("upstream: 0600 or stricter (from sshd's binary")
    assert f.remedy == [f"chmod 0600 {root}/etc/ssh/ssh_host_{k}_key" for k in KEYS]


def test_debian_root_0640_key_is_refused_with_chmod_0600(tmp_path: Path) -> None:
    root = build_root(tmp_path / "deb")
    (root / "etc/group").write_bytes(b"root:x:0:\n_ssh:x:101:\n")
    key = root / "etc/ssh/ssh_host_ed25519_key"
    key.chmod(0o640)
    f = _keys(root)
    assert f.status == "problem" and "bad permissions 0640" in f.summary, f
    assert f.remedy == [f"chmod 0600 {root}/etc/ssh/ssh_host_ed25519_key"]
    key.chmod(0o600)
    assert _keys(root).evidence.checks["host_keys"].status == "ok"


def _facts(**kw: object) -> Facts:
    facts = Facts("t", "root", False, **kw)  # type: ignore[arg-type]
    facts.paths = {"/var/empty/sshd": PathInfo(0o40711, 0, 0)}
    for k in KEYS:
        facts.paths[f"/etc/ssh/ssh_host_{k}_key"] = PathInfo(0o100640, 0, SSH_KEYS_GID)
    return facts


def test_binary_unread_falls_back_to_the_distribution() -> None:
    rhel = _facts(package_manager="rpm", files={"/etc/group": FileBlob(GROUP)})
    f = sshdserve.finding(rhel, None)
    assert f.evidence.checks["host_keys"].status == "ok", f
    assert "assumed from the distribution" in f.evidence.host_key_rule
    # a RHEL-family disk without the ssh_keys group: sshd's getgrnam() finds none
    bare = _facts(package_manager="rpm", files={"/etc/group": FileBlob(b"root:x:0:\n")})
    assert sshdserve.finding(bare, None).status == "problem"
    deb = _facts(package_manager="dpkg", files={"/etc/group": FileBlob(GROUP)})
    f = sshdserve.finding(deb, None)
    assert f.status == "problem" and f.remedy[0] == "chmod 0600 /etc/ssh/ssh_host_rsa_key"


def test_patched_sshd_and_a_key_owned_by_another_user_is_not_judged() -> None:
    facts = _facts(sshd_keyperm=True, files={"/etc/group": FileBlob(GROUP)})
    facts.paths["/etc/ssh/ssh_host_rsa_key"] = PathInfo(0o100644, 1000, 1000)
    # sshkey_perm_ok() only judges keys owned by sshd's uid (root)
    assert sshdserve.finding(facts, None).evidence.checks["host_keys"].status == "ok"


def test_over_ssh_the_targets_grep_finds_the_keyperm_string(tmp_path: Path) -> None:
    """The --host source asks the target's grep (the request server, here under this
    machine's sh): 0 it names ssh_keys, 1 it does not, an unreadable binary is unknown."""
    from tui.core.facts import remote
    from tui.core.targets import shellchan

    patched, plain = tmp_path / "patched", tmp_path / "plain"
    patched.write_bytes(b"\x7fELF\0OpenSSH_7.4\0ssh_keys\0")
    plain.write_bytes(b"\x7fELF\0OpenSSH_9.2\0")
    server = shellchan.start_local(["sh"])
    try:
        src = remote.RemoteSource(server, "t")
        paths = (patched, plain, tmp_path / "absent")
        for p in paths:
            src.keyperm(str(p))  # asked: answered with the next round trip
        src.fetch()
        assert [src.keyperm(str(p)) for p in paths] == [True, False, None]
    finally:
        server.close()
