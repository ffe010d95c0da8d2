"""Differential tests: our verdict must equal the real tcpdmatch's, quirks included."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import rulegen
from tests.helpers.oracle import oracle, ours, write_pair

# The integration tier: heavy differential runs of the real tcpdmatch.
pytestmark = pytest.mark.integration

PARITY = settings(
    max_examples=int(os.environ.get("PARITY_EXAMPLES", "600")),
    deadline=None,
    derandomize="PARITY_RANDOM" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _check(allow: bytes, deny: bytes, clients: list[str], daemon: str = "sshd") -> None:
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        write_pair(work, allow, deny)
        for client in clients:
            want = oracle(work, client, daemon)
            got = ours(work, client, daemon)
            assert got == want, (
                f"client={client!r} daemon={daemon!r}\n"
                f"hosts.allow={allow!r}\nhosts.deny={deny!r}\n"
                f"tcpdmatch: {want}, ours: {got}"
            )


@PARITY
@given(
    allow=rulegen.rules_file(),
    deny=rulegen.rules_file(),
    clients=st.lists(st.sampled_from(rulegen.CLIENTS), min_size=1, max_size=3, unique=True),
)
def test_generated_rules_agree_with_tcpdmatch(allow: bytes, deny: bytes, clients: list[str]):
    _check(allow, deny, clients)


@PARITY
@given(data=st.data())
def test_pattern_files_agree_with_tcpdmatch(data):
    with tempfile.TemporaryDirectory() as d:
        refs = []
        for name, content in rulegen.pattern_files(d).items():
            Path(d, name).write_bytes(content)
            refs.append(os.path.join(d, name))
        refs.append(os.path.join(d, "does-not-exist"))
        allow = data.draw(rulegen.rules_file(refs))
        deny = data.draw(rulegen.rules_file(refs))
        clients = data.draw(st.lists(st.sampled_from(rulegen.CLIENTS), min_size=1, max_size=3))
        _check(allow, deny, clients)


@PARITY
@given(
    deny=st.binary(max_size=80),
    allow=st.binary(max_size=40),
    client=st.sampled_from(rulegen.CLIENTS),
)
def test_arbitrary_bytes_agree_with_tcpdmatch(allow: bytes, deny: bytes, client: str):
    _check(allow, deny, [client])


def _all_patterns() -> list[str]:
    return sorted(set(rulegen.SPECIAL_PATTERNS + rulegen.HITTING_PATTERNS))


def test_every_pattern_against_every_client(tmp_path: Path):
    """The full matrix: each client pattern, alone in hosts.deny, for each client."""
    mismatches = []
    for pattern in _all_patterns():
        write_pair(tmp_path, b"", f"sshd: {pattern}\n".encode())
        for client in rulegen.CLIENTS:
            want, got = oracle(tmp_path, client), ours(tmp_path, client)
            if want != got:
                mismatches.append((pattern, client, want, got))
    assert not mismatches


def test_every_option_on_a_matching_rule(tmp_path: Path):
    mismatches = []
    for option in rulegen.OPTIONS:
        for table in ("allow", "deny"):
            rule = f"sshd: ALL: {option}\n".encode()
            write_pair(tmp_path, rule if table == "allow" else b"",
                       rule if table == "deny" else b"")
            want, got = oracle(tmp_path, "10.0.0.3"), ours(tmp_path, "10.0.0.3")
            if want != got:
                mismatches.append((table, option, want, got))
    assert not mismatches


def test_every_daemon_pattern(tmp_path: Path):
    mismatches = []
    for daemon_tok in rulegen.DAEMON_PATTERNS:
        write_pair(tmp_path, b"", f"{daemon_tok}: ALL\n".encode())
        for daemon in ("sshd", "vsftpd"):
            want, got = oracle(tmp_path, "10.0.0.3", daemon), ours(tmp_path, "10.0.0.3", daemon)
            if want != got:
                mismatches.append((daemon_tok, daemon, want, got))
    assert not mismatches
