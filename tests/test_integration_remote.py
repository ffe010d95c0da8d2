"""Remote mode on a real sshd: the tool on this side, the target's sshd in a mount namespace.

The operator (bound to 127.0.0.2) is refused; the tool reaches the same instance by a path
that still works (127.0.0.1, or a second sshd that does not re-exec).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.mountns import MountNamespace, run_tool
from tests.helpers.sshlab import SshLab
from tests.test_integration_console import LIBDIR, assert_login, assert_reset, finding

# The integration tier: a real sshd in mount namespaces.
pytestmark = pytest.mark.integration

OPERATOR = "127.0.0.2"


def home_for(lab: SshLab, tmp_path: Path, trusted: bool = True) -> dict[str, str]:
    """A HOME whose ~/.ssh/known_hosts knows the lab's host key (or not)."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    kh = home / ".ssh/known_hosts"
    kh.write_text(lab.host_key_line() + "\n" if trusted else "")
    return {"HOME": str(home)}


def tool(lab: SshLab, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    where = ["--host", f"root@127.0.0.1:{lab.port}", "-i", str(lab.client_key)]
    return run_tool(args[0], *where, *args[1:], env=env)


def test_method1_remote(ns: MountNamespace, tmp_path: Path) -> None:
    with SshLab(tmp_path / "lab", prefix=ns.prefix) as lab:
        env = home_for(lab, tmp_path)
        original = b"sshd: 127.0.0.2\n"
        ns.write("/etc/hosts.deny", original)
        assert_reset(lab, bind=OPERATOR)

        since = lab.log_offset()
        r = tool(lab, env, "check", "--client-ip", OPERATOR, "--json")
        assert r.returncode == 1, r.stderr
        doc = json.loads(r.stdout)
        assert doc["target"] == f"root@127.0.0.1:{lab.port}"
        m1 = finding(doc, "tcp-wrappers")
        assert (m1["status"], m1["evidence"]["file"], m1["evidence"]["line"],
                m1["evidence"]["rule"]) == ("problem", "/etc/hosts.deny", 1, "sshd: 127.0.0.2")
        assert [f["id"] for f in doc["findings"] if f["status"] == "problem"] == ["tcp-wrappers"]
        channels = lab.session_channels(since)
        print(f"remote check opened {channels} session channel(s)")
        assert 1 <= channels <= 3

        r = tool(lab, env, "fix", "tcp-wrappers", "--client-ip", OPERATOR)
        assert r.returncode == 1 and "+#sshd: 127.0.0.2" in r.stdout, r.stderr
        assert ns.read("/etc/hosts.deny") == original

        r = tool(lab, env, "fix", "tcp-wrappers", "--client-ip", OPERATOR, "--yes")
        assert r.returncode == 0, r.stderr + r.stdout
        assert ns.read("/etc/hosts.deny") == b"#sshd: 127.0.0.2\n"
        assert_login(lab, bind=OPERATOR)

        r = tool(lab, env, "undo", "--yes")
        assert r.returncode == 0, r.stderr
        assert ns.read("/etc/hosts.deny") == original
        assert_reset(lab, bind=OPERATOR)


def test_method2_remote_through_a_second_sshd(ns: MountNamespace, tmp_path: Path) -> None:
    ns.overlay(LIBDIR)
    with SshLab(tmp_path / "broken", prefix=ns.prefix) as broken, \
            SshLab(tmp_path / "rescue", prefix=ns.prefix, no_reexec=True) as rescue:
        env = home_for(rescue, tmp_path)
        target = ns.sh(f"readlink {LIBDIR}/liblz4.so.1").stdout.decode().strip()
        ns.sh(f"rm {LIBDIR}/liblz4.so.1")
        assert_reset(broken)

        since = rescue.log_offset()
        r = tool(rescue, env, "check", "--json")
        assert r.returncode == 1, r.stderr
        m2 = finding(json.loads(r.stdout), "libraries")
        assert m2["status"] == "problem" and m2["evidence"]["missing"] == ["liblz4.so.1"]
        assert m2["evidence"]["candidates"]["liblz4.so.1"].endswith("/" + target)
        assert rescue.session_channels(since) <= 3

        r = tool(rescue, env, "fix", "libraries", "--yes")
        assert r.returncode == 0, r.stderr + r.stdout
        assert ns.sh(f"readlink {LIBDIR}/liblz4.so.1").stdout.decode().strip() == target
        assert_login(broken)

        r = tool(rescue, env, "undo", "--yes")
        assert r.returncode == 0, r.stderr
        assert ns.sh(f"test -e {LIBDIR}/liblz4.so.1", check=False).returncode != 0
        assert_reset(broken)


def test_unknown_host_key_is_refused_with_its_fingerprint(tmp_path: Path) -> None:
    with SshLab(tmp_path / "lab") as lab:
        env = home_for(lab, tmp_path, trusted=False)
        r = tool(lab, env, "check", "--json")
        assert r.returncode == 2 and r.stdout == ""
        fp = subprocess.run(["ssh-keygen", "-lf", f"{lab.host_key}.pub"], capture_output=True,
                            text=True, check=True).stdout.split()[1]
        assert fp.startswith("SHA256:") and fp in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        assert "known_hosts" in r.stderr  # how to accept it


def test_unreachable_host_is_one_line_exit_2(tmp_path: Path) -> None:
    from tests.helpers.sshlab import free_port

    r = run_tool("check", "--host", f"root@127.0.0.1:{free_port()}", "--timeout", "3",
                 env={"HOME": str(tmp_path)})
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "refused" in r.stderr


def test_method1_remote_as_a_sudo_user(tmp_path: Path) -> None:
    """Not root: facts and the edit go through `sudo -n` (and a root sftp-server under sudo)."""
    from tests.helpers.sshlab import ensure_user

    (tmp_path / "ns").mkdir()
    ns = MountNamespace(tmp_path / "ns")
    try:
        ns.overlay("/etc")
        ns.overlay("/var/lib")
        lab = SshLab(tmp_path / "lab", prefix=ns.prefix)
        ensure_user(ns, "srd-nopw", "srd-nopw-Pw1", "nopasswd", pubkey=lab.client_public_key())
        with lab:
            env = home_for(lab, tmp_path)
            ns.write("/etc/hosts.deny", b"ALL: 127.0.0.2\n")
            assert_reset(lab, bind=OPERATOR)
            where = ["--host", f"srd-nopw@127.0.0.1:{lab.port}", "-i", str(lab.client_key),
                     "--sudo"]
            r = run_tool("fix", "tcp-wrappers", *where, "--client-ip", OPERATOR, "--yes",
                         env=env)
            assert r.returncode == 0, r.stderr + r.stdout
            allow = ns.sh("stat -c '%U %a' /etc/hosts.allow").stdout.decode().split()
            assert allow == ["root", "644"]
            assert_login(lab, bind=OPERATOR)
            assert run_tool("undo", *where, "--yes", env=env).returncode == 0
            assert_reset(lab, bind=OPERATOR)
    finally:
        ns.close()


def test_full_diagnosis_with_a_sudo_password_opens_at_most_3_channels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worst case: sudo -n fails, the password is checked, the facts script runs."""
    from tests.helpers.sshlab import ensure_user
    from tui.core.diagnosis.report import run_checks
    from tui.core.targets.target import TargetSpec, open_target

    (tmp_path / "ns").mkdir()
    ns = MountNamespace(tmp_path / "ns")
    with contextlib.closing(ns), SshLab(tmp_path / "lab", prefix=ns.prefix) as lab:
        ensure_user(ns, "srd-pw", "srd-pw-Pw1", "password", pubkey=lab.client_public_key())
        env = home_for(lab, tmp_path)
        asked: list[str] = []
        spec = TargetSpec(host=f"srd-pw@127.0.0.1:{lab.port}", identities=[str(lab.client_key)],
                          sudo=True)
        since = lab.log_offset()
        monkeypatch.setenv("HOME", env["HOME"])
        target = open_target(spec, lambda prompt: asked.append(prompt) or "srd-pw-Pw1")
        try:
            facts = target.collect()
        finally:
            target.close()
        report = run_checks(facts, None)
        assert len(asked) == 1
        assert not facts.notes or "not root" not in " ".join(facts.notes)  # ran as root
        assert {f.id for f in report.findings if f.status == "problem"} == set()
        channels = lab.session_channels(since)
        print(f"remote diagnosis with a sudo password: {channels} session channel(s)")
        assert channels <= 3
