"""Fixtures shared by the integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mountns import MountNamespace

# The tool turns a bug of its own into one line for operators; the tests want the traceback.
os.environ.setdefault("SSH_RESET_DOCTOR_DEBUG", "1")


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
