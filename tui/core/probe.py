"""Method 4's live probe: one TCP connection to sshd, classified by what the client saw.

Stdlib sockets only, so importing this is cheap. The probe sends just what every SSH client
sends first, its identification line (RFC 4253 §4.2), and never authenticates. The line
matters: a server that exits without reading it (libwrap's refuse(), a dying sshd re-exec)
then resets the connection, exactly as the operator's `ssh` sees it; a silent client would
see a plain close instead.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Literal

from tui import __version__
from tui.core.text import printable

Outcome = Literal["banner", "reset", "closed", "refused", "timeout", "unreachable", "dns",
                  "no-banner", "cancelled"]

POLL = 0.1  # seconds between looks at `cancel`: well inside the promised 0.2 s
BANNER_MAX = 255  # RFC 4253 §4.2: the identification line is at most 255 bytes
IDENT = f"SSH-2.0-ssh_reset_doctor_{__version__}\r\n".encode()

# RFC 1123 labels: letters, digits, inner hyphens; at most 63 each, 253 in all.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_SCOPE = re.compile(r"[A-Za-z0-9_.-]+")  # an IPv6 zone like eth0; nothing a shell minds

_REFUSED = {errno.ECONNREFUSED}
_RESET = {errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE}
_TIMEOUT = {errno.ETIMEDOUT}


def validate_host(text: str) -> str:
    """An IP address ([v6] brackets allowed) or an RFC 1123 hostname; ValueError otherwise.

    The result is safe to put on a command line unquoted: no spaces, quotes or shell syntax,
    and it never starts with '-'.
    """
    bracketed = text.startswith("[") and text.endswith("]")
    host = text[1:-1] if bracketed else text
    addr, _, scope = host.partition("%")
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        ip = None
    if ip is not None and (ip.version == 6 or not bracketed):
        if scope and not (ip.version == 6 and _SCOPE.fullmatch(scope)):
            raise ValueError(f"bad address zone in {text!r}")
        return f"{ip}%{scope}" if scope else str(ip)
    if not bracketed:  # brackets are for IPv6 literals only
        name = host[:-1] if host.endswith(".") else host
        labels = name.split(".")
        # An all-numeric name is a mistyped IPv4 address (999.1.2.3), not a hostname.
        if (0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in labels)
                and not all(label.isdigit() for label in labels)):
            return host
    raise ValueError(f"not an IP address or hostname: {text!r}")


def validate_port(port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be 1-65535, not {port!r}")
    return port


@dataclass(frozen=True)
class ProbeResult:
    host: str
    port: int
    address: str | None  # the IP actually connected (or last tried)
    connect_ms: float | None
    outcome: Outcome
    banner: str | None  # the server's first line, control characters escaped
    error: str | None  # the OS error text, e.g. "[Errno 104] Connection reset by peer"
    elapsed_ms: float

    def meaning(self) -> str:
        """What the outcome says about the reset, in plain English."""
        if self.outcome == "banner":
            return _banner_meaning(self.banner or "")
        return _MEANINGS[self.outcome]

    def likely_methods(self) -> list[int]:
        """Which of the article's methods (1-4) fit this outcome."""
        if self.outcome == "banner":
            return []  # sshd answered: none of the four is blocking this connection
        return list(_METHODS[self.outcome])

    def summary(self) -> str:
        """One line: where, how long, what happened."""
        where = f"{self.host} port {self.port}"
        if self.address and self.address != self.host:
            where += f" ({self.address})"
        parts = [where]
        if self.connect_ms is not None:
            parts.append(f"TCP connect {self.connect_ms:.0f} ms")
        detail = self.banner if self.outcome == "banner" else self.error
        parts.append(f"{self.outcome}: {detail}" if detail else self.outcome)
        parts.append(f"after {self.elapsed_ms:.0f} ms")
        return ", ".join(parts)

    def report(self) -> str:
        """Several lines for people: what was tried, what came back, what it means."""
        where = f" ({self.address})" if self.address and self.address != self.host else ""
        lines = [f"probe of {self.host}:{self.port}{where}"]
        if self.connect_ms is not None:
            lines.append(f"TCP connect: {self.connect_ms:.0f} ms")
        if self.banner:
            lines.append(f"banner: {self.banner}")
        if self.error:
            lines.append(f"failure: {self.error}")
        lines.append(f"outcome: {self.outcome} after {self.elapsed_ms / 1000:.1f} s")
        lines.append(f"meaning: {self.meaning()}")
        methods = self.likely_methods()
        if methods:
            lines.append("fits Method " + ", ".join(str(m) for m in methods))
        return "\n".join(lines)


_BEFORE = ("The connection was accepted, then {how} before sshd sent its banner: this is what "
           "`Connection reset by peer` means. Likely causes: tcp wrappers "
           "(/etc/hosts.allow, /etc/hosts.deny), sshd failing to re-execute itself "
           "(a missing library such as liblz4.so.1), MaxStartups, per-source penalties "
           "(OpenSSH >= 9.8), a middlebox, or a host firewall.")

_MEANINGS: dict[str, str] = {
    "reset": _BEFORE.format(how="reset"),
    "closed": _BEFORE.format(how="closed"),
    "refused": "Connection refused: nothing listens on that port (sshd is down or on another "
               "port), or a firewall REJECT rule answers for it. This is not the reset.",
    "timeout": "No answer to the connection attempt: the network, a security group (perhaps "
               "one Security Center added to block this address) or a firewall DROP rule "
               "swallows the packets.",
    "unreachable": "The network says the host cannot be reached (no route, or a firewall "
                   "rejecting with ICMP host-prohibited). Check the address and the route.",
    "dns": "The name could not be resolved. Check the spelling, or use the instance's "
           "public IP address.",
    "no-banner": "The connection was accepted but nothing was said within the wait: sshd is "
                 "hung or overloaded, slow DNS lookups (UseDNS, tcp wrappers' hostname "
                 "checks) hold it up, or a middlebox accepts for it and forwards nothing. "
                 "(Debian's tcp wrappers wait 5 s before the reset; a shorter wait ends here.)",
    "cancelled": "The probe was cancelled before it finished.",
}

_METHODS: dict[str, tuple[int, ...]] = {
    # Refused: nothing listens there, or a REJECT rule answers for the port; not the
    # operator's network (Method 4), and not the reset either.
    "reset": (1, 2, 3, 4), "closed": (1, 2, 3, 4), "refused": (), "timeout": (3, 4),
    "unreachable": (4,), "dns": (), "no-banner": (4,), "cancelled": (),
}


def _banner_meaning(line: str) -> str:
    if "Exceeded MaxStartups" in line:
        return ("sshd answered `Exceeded MaxStartups`: too many connections are waiting to "
                "log in, so it drops new ones (MaxStartups in sshd_config; often a "
                "brute-force flood). Retry later or block the flood.")
    if "Not allowed at this time" in line:
        return ("sshd answered `Not allowed at this time`: OpenSSH >= 9.8 refuses this "
                "source for now, either as a penalty for failed logins, unauthenticated "
                "connections or crashes (PerSourcePenalties), or because too many "
                "connections wait to log in (MaxStartups). Wait, or exempt the address "
                "with PerSourcePenaltyExemptList; `check` on the instance tells which.")
    if line.startswith("SSH-"):
        return ("SSH itself answers (banner received): from here this is not the reset "
                "problem. If ssh still resets for you, the block is specific to your address "
                "or network.")
    return ("Something answered that is not an SSH server: check the port, or what a "
            "proxy or load balancer in front of the instance forwards to.")


# OpenSSH >= 9.8 penalises a source for every connection that ends without authenticating
# (noauth, 1 s by default) and refuses it once 15 s have piled up (min:15); penalties drain
# in real time. Probes of one host:port at least SPACING s apart can never pile up.
SPACING = 2.0
_last_probe: dict[tuple[str, int], float] = {}
_last_lock = threading.Lock()


def probe(host: str, port: int = 22, *, timeout: float = 10.0, banner_wait: float = 8.0,
          cancel: threading.Event | None = None, spacing: float = SPACING) -> ProbeResult:
    """Connect once to host:port, wait up to `banner_wait` s for the banner, classify.

    `timeout` bounds name resolution and each connection attempt. `cancel` is polled every
    POLL seconds; setting it makes the probe return outcome "cancelled" promptly. A probe
    of the same host:port less than `spacing` s after the last one waits first.
    """
    host, port = validate_host(host), validate_port(port)
    if timeout <= 0 or banner_wait <= 0:
        raise ValueError("timeout and banner_wait must be positive")
    cancel = cancel or threading.Event()
    with _last_lock:
        now = time.monotonic()
        start = max(now, _last_probe.get((host, port), -spacing) + spacing)
        _last_probe[(host, port)] = start  # a second caller queues behind this one
    if start > now and cancel.wait(start - now):
        return _Probe(host, port, timeout, banner_wait, cancel).result("cancelled")
    return _Probe(host, port, timeout, banner_wait, cancel).run()


class _Probe:
    def __init__(self, host: str, port: int, timeout: float, banner_wait: float,
                 cancel: threading.Event) -> None:
        self.host, self.port = host, port
        self.timeout, self.banner_wait, self.cancel = timeout, banner_wait, cancel
        self.start = time.perf_counter()
        self.address: str | None = None
        self.connect_ms: float | None = None

    def result(self, outcome: Outcome, error: str | None = None,
               banner: str | None = None) -> ProbeResult:
        return ProbeResult(self.host, self.port, self.address, self.connect_ms, outcome,
                           banner, error, (time.perf_counter() - self.start) * 1000)

    def run(self) -> ProbeResult:
        addrs = self._resolve()
        if isinstance(addrs, ProbeResult):
            return addrs
        failure: ProbeResult | None = None
        for family, sockaddr in addrs:  # like ssh: the next address when one fails
            self.address = sockaddr[0]
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                failure = self._connect(sock, sockaddr)
                if failure is None:
                    return self._banner(sock)
                if failure.outcome == "cancelled":
                    return failure
            finally:
                sock.close()
        assert failure is not None  # getaddrinfo never returns an empty list
        return failure

    def _resolve(self) -> list[tuple[int, tuple]] | ProbeResult:
        # getaddrinfo blocks for as long as the resolver likes: run it aside and keep polling.
        box: dict[str, object] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["infos"] = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            except OSError as e:  # gaierror, or UnicodeError's OSError kin
                box["error"] = str(e)
            done.set()

        threading.Thread(target=work, name="probe-dns", daemon=True).start()
        deadline = self.start + self.timeout
        while not done.wait(POLL):
            if self.cancel.is_set():
                return self.result("cancelled")
            if time.perf_counter() >= deadline:
                return self.result("dns", f"no answer from the resolver in {self.timeout:g} s")
        if self.cancel.is_set():
            return self.result("cancelled")
        if "error" in box:
            return self.result("dns", str(box["error"]))
        infos = box["infos"]
        assert isinstance(infos, list)
        return list(dict.fromkeys((info[0], info[4]) for info in infos))

    def _connect(self, sock: socket.socket, sockaddr: tuple) -> ProbeResult | None:
        """None once connected (connect_ms set), else the failure."""
        t0 = time.perf_counter()
        err = sock.connect_ex(sockaddr)
        deadline = t0 + self.timeout
        while err in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
            if self.cancel.is_set():
                return self.result("cancelled")
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return self.result("timeout", f"timed out after {self.timeout:g} s")
            _, writable, failed = select.select([], [sock], [sock], min(POLL, remaining))
            if writable or failed:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            return self.result(_connect_outcome(err), _os_error(err))
        self.connect_ms = (time.perf_counter() - t0) * 1000
        return None

    def _banner(self, sock: socket.socket) -> ProbeResult:
        try:
            sock.send(IDENT)  # fits any fresh send buffer: no partial writes
        except OSError as e:
            if e.errno in _RESET:
                return self.result("reset", str(e))
        buf = b""
        deadline = time.perf_counter() + self.banner_wait
        while b"\n" not in buf and len(buf) < BANNER_MAX:
            if self.cancel.is_set():
                return self.result("cancelled", banner=_line(buf))
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                if buf:  # a partial line is still what the server said
                    break
                return self.result("no-banner",
                                   f"no banner within {self.banner_wait:g} s")
            readable, _, _ = select.select([sock], [], [], min(POLL, remaining))
            if not readable:
                continue
            try:
                chunk = sock.recv(BANNER_MAX - len(buf))
            except BlockingIOError:
                continue
            except OSError as e:
                return self.result(_read_outcome(e.errno), str(e), _line(buf))
            if not chunk:
                if buf:
                    break
                return self.result("closed", "connection closed by the server (EOF)")
            buf += chunk
        _goodbye(sock)
        return self.result("banner", banner=_line(buf))


def _goodbye(sock: socket.socket) -> None:
    """Close with a FIN, not a RST, so sshd logs a plain close rather than a reset."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.perf_counter() + 0.3
        while time.perf_counter() < deadline:
            if select.select([sock], [], [], 0.05)[0] and not sock.recv(4096):
                return
    except OSError:
        pass


def _line(buf: bytes) -> str | None:
    if not buf:
        return None
    line = buf.split(b"\n", 1)[0].rstrip(b"\r")
    return printable(line.decode("ascii", "backslashreplace"))


def _os_error(code: int) -> str:
    return str(OSError(code, os.strerror(code)))


def _connect_outcome(code: int) -> Outcome:
    if code in _REFUSED:
        return "refused"
    if code in _TIMEOUT:
        return "timeout"
    if code in _RESET:
        return "reset"
    return "unreachable"  # no route, network down, a local firewall's EPERM/EACCES


def _read_outcome(code: int | None) -> Outcome:
    if code in _RESET:
        return "reset"
    if code in _TIMEOUT:
        return "no-banner"
    return "closed"
