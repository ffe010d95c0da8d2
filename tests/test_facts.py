"""The SSH facts script, run for real with this machine's sh, agrees with the local collector."""

from __future__ import annotations

import errno
import os
import subprocess

import pytest

from tui.core.facts import local, remote
from tui.core.facts.model import ALLOW, DENY


def run_script() -> tuple[bytes, str]:
    marker = remote.new_marker()
    out = subprocess.run(["sh", "-c", remote.script(marker)], capture_output=True, timeout=60,
                         check=True).stdout
    return out, marker


@pytest.mark.integration  # sshd -T reads the root-only host keys
def test_script_and_local_collector_agree_on_this_machine() -> None:
    out, marker = run_script()
    theirs = remote.parse(out, marker=marker, target="t")
    ours = local.collect("/")
    for path in (ALLOW, DENY, "/etc/passwd"):
        assert theirs.files[path] == ours.files[path], path
    assert theirs.package_manager == ours.package_manager == "dpkg"
    assert theirs.sftp_server == ours.sftp_server
    [a], [b] = theirs.binaries, ours.binaries
    assert a.binary == b.binary == "/usr/sbin/sshd"
    real = {lib.soname: os.path.realpath(lib.path) for lib in a.libraries}
    assert real == {lib.soname: os.path.realpath(lib.path) for lib in b.libraries
                    if lib.soname in real}
    assert "libwrap.so.0" in real and not a.missing
    assert theirs.sshd_version and theirs.sshd_version.startswith("OpenSSH_")
    assert theirs.sshd_keyperm is ours.sshd_keyperm is False  # Debian: no keyperm patch
    # sshd's own view, the sockets and the stat() of its paths: the same either way
    for label in ("sshd -T", "sshd -t", "ss -ltnpH"):
        assert theirs.commands[label] == ours.commands[label], label
    assert "maxstartups" in ours.commands["sshd -T"].stdout
    assert theirs.paths == ours.paths
    assert ours.paths["/usr/sbin/sshd"].mode is not None
    assert ours.paths["/var/empty/sshd"].errno == errno.ENOENT  # Debian's is /run/sshd
    f2b = [p for p in ours.files if p.startswith(("/var/lib/fail2ban/", "/var/lib/denyhosts/"))]
    assert f2b and all(theirs.files[p] == ours.files[p] for p in f2b)


@pytest.mark.integration  # a mount namespace
def test_script_reports_a_broken_sshd_config_as_data(tmp_path) -> None:
    """`sshd -t` failing is what the sshd-serve finding reads: rc and message survive."""
    from tests.mountns import MountNamespace

    ns = MountNamespace(tmp_path)
    try:
        ns.overlay("/etc")
        ns.sh("echo 'Bogus yes' >> /etc/ssh/sshd_config")
        marker = remote.new_marker()
        out = subprocess.run([*ns.prefix, "sh", "-c", remote.script(marker)],
                             capture_output=True, timeout=60, check=True).stdout
        facts = remote.parse(out, marker=marker, target="t")
        t = facts.commands["sshd -t"]
        assert t.rc == 255 and "Bad configuration option: Bogus" in t.stderr
        assert facts.commands["sshd -T"].rc == 255
    finally:
        ns.close()


def test_truncated_reply_is_an_error_not_a_healthy_machine() -> None:
    out, marker = run_script()
    with pytest.raises(remote.FactsError, match="incomplete"):
        remote.parse(out[: len(out) // 2], marker=marker, target="t")
    with pytest.raises(remote.FactsError):
        remote.parse(b"", marker=marker, target="t")


def test_a_log_line_cannot_forge_a_section() -> None:
    out, marker = run_script()
    forged = out.replace(f"\n{marker} end".encode(),
                         b"\n==SRD== file /etc/hosts.deny\nQUxMOiBBTEwK\n"
                         + f"\n{marker} end".encode())
    facts = remote.parse(forged, marker=marker, target="t")
    assert facts.files[DENY] == remote.parse(out, marker=marker, target="t").files[DENY]


def test_ldd_output_parsing() -> None:
    text = (b"\tlinux-vdso.so.1 (0x00007ffd)\n"
            b"\tlibwrap.so.0 => /lib/x86_64-linux-gnu/libwrap.so.0 (0x00007f64d46de000)\n"
            b"\tliblz4.so.1 => not found\n"
            b"\t/lib64/ld-linux-x86-64.so.2 (0x00007f81a8559000)\n")
    libs = remote.parse_ldd("/usr/sbin/sshd", text, {"liblz4.so.1": "/lib/libsystemd.so.0"})
    assert libs.missing == ["liblz4.so.1"]
    assert libs.needed_by("liblz4.so.1") == "/lib/libsystemd.so.0"
    assert libs.interpreter == "/lib64/ld-linux-x86-64.so.2"
    bad = remote.parse_ldd("/usr/sbin/sshd", b"\tnot a dynamic executable\n", {})
    assert bad.error == "not a dynamic executable"
