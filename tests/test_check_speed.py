"""Issue 16 item 4: what `check` does per line of a big hosts.deny, done at C speed, says
what the line-by-line reading says."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.core.diagnosis.denylists import denyhosts

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

IPS = ["203.0.113.9", "10.0.0.3", "2001:db8::5", "::ffff:203.0.113.9", "2001:DB8:0:0::5",
       "fe80::1%eth0", "not an ip", "", "[2001:db8::5]", "::1"]
_WORDS = st.sampled_from([
    "203.0.113.9", "203.0.113.90", "1203.0.113.9", "::ffff:203.0.113.9", "::FFFF:cb00:7109",
    "0:0:0:0:0:ffff:203.0.113.9", "[2001:db8::5]", "2001:db8::5", "2001:0db8:0:0:0:0:0:5",
    "2001:DB8::5", "2001:db8::0.0.0.5", "10.0.0.3", "010.0.0.3", "fe80::1%eth0", "::1",
    "0:0:0:0:0:0:0:1", "EXCEPT", "except", "ALL", "sshd", "sshd:", ":", " : deny", ",", " ",
    "\t", "#", "# DenyHosts: Sat Nov 21 10:00:00 2026 | ", " | ", "\r", "\x0b", "\x0c",
    "\x1c", "\x85", "\u2028", "é", "\0", "[", "]", "\n", "\n", "\n"])


@SETTINGS
@given(body=st.lists(_WORDS, max_size=40).map("".join), ip=st.sampled_from(IPS),
       bad=st.booleans())
def test_deny_entries_read_only_the_lines_that_can_name_the_client(body: str, ip: str,
                                                                    bad: bool) -> None:
    text = body.encode() + (b"\xe2\x82\n\xff" if bad else b"")
    lines = enumerate(text.decode("utf-8", "replace").splitlines(), 1)
    assert denyhosts._deny_entries("/etc/hosts.deny", text, ip) == denyhosts._entries_in(
        "/etc/hosts.deny", lines, ip)


def test_deny_entries_of_a_denyhosts_file() -> None:
    rows = [b"# DenyHosts: Sat Nov 21 10:%02d:00 2026 | sshd: 10.0.%d.%d\nsshd: 10.0.%d.%d\n"
            % (i % 60, i // 250, i % 250, i // 250, i % 250) for i in range(2000)]
    text = b"# header\n" + b"".join(rows)
    got = denyhosts._deny_entries("/etc/hosts.deny", text, "10.0.3.7")
    assert [(e.line, e.text, e.date) for e in got] == [
        (2 * 757 + 3, "sshd: 10.0.3.7", "Sat Nov 21 10:37:00 2026")]
    assert denyhosts._marks(text) == 2000 and denyhosts._marks(b"# DenyHosts: x") == 1
    assert denyhosts._marks(b"#  DenyHosts: x\n # DenyHosts: y\n") == 0
