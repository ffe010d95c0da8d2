"""The host guard (tests/helpers/hostguard.py, run around every session by tests/conftest.py) sees a
change to users, sudo rights and TCP wrappers, and the lab users exist only in their
namespace. The changes are made in a namespace: the machine itself must not change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import hostguard
from tests.helpers.mountns import MountNamespace
from tests.helpers.sshlab import ensure_user


def test_changes_names_each_path() -> None:
    before = {"/etc/passwd": "a", "/etc/sudoers.d/x": "b", "/home": "cloud"}
    after = {"/etc/passwd": "a2", "/home": "cloud srd-x", "/etc/sudoers.d/y": "c"}
    assert hostguard.changes(before, before) == []
    assert hostguard.changes(before, after) == [
        "/etc/passwd: a -> a2",
        "/etc/sudoers.d/x: b -> absent",
        "/etc/sudoers.d/y: absent -> c",
        "/home: cloud -> cloud srd-x",
    ]


def test_state_covers_what_a_test_must_not_change() -> None:
    state = hostguard.state()
    for path in ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/sudoers", "/etc/sudoers.d",
                 "/etc/hosts.allow", "/etc/hosts.deny", "/etc/ssh", "/home"):
        assert path in state
    assert any(p.startswith("/etc/ssh/") for p in state)


def _state_in(ns: MountNamespace) -> dict[str, str]:
    r = subprocess.run([*ns.prefix, sys.executable, hostguard.__file__], capture_output=True,
                       text=True, check=True)
    return json.loads(r.stdout)


@pytest.mark.integration
def test_guard_sees_a_user_a_sudoers_rule_and_a_deny_rule(tmp_path: Path) -> None:
    host_before = hostguard.state()
    ns = MountNamespace(tmp_path)
    try:
        ns.overlay("/etc")
        inside_before = _state_in(ns)
        assert inside_before == host_before  # the overlay starts as the machine's /etc
        home = ensure_user(ns, "srd-guard", "srd-guard-Pw1", "nopasswd",
                           pubkey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlaceholderKeyForTheGuard")
        ns.write("/etc/hosts.deny", b"sshd: 127.0.0.1\n")
        changed = {line.split(":")[0] for line in
                   hostguard.changes(inside_before, _state_in(ns))}
        assert {"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/sudoers.d/srd-guard",
                "/etc/hosts.deny", "/home"} <= changed, changed
        assert home == "/home/srd-guard"
        assert ns.sh("id -u srd-guard", check=False).returncode == 0
        assert ns.sh("stat -c %U /home/srd-guard/.ssh/authorized_keys").stdout == b"srd-guard\n"
    finally:
        ns.close()
    # The account never existed outside the namespace, and nothing on the machine changed.
    assert subprocess.run(["id", "-u", "srd-guard"], capture_output=True).returncode != 0
    assert hostguard.changes(host_before, hostguard.state()) == []
