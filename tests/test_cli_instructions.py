"""`ssh-reset-doctor instructions` as a process: the console script and `python -m tui`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("ssh-reset-doctor")


def run(*args: str, script: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [str(SCRIPT)] if script else [sys.executable, "-m", "tui"]
    return subprocess.run([*cmd, "instructions", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_console_script_prints_the_network_commands():
    assert SCRIPT.exists(), f"{SCRIPT} missing: install the package (tests/run.sh does)"
    r = run("network", "--host", "203.0.113.10", "--port", "2222", "--user", "admin",
            script=True)
    assert r.returncode == 0 and r.stderr == ""
    assert "    ssh -vvv -p 2222 admin@203.0.113.10\n" in r.stdout
    assert "    Test-NetConnection 203.0.113.10 -Port 2222\n" in r.stdout


def test_whitelist_with_repeated_client_ip():
    r = run("whitelist", "--client-ip", "8.8.8.8", "--client-ip", "192.168.0.9")
    assert r.returncode == 0, r.stderr
    assert "- `8.8.8.8` (from --client-ip)" in r.stdout
    assert "Warning: `192.168.0.9` (from --client-ip)" in r.stdout
    assert "Whitelist > Access Whitelist" in r.stdout


def test_whitelist_without_client_ip_uses_the_placeholder():
    r = run("whitelist")
    assert r.returncode == 0 and "<your public IP>" in r.stdout and "ifconfig.me" in r.stdout


def test_network_host_may_carry_the_user():
    r = run("network", "--host", "root@ecs.example.com")
    assert r.returncode == 0, r.stderr
    assert "    ssh -vvv -p 22 root@ecs.example.com\n" in r.stdout
    assert "    nc -vz ecs.example.com 22\n" in r.stdout


def test_network_without_host_uses_the_placeholder():
    r = run("network")
    assert r.returncode == 0 and "    tracert <instance public IP>\n" in r.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["whitelist", "--client-ip", "not-an-ip"], "--client-ip: not an IP address"),
    (["network", "--host", "a;rm -rf /"], "not an IP address or hostname"),
    (["network", "--host", "$(x)"], "not an IP address or hostname"),
    (["network", "--host", "x\nrm -rf /"], "not an IP address or hostname"),
    (["network", "--port", "70000"], "port must be 1-65535"),
    (["network", "--user=-oProxyCommand=x"], "not a user name"),
    (["network", "--host", "root@h.example", "--user", "admin"], "disagree"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str):
    r = run(*args)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and message in r.stderr
    assert r.stderr.startswith("ssh-reset-doctor: ")


def test_argparse_errors_exit_2():
    assert run("network", "--port", "x").returncode == 2
    assert run("firewall").returncode == 2


def test_does_not_import_textual_or_paramiko():
    code = ("import sys; from tui.cli import main; main(['instructions', 'network']); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'paramiko')]; "
            "sys.stderr.write(repr(bad))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 0 and r.stderr == "[]"
