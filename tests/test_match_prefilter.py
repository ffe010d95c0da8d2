"""The prefilter (tcpwrappers/prefilter.py) may only skip lines that cannot decide.

Every verdict with the prefilter must equal the verdict of the same evaluator reading every
record (no line skipped): access, deciding file/line/rule, reason, warnings, where it
stopped, the hits, and matching_rules().
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import rulegen
from tui.core.tcpwrappers import access, prefilter
from tui.core.tcpwrappers.access import Evaluator
from tui.core.tcpwrappers.hostmatch import HostInfo, Request
from tui.core.tcpwrappers.table import Table

NAMES = ["unknown", "paranoid", "host.example.com", "localhost", "10.0.0.3", "Host.Example.COM",
         "unk"]
EXTRA_TOKENS = [
    "host.example.com", ".example.com", ".EXAMPLE.com", "host.", "HOST.", "*.example.com",
    "h*", "*m", "*M", "?ost.example.com", "host.example.co?", "LOCAL", "local", "KNOWN",
    "localhost", "*", "**", "*.*", "u*n", "unknow?", "?nknown", "*n", "paranoid", "PARANOID",
    "10.0.0.3", "10.0.0.30", ".3", ".0.3", "10.0.0.", "10.0.0.0/255.255.255.0",
    "11.0.0.0/255.0.0.0", "10.0.0.0/8", "11.0.0.0/8", "11.0.0.0/0008", "11.0.0.0/4",
    "11.0.0.0/255.255.0.0.0", "255.0.0.0/255.0.0.0", "[fe80::1]", "[2001:db8::5]/64",
    "[::ffff:10.0.0.3]", "[2001:db8::5]x", "2001:db8::5", "::1", "1*", "10.0.0.?", "?0.0.0.3",
    "EXCEPT", "except", "ALL", "all", "x" * 70, "1" * 70, "a@b", "/nonexistent", "10.0.0.3\v",
]
DAEMONS = ["sshd", "in.ftpd", "SSHD", "sshd-session", "::ffff:1.2.3.4"]


@pytest.fixture(autouse=True)
def _full_regex_on_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The files here are small: the full regex must run on them all the same."""
    monkeypatch.setattr(prefilter, "FULL_AFTER", 0)


@st.composite
def _line(draw) -> str:
    daemons = draw(st.lists(st.one_of(rulegen.DAEMON_TOKEN, st.sampled_from(DAEMONS)),
                            min_size=1, max_size=3))
    clients = draw(st.lists(st.one_of(rulegen.CLIENT_TOKEN, st.sampled_from(EXTRA_TOKENS)),
                            min_size=0, max_size=12))
    sep = draw(st.sampled_from([" ", ",", ", ", "\t", " \r "]))
    text = sep.join(daemons) + draw(st.sampled_from([":", ": ", " :\t"])) + sep.join(clients)
    if draw(st.booleans()):
        text += ": " + draw(rulegen.OPTION)
    return text


@st.composite
def _file(draw) -> bytes:
    lines = draw(st.lists(st.one_of(_line(), _line(), rulegen.rules_file().map(
        lambda b: b.decode("utf-8", "replace").rstrip("\n"))), max_size=8))
    body = "\n".join(lines) + ("\n" if draw(st.integers(0, 9)) else "")
    return body.encode()


def _verdicts(allow: bytes, deny: bytes, request: Request, *, skip: bool):
    ev = Evaluator(Table("hosts.allow", allow), Table("hosts.deny", deny),
                   lambda p: b"10.0.0.3\n")
    saved = access.safe_run
    if not skip:
        access.safe_run = lambda request: (lambda data, pos: pos)  # type: ignore[assignment]
    try:
        v = ev.check(request)
        hits = [(t.path, h.record) for t in (ev.allow, ev.deny)
                for h in ev.matching_rules(t, request)]
    finally:
        access.safe_run = saved
    return (v.access, v.file, v.line, v.rule, v.reason, v.warnings, v.stop,
            [(h.file, h.record, h.options) for h in v.hits], hits)


def _request(daemon: str, client: str, name: str, user: str) -> Request:
    return Request(daemon=daemon.encode(), client=HostInfo(addr=client.encode(),
                   name=name.encode()), user=user.encode())


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(allow=_file(), deny=_file(),
       daemon=st.sampled_from(DAEMONS),
       client=st.sampled_from(rulegen.CLIENTS_V4 + rulegen.CLIENTS_V6),
       name=st.sampled_from(NAMES), user=st.sampled_from(["unknown", "root"]))
def test_skipping_never_changes_a_verdict(allow, deny, daemon, client, name, user):
    request = _request(daemon, client, name, user)
    assert _verdicts(allow, deny, request, skip=True) == _verdicts(allow, deny, request,
                                                                   skip=False)


@pytest.mark.parametrize("line", [
    b"sshd: 10.0.0.3\n",  # the first line of the file: no character before its daemon
    b"SSHD: 10.0.0.3\n", b"ALL: 10.0.0.3\n", b"KNOWN: 10.0.0.3\n", b"sshd: ALL\n",
    b"sshd: 10.0.0.\n", b"sshd: .0.3\n", b"sshd: 10.0.0.0/8\n", b"sshd: 10.1.0.0/255.0.0.0\n",
    b"sshd: 1*\n", b"sshd: ?0.0.0.3\n", b"sshd: *3\n", b"sshd: unknown\n", b"sshd: @x\n",
    b"sshd: /etc/list\n", b"sshd 10.0.0.3\n", b"sshd: 1.2.3.4\\\n", b"sshd: 1.2.3.4\0x\n",
    b"sshd: 1.2.3.4", b"sshd: " + b"1.2.3.4 " * 11 + b"\n", b"sshd: " + b"1" * 2100 + b"\n",
    b"#" + b"x" * 2046 + b"\n", b"# a comment \\\n", b" \f\n",
    # a NUL anywhere: libwrap's strlen() cuts the line there (the regexes scan [^\n])
    b"# a comment \0 x\n", b"#\0\n", b"sshd: 10.0.0.4 : spawn \0 /bin/true\n",
    b"vsftpd: ALL : severity\0\n", b"sshd: 10.0.0.4\0\n",
])
def test_lines_that_may_decide_are_not_skipped(line: bytes):
    run = prefilter.safe_run(_request("sshd", "10.0.0.3", "unknown", "unknown"))
    assert run(line, 0) == 0


@pytest.mark.parametrize("line", [
    b"sshd: 10.0.0.4\n", b"vsftpd, in.ftpd: ALL EXCEPT 10.0.0.3 : spawn /bin/true\n",
    b"sshd: .host1.example.com, .1.10\n", b"sshd: 11.0.0.0/255.255.0.0 EXCEPT 11.0.0.1\n",
    b"sshd, vsftpd: 11.0.0.0/24, 11.0. EXCEPT 11.0.0.\n", b"sshd: [2001:db8::]/64 [fe80::1]\n",
    b"sshd: 11.0.*.3 *.host.example.net ?1.0.0.*\n", b"sshd: 11.0.0.3/32 : severity auth.info\n",
    b"# comment\n", b"\n", b" \t\r\n", b"#" + b"x" * 2045 + b"\n",
])
def test_lines_that_cannot_decide_are_skipped(line: bytes):
    run = prefilter.safe_run(_request("sshd", "10.0.0.3", "unknown", "unknown"))
    assert run(line, 0) == len(line)


def test_a_safe_line_fits_libwraps_buffer():
    assert prefilter.LINE_MAX <= 2046


@pytest.mark.parametrize("size", [10, 5_000, 300_000])
def test_a_line_with_a_nul_ends_every_run(size: int):
    """However far into the data (past a window of clib.line_run, where it has them), and
    after the plain run was taken for another client over the same bytes."""
    safe = b"# DenyHosts: x | sshd: 10.0.0.4\nsshd: 10.0.0.4\n"
    head = safe * (size // len(safe) + 1)
    data = head + b"# a \0 comment\n" + safe * 3
    for client in ("10.0.0.5", "10.0.0.3", "10.0.0.4"):
        run = prefilter.safe_run(_request("sshd", client, "unknown", "unknown"))
        # 10.0.0.4 is named on line 2: its run stops there; the others' at the NUL
        want = data.index(b"\n") + 1 if client == "10.0.0.4" else len(head)
        assert run(data, 0) == want
        assert run(data, len(head)) == len(head)


def test_the_shared_plain_run_answers_as_a_fresh_one(monkeypatch: pytest.MonkeyPatch):
    """Requests in any order over the same bytes (and others) get what a run of their own
    gives: the plain run is kept across requests (prefilter._PlainRun)."""
    monkeypatch.setattr(prefilter, "FULL_AFTER", 1 << 30)  # the plain run alone
    lines = [b"sshd: 10.0.%d.%d\n" % (i // 250, i % 250 + 1) for i in range(2000)]
    lines[1500] = b"sshd: 10.0.0.0/8\n"  # not plain: every plain run stops there
    data = b"# comment\n" + b"".join(lines)
    other = bytes(data)  # equal bytes, another object
    starts = [0, 10, data.index(b"\n", len(data) // 2) + 1]
    clients = ["10.0.1.1", "10.0.0.200", "10.0.7.250", "192.0.2.1", "10.0.0.3"]
    calls = [(d, pos, c) for d in (data, other, data) for pos in starts for c in clients]
    calls += calls[::-1]
    got, want = [], []
    for d, pos, c in calls:
        got.append(prefilter.safe_run(_request("sshd", c, "unknown", "unknown"))(d, pos))
    for d, pos, c in calls:
        prefilter._PLAIN_RUN.last = None
        want.append(prefilter.safe_run(_request("sshd", c, "unknown", "unknown"))(d, pos))
    assert got == want
    assert len(set(want)) > 3  # the clients stop at different lines
