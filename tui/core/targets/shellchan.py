"""A small request server in POSIX sh on one long-lived channel: file bytes, stat, links,
directory listings and command runs for the facts collector, a batch per round trip.

The server is plain sh (dash, busybox sh, bash) with a few core tools (stat -c, readlink,
head, tail, base64, grep); nothing is installed on the target and it only reads. Requests
are lines of sh that call the server's functions, every argument quoted with shlex.quote,
so nothing the caller passes is ever parsed by the remote shell. Each answer is a header
line starting with a random marker, then base64: a file, a name or a command's output
cannot end an answer early or forge one, whatever bytes (NUL, markers, floods) it holds.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import select
import shlex
import subprocess
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

READY = "srd-facts-ready"
BATCH_OUTPUT = 512 << 20  # bytes of one batch's answers read (base64 of files up to 256 MiB)

# i ID: id -u and the node name
# g ID N HD TL PATHS...: lstat (stat -c) of each path given (the caller sends the prefixes
#   of the last one), readlink of those that are links; when one is, the last path's
#   realpath and the same for its prefixes; then the last path's bytes if it is a readable
#   regular file of at most N bytes; when larger, "big" and (HD > 0) its first HD and last
#   TL bytes as ranges
# s ID PATHS...: g's stat part for many paths at once (one stat, the realpaths' prefixes too)
# d ID N HD TL PATH: g's bytes part
# L ID HD TL BINARIES...: a prefetch hint for the library resolver: the text of `ldd` on
#   each binary ("ldd"), the stats (as s) of the binaries and of the absolute paths ldd
#   names, "hs": the size and name of each readable one ("SIZE NAME" lines), "hb": all
#   their bytes, file after file in that order: the whole file when at most HD + TL, else
#   its first HD and last TL bytes
# X ID (PATH OFFSET LENGTH)...: x for many ranges: "xr" the readable ones' indexes, "xb"
#   their bytes one after the other
# G ID N DIR SUFFIX PATHS...: the stats of PATHS (DIR's prefixes), then for the files
#   DIR/*SUFFIX, as L: their stats, each one's name ("nm") and d's answer (N bytes)
# x ID PATH OFFSET LENGTH: a range of a file's bytes
# t ID N K WORDS(K)... PATHS...: like g, with the last N bytes of the file (a log's newest
#   lines), only the lines holding one of the K fixed strings when K > 0
# l ID P: the names in directory P, NUL-separated
# f ID NEEDLE FILES...: which of FILES hold the fixed string NEEDLE (grep -lF), one a line
# r ID TIMEOUT LIMIT ARGV...: run a command (stdin /dev/null): exit status, at most LIMIT+1
#   bytes of stdout and LIMIT of stderr; "absent" when there is no such program
# p ID: the names of the running processes (/proc/PID/comm)
# e BATCH: the end of a batch (the server runs a batch once it has read this line)
_SERVER = r"""
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH; LC_ALL=C; export PATH LC_ALL
h() { printf '\n%s %s\n' @MARK@ "$*"; }
st() { stat -c '%f %d %i %s %u %g %t %T %n' -- "$@" 2>/dev/null; }
# readlink of the links among the paths: "ln" (name NUL target NL NUL each), or with a
# readlink that takes many files (GNU), "lz" (the names) then "lt" (the targets) NUL-ended
lk() {
  if [ -n "$RL" ]; then
    kn=$#; for q; do [ -L "$q" ] && set -- "$@" "$q"; done; shift "$kn"
    h "$id" lz; [ "$#" -gt 0 ] && printf '%s\0' "$@" | base64
    h "$id" lt; [ "$#" -gt 0 ] && readlink -z -- "$@" 2>/dev/null | base64
  else
    h "$id" ln
    for q; do [ -L "$q" ] && { printf '%s\0' "$q"; readlink -- "$q"; printf '\0'; }; done | base64
  fi
  return 0
}
# the realpaths of the links among the paths, one a line
rl() {
  if [ -n "$RL" ]; then
    kn=$#; for q; do [ -L "$q" ] && set -- "$@" "$q"; done; shift "$kn"
    [ "$#" -gt 0 ] && readlink -f -- "$@" 2>/dev/null
  else for q; do [ -L "$q" ] && readlink -f -- "$q" 2>/dev/null; done; fi
  return 0
}
info() {
  h "$id" st; st "$@" | base64
  lk "$@"
  k=; for q; do [ -L "$q" ] && k=1; done
  for z; do :; done
  if [ -n "$k" ] && r=$(readlink -f -- "$z" 2>/dev/null) && [ -n "$r" ]; then
    h "$id" rp; printf '%s' "$r" | base64
    pr "$r"
  fi
}
pr() {
  x=${1#/}; c=; set --
  while [ -n "$x" ]; do
    y=${x%%/*}; case $x in */*) x=${x#*/};; *) x=;; esac
    [ -n "$y" ] && { c=$c/$y; set -- "$@" "$c"; }
  done
  h "$id" st; st "$@" | base64
  lk "$@"
}
g() {
  id=$1 n=$2 hd=$3 tl=$4; shift 4; info "$@"
  d "$id" "$n" "$hd" "$tl" "$z"
}
s() {
  id=$1; shift
  h "$id" st; st "$@" | base64
  lk "$@"
  rl "$@" | rq
}
rq() {
  set --
  while IFS= read -r x; do
    x=${x#/}; c=
    while [ -n "$x" ]; do
      y=${x%%/*}; case $x in */*) x=${x#*/};; *) x=;; esac
      [ -n "$y" ] && { c=$c/$y; set -- "$@" "$c"; }
    done
  done
  [ "$#" -gt 0 ] || return 0
  h "$id" st; st "$@" | base64
  lk "$@"
}
d() {
  id=$1 n=$2 hd=$3 tl=$4 z=$5
  if [ -f "$z" ]; then
    if [ ! -r "$z" ]; then h "$id" eacces
    elif s=$(stat -L -c %s -- "$z" 2>/dev/null) && [ "$s" -gt "$n" ]; then
      h "$id" big
      if [ "$hd" -gt 0 ]; then
        h "$id" rg 0; head -c "$hd" < "$z" | base64
        [ "$s" -gt "$tl" ] && { h "$id" rg "$((s - tl))"; tail -c "$tl" < "$z" | base64; }
      fi
    else h "$id" data; head -c "$((n + 1))" < "$z" | base64; fi
  fi
}
L() {
  # in the background while the rest of the batch runs, its answer at the batch's end
  lq=$(mktemp 2>/dev/null) && { Lw "$@" >"$lq" 2>/dev/null </dev/null & return 0; }
  lq=; Lw "$@"
}
lw() { [ -n "$lq" ] || return 0; wait; cat "$lq"; rm -f "$lq"; lq=; }
Lw() {
  id=$1 a=$2 b=$3; shift 3
  w=; command -v timeout >/dev/null 2>&1 && w="timeout 10"
  o=$(for z; do
        [ -f "$z" ] && [ -x "$z" ] && $w ldd -- "$z" </dev/null 2>/dev/null | head -c 65536
      done)
  h "$id" ldd; printf '%s' "$o" | base64
  p=$(for z; do [ -f "$z" ] && printf '%s\n' "$z"; done
      printf '%s\n' "$o" | sed -n -e 's/^.* => \(\/.*\) (0x[0-9a-f]*)$/\1/p' \
        -e 's/^[[:space:]]*\(\/.*\) (0x[0-9a-f]*)$/\1/p' | head -n 256)
  set --
  while IFS= read -r x; do
    x=${x#/}; c=
    while [ -n "$x" ]; do
      y=${x%%/*}; case $x in */*) x=${x#*/};; *) x=;; esac
      [ -n "$y" ] && { c=$c/$y; set -- "$@" "$c"; }
    done
  done <<SRD_P
$p
SRD_P
  [ "$#" -gt 0 ] && s "$id" "$@"
  set --
  while IFS= read -r z; do [ -f "$z" ] && [ -r "$z" ] && set -- "$@" "$z"; done <<SRD_P
$p
SRD_P
  [ "$#" -gt 0 ] || return 0
  q=$(stat -L -c '%s %n' -- "$@" 2>/dev/null)
  h "$id" hs; printf '%s' "$q" | base64
  h "$id" hb
  printf '%s\n' "$q" | while IFS=' ' read -r n z; do
    if [ "$n" -gt "$((a + b))" ]; then head -c "$a" < "$z"; tail -c "$b" < "$z"
    else head -c "$n" < "$z"; fi
  done | base64
}
G() {
  id=$1 n=$2 gd=$3 gs=$4; shift 4
  s "$id" "$@"
  set -- "$gd"/*"$gs"
  [ -e "$1" ] || [ -L "$1" ] || return 0
  s "$id" "$@"
  for z; do h "$id" nm; printf '%s' "$z" | base64; d "$id" "$n" 0 0 "$z"; done
}
X() {
  id=$1; shift; j=0; k=
  for q; do
    case $((j % 3)) in 0) [ -f "$q" ] && [ -r "$q" ] && k="$k $((j / 3))";; esac
    j=$((j + 1))
  done
  h "$id" xr; printf '%s' "$k" | base64
  h "$id" xb
  while [ "$#" -ge 3 ]; do
    if [ -f "$1" ] && [ -r "$1" ]; then
      if [ "$3" -le 8192 ]; then dd if="$1" bs=1 skip="$2" count="$3" 2>/dev/null
      else tail -c +"$(($2 + 1))" < "$1" | head -c "$3"; fi
    fi
    shift 3
  done | base64
}
x() {
  id=$1
  if [ -f "$2" ] && [ -r "$2" ]; then
    h "$id" rg "$3"
    if [ "$4" -le 8192 ]; then dd if="$2" bs=1 skip="$3" count="$4" 2>/dev/null | base64
    else tail -c +"$(($3 + 1))" < "$2" | head -c "$4" | base64; fi
  fi
}
t() {
  id=$1 n=$2 k=$3; shift 3
  a=; while [ "$k" -gt 0 ]; do a="${a:+$a
}$1"; shift; k=$((k - 1)); done
  info "$@"
  if [ -f "$z" ]; then
    if [ ! -r "$z" ]; then h "$id" eacces
    elif [ -n "$a" ]; then
      h "$id" data; tail -c "$n" < "$z" | grep -F -e "$a" | base64
    else h "$id" data; tail -c "$n" < "$z" | base64; fi
  fi
}
l() {
  id=$1
  if [ ! -d "$2" ]; then h "$id" nodir
  elif [ ! -r "$2" ] || [ ! -x "$2" ]; then h "$id" eacces
  else
    h "$id" names
    for e in "$2"/* "$2"/.*; do
      [ -e "$e" ] || [ -L "$e" ] || continue
      printf '%s\0' "${e##*/}"
    done | base64
  fi
}
f() {
  id=$1 n=$2; shift 2
  h "$id" hits; grep -lF -e "$n" -- "$@" 2>/dev/null | base64
}
r() {
  id=$1 tm=$2 n=$3; shift 3
  case $1 in
    /*) [ -x "$1" ] || { h "$id" absent; return 0; };;
    *) command -v "$1" >/dev/null 2>&1 || { h "$id" absent; return 0; };;
  esac
  w=; command -v timeout >/dev/null 2>&1 && w="timeout $tm"
  d=$(mktemp -d 2>/dev/null) || { h "$id" nowork; return 0; }
  { $w "$@" </dev/null 2>"$d/e"; echo "$?" >"$d/c"; } | head -c "$((n + 1))" >"$d/o"
  c=$(cat "$d/c" 2>/dev/null)
  case $c in [0-9]|[0-9][0-9]|[0-9][0-9][0-9]) ;; *) c=141;; esac
  h "$id" rc "$c"; base64 < "$d/o"
  h "$id" err; head -c "$n" < "$d/e" | base64
  rm -rf "$d"
}
p() { h "$1" names; cat /proc/[0-9]*/comm 2>/dev/null | base64; }
i() { h "$1" names; { id -u; uname -n; } 2>/dev/null | base64; }
e() { h END "$1"; }
# When gzip works here, a batch's answers go as one gzip stream in base64 after a "gz"
# header (the END line stays outside it).
B() {
  if [ -n "$Z" ]; then h gz z; { eval "$1"; lw; } </dev/null | gzip -c | base64
  else { eval "$1"; lw; } </dev/null; fi
  e "$2"
}
Z=; [ "$(printf srd | gzip -c 2>/dev/null | gzip -dc 2>/dev/null)" = srd ] && Z=1
RL=; [ "$(readlink -z -f -- / / 2>/dev/null | tr '\0' x)" = /x/x ] && RL=1
printf '%s\n' @READY@
@FIRST@
while :; do
  b= n=
  while IFS= read -r line; do
    case $line in "e "*) n=${line#e }; break;; esac
    b="$b$line
"
  done
  [ -n "$n" ] || exit 0
  B "$b" "$n"
done
"""


def server_script(marker: str, ready: str = READY,
                  first: Sequence[Sequence[Request]] = ()) -> str:
    """The server's sh; `first`: batches it runs at once (1, 2, ...), before reading any."""
    run = "\n".join(f"B {shlex.quote(batch_text(b))} {n}" for n, b in enumerate(first, 1))
    return _SERVER.replace("@MARK@", marker).replace("@READY@", ready).replace("@FIRST@", run)


def batch_text(requests: Sequence[Request]) -> str:
    """The requests as lines of sh, every argument quoted."""
    for _, args in requests:
        # One request is one line the server reads: a line break inside an argument
        # (say a path made of a target's link text) would end it and start another.
        if any("\n" in a or "\0" in a for a in args):
            raise TransportError("refused to send an argument holding a line break")
    return "".join(f"{op} {i} " + " ".join(shlex.quote(a) for a in args) + "\n"
                   for i, (op, args) in enumerate(requests))


def new_marker() -> str:
    """A header marker nobody on the target can guess (not base64: '-' is not in that)."""
    return f"==SRD-{secrets.token_hex(8)}=="


class TransportError(Exception):
    """The server's answers are not what it prints (cut off, too big, not a POSIX shell).
    Internal: the SSH target turns it into a TargetError the operator sees."""


class Pipe(Protocol):
    """Both directions of the server's stdin/stdout."""

    def send(self, data: bytes) -> None: ...

    def recv(self, timeout: float) -> bytes | None:
        """Some bytes; b"" at EOF; None when nothing came within `timeout` seconds."""
        ...

    def close(self) -> None: ...


@dataclass
class Answer:
    """What the server said to one request: (kind, args, decoded body) parts, in order."""

    parts: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    def first(self, kind: str) -> tuple[list[str], bytes] | None:
        for k, args, body in self.parts:
            if k == kind:
                return args, body
        return None

    def all(self, kind: str) -> list[bytes]:
        return [body for k, _, body in self.parts if k == kind]


_ID = re.compile(rb"[0-9]{1,9}\Z")
Request = tuple[str, Sequence[str]]


class ShellServer:
    """The request server on a pipe; `call` sends a batch and reads all its answers."""

    # A batch runs at most the collector's commands one after another, each under its own
    # time limit (10 s or less, about a dozen): one not answered within 150 s is given up.
    def __init__(self, pipe: Pipe, marker: str, *, timeout: float = 150.0,
                 limit: int = BATCH_OUTPUT, first: Sequence[Sequence[Request]] = (),
                 label: str | None = None) -> None:
        self.pipe = pipe
        self.label = label  # the target's, for the action log (None: not logged)
        for batch in first:
            self._log(batch)
        # the batches the server was started with, by number, until their answers are read
        self.preloaded = {n: list(b) for n, b in enumerate(first, 1)}
        self.marker = marker
        self.timeout = timeout
        self.limit = limit
        self.round_trips = 0
        self.bytes_in = 0
        self._sent = len(first)  # batches the server was given
        self._done = 0  # batches whose answers were read
        self._buf = bytearray()  # read past the last batch's end
        self._writers: list[tuple[threading.Thread, list[BaseException]]] = []

    def call(self, requests: Sequence[Request]) -> list[Answer]:
        """Run the requests ((function, args) pairs) in one round trip, answers in order."""
        while self.preloaded:  # already running since the start: their answers first
            n = min(self.preloaded)
            first = self.preloaded[n]
            answers = self.receive(n)
            if not self.preloaded and [(op, list(args)) for op, args in requests] == \
                    [(op, list(args)) for op, args in first]:
                return answers
        return self.receive(self.send(requests))

    def send(self, requests: Sequence[Request]) -> int:
        """Send a batch without waiting for its answers (the server runs batches in
        order): its number, for receive()."""
        text = batch_text(requests)
        self._log(requests)
        self._sent += 1
        self.preloaded[self._sent] = list(requests)
        data = (text + f"e {self._sent}\n").encode("utf-8", "surrogateescape")
        # Written by a thread: the answers to the first requests come back while the last
        # ones are still being sent, and neither side may wait for the other.
        failed: list[BaseException] = []
        writer = threading.Thread(target=self._send, args=(data, failed), daemon=True)
        writer.start()
        self._writers.append((writer, failed))
        return self._sent

    def _log(self, requests: Sequence[Request]) -> None:
        """The commands of a batch ("r" requests: TIMEOUT LIMIT ARGV...) go to the action
        log; the rest only read."""
        if self.label is None:
            return
        from tui.core import actionlog

        for op, args in requests:
            if op == "r" and len(args) > 2:
                actionlog.command(self.label, list(args[2:]), "run (facts reader)")

    def receive(self, n: int) -> list[Answer]:
        """The answers to batch `n`, the next one not read yet."""
        if n != self._done + 1 or n not in self.preloaded:
            raise TransportError(f"batch {n} is not the next one to read")
        requests = self.preloaded.pop(n)
        self._done = n
        self.round_trips += 1
        try:
            return self._read(len(requests), n)
        finally:
            for writer, failed in self._writers:
                writer.join(5)
                if failed and not isinstance(failed[0], TransportError):
                    raise TransportError(f"sending to the target failed: {failed[0]}")
            self._writers = [w for w in self._writers if w[0].is_alive()]

    def _send(self, data: bytes, failed: list[BaseException]) -> None:
        try:
            self.pipe.send(data)
        except Exception as e:  # reported by receive()
            failed.append(e)

    def _read(self, count: int, n: int) -> list[Answer]:
        end = f"\n{self.marker} END {n}\n".encode()
        buf, self._buf = self._buf, bytearray()
        deadline = time.monotonic() + self.timeout
        start = 0
        while end not in buf[start:]:
            start = max(0, len(buf) - len(end))
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportError(f"no complete answer within {self.timeout:g} s")
            chunk = self.pipe.recv(min(left, 1.0))
            if chunk is None:
                continue
            if not chunk:
                raise TransportError("the target closed the channel mid-answer")
            buf += chunk
            self.bytes_in += len(chunk)
            if len(buf) > self.limit:
                raise TransportError(f"more than {self.limit >> 20} MiB of answers: stopped")
        cut = buf.index(end, start)
        self._buf = buf[cut + len(end):]
        return self._parse(bytes(buf[:cut]), count)

    def _parse(self, data: bytes, count: int) -> list[Answer]:
        sep = f"\n{self.marker} ".encode()
        if data.startswith(sep + b"gz z\n"):
            data = self._inflate(data[len(sep) + 5:])
        answers = [Answer() for _ in range(count)]
        for part in data.split(sep)[1:]:
            head, _, body = part.partition(b"\n")
            words = head.split(b" ")
            if len(words) < 2 or not _ID.match(words[0]) or int(words[0]) >= count:
                raise TransportError("garbled answer header")
            try:
                decoded = base64.b64decode(body.replace(b"\n", b""), validate=True)
            except (binascii.Error, ValueError):
                raise TransportError("garbled answer body") from None
            answers[int(words[0])].parts.append(
                (words[1].decode("ascii", "replace"),
                 [w.decode("ascii", "replace") for w in words[2:]], decoded))
        return answers

    def _inflate(self, body: bytes) -> bytes:
        """A batch's answers sent gzipped: at most `limit` bytes once inflated."""
        try:
            packed = base64.b64decode(body.replace(b"\n", b""), validate=True)
            z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = z.decompress(packed, self.limit + 1)
        except (binascii.Error, ValueError, zlib.error):
            raise TransportError("garbled answer body") from None
        if len(data) > self.limit or z.unconsumed_tail:
            raise TransportError(f"more than {self.limit >> 20} MiB of answers: stopped")
        if not z.eof:
            raise TransportError("garbled answer body")
        return data

    def close(self) -> None:
        self.pipe.close()


class ChannelPipe:
    """A paramiko channel (from SSHConnection.hold) as a Pipe."""

    def __init__(self, chan) -> None:  # paramiko.Channel
        self.chan = chan

    def send(self, data: bytes) -> None:
        self.chan.sendall(data)

    def recv(self, timeout: float) -> bytes | None:
        while self.chan.recv_stderr_ready():  # unread, it would hold the window shut
            self.chan.recv_stderr(1 << 16)
        if not self.chan.recv_ready():
            if self.chan.closed or self.chan.eof_received:
                return b""
            select.select([self.chan], [], [], timeout)
            if not self.chan.recv_ready():
                return b"" if self.chan.eof_received or self.chan.closed else None
        return self.chan.recv(1 << 16)

    def close(self) -> None:
        self.chan.close()


class ProcessPipe:
    """A local process (sh -c SERVER) as a Pipe: for tests and for measuring."""

    def __init__(self, argv: Sequence[str]) -> None:
        from tui.core.procenv import child_env

        self.proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=child_env())

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def recv(self, timeout: float) -> bytes | None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 1 << 16) if ready else None

    def close(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _Prefixed:
    """A Pipe whose first bytes were read already (with the READY line)."""

    def __init__(self, pipe: Pipe, rest: bytes) -> None:
        self.pipe, self.rest = pipe, rest

    def send(self, data: bytes) -> None:
        self.pipe.send(data)

    def recv(self, timeout: float) -> bytes | None:
        if self.rest:
            out, self.rest = self.rest, b""
            return out
        return self.pipe.recv(timeout)

    def close(self) -> None:
        self.pipe.close()


def wait_ready(pipe: Pipe, timeout: float = 30.0) -> bytes:
    """Read up to the READY line the server prints first; what came after it."""
    want = READY.encode() + b"\n"
    buf = b""
    deadline = time.monotonic() + timeout
    while want not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TransportError("the server did not start")
        chunk = pipe.recv(min(left, 1.0))
        if chunk == b"":
            raise TransportError("the server ended before it started")
        buf += chunk or b""
        if len(buf) > 1 << 20 and want not in buf:
            raise TransportError("the server said too much before it started")
    return buf[buf.index(want) + len(want):]


def start_local(shell: Sequence[str] = ("sh",),
                first: Sequence[Sequence[Request]] = ()) -> ShellServer:
    """The server in a local shell (`shell` + ["-c", script]): for tests and measuring.
    `first`: the first batches, run as the server starts (call() or receive() reads them)."""
    marker = new_marker()
    pipe = ProcessPipe([*shell, "-c", server_script(marker, first=first)])
    rest = wait_ready(pipe)
    return ShellServer(_Prefixed(pipe, rest), marker, first=first)


def start_ssh(conn, sudo: bool,  # conn: ssh.connection.SSHConnection
              first: Sequence[Sequence[Request]] = ()) -> ShellServer:
    """The server over one session channel of `conn` (as root under sudo, as `run` is).
    `first`: the first batches, sent with the command (no round trip of their own)."""
    from tui.core import actionlog
    from tui.core.targets.base import CommandResult, TargetError

    marker = new_marker()
    rest = bytearray()
    actionlog.record(conn.label, "start facts reader",
                     "a read-only sh request server on one channel" + (" (sudo)" if sudo else ""))
    # Through sh explicitly: the login shell may be csh or fish, the server is POSIX sh.
    try:
        got = conn.hold("sh -c " + shlex.quote(server_script(marker, first=first)), READY,
                        sudo=sudo, rest=rest)
    except TargetError as e:
        if "said too much" not in str(e):
            raise
        # hold() is also the lock's: say what happened in the facts reader's words
        raise TargetError(f"{conn.label} sent more than 1 MiB of output before the facts "
                          "reader started: stopped reading") from None
    if isinstance(got, CommandResult):
        err = got.stderr.decode("utf-8", "replace").strip().splitlines()
        raise TargetError(f"{conn.label}: the facts reader did not start (exit {got.rc})"
                          + (f": {err[-1][:200]}" if err else ""))
    got.settimeout(None)
    return ShellServer(_Prefixed(ChannelPipe(got), bytes(rest)), marker, first=first,
                       label=conn.label)
