"""The live probe against real servers: a real sshd (healthy and behind tcp wrappers), real
Python listeners that close, stay silent or never accept, and a closed port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.mountns import MountNamespace
from tests.helpers.sshlab import SshLab, free_port
from tui.core.probe import IDENT, SPACING, ProbeResult, probe, validate_host, validate_port

# The integration tier: a real sshd in a mount namespace.
pytestmark = pytest.mark.integration


@pytest.fixture
def lab(tmp_path: Path, ns: MountNamespace) -> Iterator[SshLab]:
    with SshLab(tmp_path / "lab", prefix=ns.prefix) as lab:
        yield lab


class Listener:
    """A real listening socket on 127.0.0.1 whose accepted connections get `handle`d."""

    def __init__(self, handle: Callable[[socket.socket], object]) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.handle = handle
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.handle(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def listener() -> Iterator[Callable[..., Listener]]:
    made: list[Listener] = []

    def make(handle: Callable[[socket.socket], object]) -> Listener:
        made.append(Listener(handle))
        return made[-1]

    yield make
    for m in made:
        m.close()


def read_ident(conn: socket.socket) -> bytes:
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = conn.recv(256)
        if not chunk:
            break
        buf += chunk
    return buf


# -- real sshd ---------------------------------------------------------------------------


def test_healthy_sshd_gives_its_banner(lab: SshLab):
    since = lab.log_offset()
    r = probe("127.0.0.1", lab.port)
    assert r.outcome == "banner", r
    assert r.banner is not None and r.banner.startswith("SSH-2.0-OpenSSH_")
    assert r.address == "127.0.0.1" and r.error is None
    assert r.connect_ms is not None and 0 <= r.connect_ms < r.elapsed_ms
    assert r.likely_methods() == [] and "not the reset problem" in r.meaning()
    # It never authenticates, and it says goodbye with a FIN (no "reset" in sshd's log).
    lab.wait_log(r"Connection closed by 127\.0\.0\.1", since)
    log = lab.log_text(since)
    assert "Accepted" not in log and "Failed" not in log and "reset by" not in log


def test_tcp_wrappers_deny_is_a_reset(ns: MountNamespace, lab: SshLab):
    ns.write("/etc/hosts.deny", b"sshd: 127.0.0.1\n")
    r = probe("127.0.0.1", lab.port)
    assert r.outcome == "reset", r
    assert r.error == "[Errno 104] Connection reset by peer"
    assert r.banner is None and r.connect_ms is not None
    assert r.elapsed_ms > 4500  # the real libwrap sleeps 5 s before it lets go
    assert r.likely_methods() == [1, 2, 3, 4]
    assert "Connection reset by peer" in r.meaning() and "tcp wrappers" in r.meaning()
    lab.wait_log("Connection refused by tcp wrapper")


def test_libwrap_wait_shorter_than_5s_is_no_banner(ns: MountNamespace, lab: SshLab):
    ns.write("/etc/hosts.deny", b"sshd: 127.0.0.1\n")
    r = probe("127.0.0.1", lab.port, banner_wait=1)
    assert r.outcome == "no-banner" and "5 s" in r.meaning()


# -- real sockets ------------------------------------------------------------------------


def test_closed_port_is_refused():
    r = probe("127.0.0.1", free_port())
    assert r.outcome == "refused" and r.error == "[Errno 111] Connection refused"
    assert r.connect_ms is None and r.address == "127.0.0.1"
    assert "nothing listens" in r.meaning() and r.likely_methods() == []
    assert "fits Method" not in r.report()  # not the operator's network, not the reset


def test_close_before_banner_is_closed(listener):
    # Read the probe's line first: closing with unread data would send a RST instead.
    srv = listener(lambda c: (read_ident(c), c.close()))
    r = probe("127.0.0.1", srv.port)
    assert r.outcome == "closed", r
    assert r.banner is None and "before sshd sent its banner" in r.meaning()


def test_probe_sends_only_its_identification(listener):
    got: list[bytes] = []
    srv = listener(lambda c: (got.append(read_ident(c)), c.sendall(b"SSH-2.0-Fake\r\n")))
    r = probe("localhost", srv.port)
    assert r.outcome == "banner" and r.banner == "SSH-2.0-Fake"
    assert got == [IDENT] and IDENT.startswith(b"SSH-2.0-") and len(IDENT) <= 255


def test_silent_server_is_no_banner(listener):
    srv = listener(lambda c: None)
    t = time.perf_counter()
    r = probe("127.0.0.1", srv.port, banner_wait=0.5)
    assert r.outcome == "no-banner" and r.connect_ms is not None
    assert 0.45 < time.perf_counter() - t < 2


@pytest.mark.parametrize(("line", "phrase"), [
    (b"Exceeded MaxStartups\r\n", "MaxStartups"),
    (b"Not allowed at this time\r\n", "PerSourcePenalties"),
    (b"HTTP/1.1 400 Bad Request\r\n", "not an SSH server"),
])
def test_refusal_lines_are_named(listener, line: bytes, phrase: str):
    srv = listener(lambda c: (c.sendall(line), read_ident(c), c.close()))
    r = probe("127.0.0.1", srv.port)
    assert r.outcome == "banner" and r.banner == line.decode().strip()
    assert phrase in r.meaning()


def test_banner_is_printable_and_capped(listener):
    srv = listener(lambda c: c.sendall(b"SSH-2.0-x\x1b[31m\xff" + b"A" * 400))
    r = probe("127.0.0.1", srv.port)
    assert r.outcome == "banner" and r.banner is not None
    assert "\x1b" not in r.banner and r.banner.isprintable()
    assert len(r.banner.encode()) < 300 and r.banner.endswith("A")


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A port whose accept queue is full: Linux drops further SYNs, so connects hang."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as srv, \
            socket.create_connection(srv.getsockname()):
        yield srv.getsockname()[1]


def test_dropped_syn_is_timeout(stalled_port: int):
    r = probe("127.0.0.1", stalled_port, timeout=0.5)
    assert r.outcome == "timeout" and r.connect_ms is None
    assert "DROP" in r.meaning() and r.likely_methods() == [3, 4]


@pytest.mark.parametrize("phase", ["connect", "banner"])
def test_cancel_from_another_thread_is_prompt(listener, stalled_port: int, phase: str):
    port = stalled_port if phase == "connect" else listener(lambda c: None).port
    cancel = threading.Event()
    box: list[ProbeResult] = []
    t = threading.Thread(target=lambda: box.append(
        probe("127.0.0.1", port, timeout=30, banner_wait=30, cancel=cancel)))
    t.start()
    time.sleep(0.3)
    asked = time.perf_counter()
    cancel.set()
    t.join(2)
    assert box and time.perf_counter() - asked < 0.5
    assert box[0].outcome == "cancelled" and box[0].likely_methods() == []
    assert (box[0].connect_ms is None) == (phase == "connect")


def test_unresolvable_name_is_dns():
    r = probe("no-such-host.invalid", 22)
    assert r.outcome == "dns" and r.address is None and r.error
    assert r.likely_methods() == [] and "resolved" in r.meaning()


# -- validation and the words ------------------------------------------------------------


@pytest.mark.parametrize("host", ["", "a;rm -rf /", "$(x)", "a\nb", "1.2.3.4\n", "-oProxy",
                                  "[example.com]", "a..b", "999.1.1.1", "x" * 64 + ".com",
                                  "fe80::1%$(x)", "host name", "ex_ample.com"])
def test_bad_hosts_raise(host: str):
    with pytest.raises(ValueError, match="^[^\n]*$"):
        probe(host)


@pytest.mark.parametrize(("given", "normal"), [
    ("[::1]", "::1"), ("2001:DB8::1", "2001:db8::1"), ("fe80::1%eth0", "fe80::1%eth0"),
    ("Example.COM.", "Example.COM."), ("10.0.0.1", "10.0.0.1"), ("a-1.b2", "a-1.b2"),
])
def test_good_hosts(given: str, normal: str):
    assert validate_host(given) == normal


@pytest.mark.parametrize("port", [0, 65536, -1, True, "22"])
def test_bad_ports_raise(port):
    with pytest.raises(ValueError):
        probe("127.0.0.1", port)
    assert validate_port(65535) == 65535


def result(outcome: str, banner: str | None = None) -> ProbeResult:
    return ProbeResult("h", 22, None, None, outcome, banner, None, 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(("outcome", "methods", "phrase"), [
    ("reset", [1, 2, 3, 4], "Connection reset by peer"),
    ("closed", [1, 2, 3, 4], "MaxStartups"),
    ("refused", [], "REJECT"),
    ("timeout", [3, 4], "security group"),
    ("unreachable", [4], "route"),
    ("dns", [], "resolved"),
    ("no-banner", [4], "middlebox"),
    ("cancelled", [], "cancelled"),
])
def test_meaning_and_methods(outcome: str, methods: list[int], phrase: str):
    r = result(outcome)
    assert r.likely_methods() == methods and phrase in r.meaning()


def test_reset_meaning_lists_every_cause():
    text = result("reset").meaning()
    for cause in ("tcp wrappers", "liblz4", "MaxStartups", "9.8", "middlebox", "firewall"):
        assert cause in text


def test_summary_is_one_line():
    r = ProbeResult("h", 22, "192.0.2.1", 3.2, "reset", None,
                    "[Errno 104] Connection reset by peer", 5004.0)
    assert r.summary() == ("h port 22 (192.0.2.1), TCP connect 3 ms, "
                           "reset: [Errno 104] Connection reset by peer, after 5004 ms")


def test_probes_of_one_port_are_spaced_so_they_cannot_pile_up_penalties(listener):
    seen: list[float] = []

    def handle(conn: socket.socket) -> None:
        seen.append(time.monotonic())
        conn.sendall(b"SSH-2.0-OpenSSH_10.0\r\n")

    ls = listener(handle)
    for _ in range(3):
        assert probe("127.0.0.1", ls.port, timeout=2, banner_wait=2).outcome == "banner"
    gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= SPACING - 0.05, gaps
    cancel = threading.Event()
    cancel.set()  # a queued probe still answers a cancel at once
    started = time.monotonic()
    assert probe("127.0.0.1", ls.port, cancel=cancel).outcome == "cancelled"
    assert time.monotonic() - started < 0.5 and len(seen) == 3
