"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mountns import MountNamespace


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
