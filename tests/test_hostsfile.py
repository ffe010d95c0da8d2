"""The byte-preserving view of a rules file."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import rulegen
from tui.core.tcpwrappers.table import BUFLEN, HostsFile, records


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=3000))
def test_parse_then_serialise_is_identity_for_any_bytes(data: bytes):
    assert HostsFile.parse(data).to_bytes() == data


@settings(max_examples=300, deadline=None)
@given(rulegen.rules_file())
def test_parse_then_serialise_is_identity_for_rule_files(data: bytes):
    f = HostsFile.parse(data)
    assert f.to_bytes() == data
    assert all(line.count(b"\n") <= 1 for line in f.lines)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=5000))
def test_records_tile_the_file_in_order(data: bytes):
    """Every record maps to a contiguous byte span; spans follow each other."""
    pos = 0
    lines = HostsFile.parse(data).lines
    for rec in records(data):
        assert rec.start == pos and rec.end > rec.start
        assert 1 <= rec.first_line <= rec.last_line <= max(1, len(lines))
        assert len(rec.text) < BUFLEN
        pos = rec.end


def test_continuations_and_nul():
    data = b"sshd: a \\\n b\n# c \\\nd\nx\0y\nz\n"
    got = [(r.text, r.first_line, r.last_line) for r in records(data)]
    assert got == [
        (b"sshd: a  b\n", 1, 2),
        (b"# c d\n", 3, 4),
        (b"xz\n", 5, 6),  # strlen() stops at the NUL; the next line is appended
    ]


def test_final_newline_flag():
    assert HostsFile.parse(b"a\n").has_final_newline
    assert not HostsFile.parse(b"a").has_final_newline
    assert HostsFile.parse(b"").has_final_newline
