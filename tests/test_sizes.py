"""Size must not change a verdict (issue 11, item 8): big rules files are streamed a window at
a time and give tcpdmatch's answer; a window cut anywhere changes nothing."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import rulegen
from tests.oracle import oracle, write_pair
from tui.core.tcpwrappers import Evaluator, HostInfo, Request, load_table
from tui.core.tcpwrappers.hostmatch import read_file_under
from tui.core.tcpwrappers.table import STREAM_OVER, WINDOW, Window, records

WINDOWS = [1, 2, 3, 5, 64, 2046, 2047, 2048, 2049, 4099]
SETTINGS = settings(
    max_examples=int(os.environ.get("PARITY_EXAMPLES", "300")),
    deadline=None,
    derandomize="PARITY_RANDOM" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Lines that put the engine's fast path (runs of plain DenyHosts-style lines), its slow path
# and libwrap's odd cases next to each other, so a window edge falls among all of them.
_PLAIN = st.sampled_from([
    "sshd: 10.0.0.3", "sshd: 10.0.0.30", "sshd: 110.0.0.3", "ALL: 192.168.1.20",
    "sshd: 10.0.0.4, 10.0.0.3", "sshd:10.0.0.3", "sshd: 203.0.113.7 10.1.2.3", "# comment",
    "#sshd: 10.0.0.3", "", "   ", "sshd: 127.0.0.1", "sshd: 10.0.0.9",
])
_ODD = st.sampled_from([
    "# continues \\", "sshd: 10.0.0.3 \\", "\0sshd: 10.0.0.3", "sshd: 10.0\0.0.3", "\0",
    "sshd: 10.0.0.3\r", "ALL: 10.", "sshd: [::1]", "  # sshd: 10.0.0.3", "no separator",
    "#" + "x" * 2044, "#" + "x" * 2045, "#" + "x" * 2046, "sshd: " + "10.9.9.9 " * 226,
    "sshd: 10.0.0.3: deny", "sshd: 10.0.0.3: allow",
])
_LINE = st.one_of(_PLAIN, _PLAIN, _PLAIN, _ODD, rulegen.rule_line())


@st.composite
def mixed_file(draw) -> bytes:
    lines = draw(st.lists(_LINE, max_size=12))
    body = "".join(ln + "\n" for ln in lines).encode()
    if lines and draw(st.integers(0, 5)) == 0:
        body = body[:-1]  # no final newline
    return body


def _clients() -> list[str]:
    return ["10.0.0.3", "192.168.1.20", "10.0.0.30", "::1", "203.0.113.7"]


def _evaluate(allow, deny, client: str):
    ev = Evaluator(allow, deny, read_file_under(None))
    v = ev.check(Request(daemon=b"sshd", client=HostInfo(addr=client.encode())))
    return v.access, v.file, v.line, v.rule, v.reason, v.warnings


def _streamed(path: Path, window: int):
    return load_table(str(path), stream_over=0, window=window)


# -- windows against bytes in memory ------------------------------------------------------


@SETTINGS
@given(data=st.one_of(mixed_file(), rulegen.rules_file(), st.binary(max_size=300)))
def test_windowed_records_equal_records_in_memory(data: bytes) -> None:
    want = list(records(data))
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        for size in WINDOWS:
            w = Window(fd=f.fileno(), size=size)
            got = []
            for rec in records(w):
                raw = w.raw(rec)
                assert raw is None or raw == data[rec.start:rec.end], size
                assert raw is not None or rec.end - rec.start > size, size
                got.append(rec)
            assert got == want, size


@SETTINGS
@given(allow=mixed_file(), deny=mixed_file())
def test_windowed_verdicts_equal_verdicts_in_memory(allow: bytes, deny: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        write_pair(work, allow, deny)
        whole = load_table(str(work / "hosts.allow")), load_table(str(work / "hosts.deny"))
        for client in _clients():
            want = _evaluate(*whole, client)
            for size in (1, 7, 2047, 2049):
                pair = _streamed(work / "hosts.allow", size), _streamed(work / "hosts.deny", size)
                assert _evaluate(*pair, client) == want, (size, client)


@settings(SETTINGS, max_examples=int(os.environ.get("PARITY_EXAMPLES", "300")) // 3)
@given(allow=mixed_file(), deny=mixed_file())
def test_windowed_verdicts_agree_with_tcpdmatch(allow: bytes, deny: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        write_pair(work, allow, deny)
        for client in _clients()[:3]:
            want = oracle(work, client)
            for size in (1, 3, 2048):
                pair = _streamed(work / "hosts.allow", size), _streamed(work / "hosts.deny", size)
                assert _evaluate(*pair, client)[0] == want, (size, client, allow, deny)


def test_every_cut_through_a_record(tmp_path: Path) -> None:
    """A window edge at every byte of a matching rule, a continued rule, a NUL-cut rule."""
    deny = (b"sshd: 10.0.0.9\n# x\nsshd: 10.0.0.30\nALL: 10.0.\\\n0.3\n"
            b"sshd: 10.0.0.4 \0 junk\n, 10.0.0.3\nsshd: 10.0.0.3\n")
    write_pair(tmp_path, b"# nothing\n", deny)
    want = {c: oracle(tmp_path, c) for c in ("10.0.0.3", "10.0.0.30", "10.0.0.4")}
    assert want == {"10.0.0.3": "denied", "10.0.0.30": "denied", "10.0.0.4": "denied"}
    base = _evaluate(load_table(str(tmp_path / "hosts.allow")),
                     load_table(str(tmp_path / "hosts.deny")), "10.0.0.3")
    assert base[2] == 4  # the continued rule decides
    for size in range(1, len(deny) + 2):
        for client, access in want.items():
            pair = (_streamed(tmp_path / "hosts.allow", size),
                    _streamed(tmp_path / "hosts.deny", size))
            got = _evaluate(*pair, client)
            assert got[0] == access, (size, client)
            if client == "10.0.0.3":
                assert got == base, size


# -- files over the in-memory limit, through `match`, against tcpdmatch ---------------------


def _denyhosts_lines(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return b"".join(
        b"sshd: %d.%d.%d.%d\n" % (rng.randint(11, 197), rng.randint(0, 255),
                                  rng.randint(0, 255), rng.randint(1, 254))
        for _ in range(n))


def _match(d: Path, client: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", "match", "--allow", str(d / "hosts.allow"),
         "--deny", str(d / "hosts.deny"), "--json", client],
        capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def big_body() -> bytes:
    body = _denyhosts_lines(STREAM_OVER // 18 + 1000, 11)
    assert len(body) > STREAM_OVER + WINDOW // 2
    return body


def _insert(body: bytes, edge: int, before: int, text: bytes) -> bytes:
    """`text` as new lines starting `before` bytes (or up to a line more) ahead of the
    edge-th window edge, so that it straddles that edge."""
    assert len(text) > before + 20
    at = body.rfind(b"\n", 0, edge * WINDOW - before) + 1
    return body[:at] + text + body[at:]


# (name, how the big file is changed, client, the line that decides or None)
BIG_CASES = [
    ("client on the last line", lambda b: b + b"sshd: 10.0.0.3\n", "10.0.0.3", "last"),
    ("client not listed", lambda b: b, "10.0.0.3", None),
    ("no final newline", lambda b: b + b"sshd: 10.0.0.9", "10.0.0.3", "last"),
    ("over-long line across a window edge",
     lambda b: _insert(b, 3, 1000, b"sshd: " + b"1" * 4000 + b"\n"), "10.0.0.3", "cut"),
    ("continued rule across a window edge",
     lambda b: _insert(b, 2, 10, b"sshd:" + b" " * 30 + b"\\\n10.0.0.3\n"), "10.0.0.3", "cut"),
    ("NUL-joined rule across a window edge",
     lambda b: _insert(b, 5, 40, b"sshd: \0" + b"z" * 100 + b"\n10.0.0.3\n"), "10.0.0.3", "cut"),
    ("a subnet rule near the end", lambda b: b + b"ALL: 10.0.0.0/8\n" + b[:5000], "10.0.0.3",
     "last-ish"),
    ("comment swallowing the client's line across a window edge",
     lambda b: _insert(b, 4, 5, b"# " + b"x" * 30 + b" \\\nsshd: 10.0.0.3\n"), "10.0.0.3",
     None),
]


@pytest.mark.parametrize(("name", "change", "client", "where"), BIG_CASES,
                         ids=[c[0] for c in BIG_CASES])
def test_big_file_agrees_with_tcpdmatch(tmp_path: Path, big_body: bytes, name, change, client,
                                        where) -> None:
    deny = change(big_body)
    assert len(deny) > STREAM_OVER
    write_pair(tmp_path, b"# empty\n", deny)
    want = oracle(tmp_path, client)
    r = _match(tmp_path, client)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == (0 if want == "granted" else 1), r.stderr
    row = json.loads(r.stdout)
    assert row["access"] == want
    if where == "last":
        assert row["line"] == deny.count(b"\n") + (0 if deny.endswith(b"\n") else 1)
    elif where == "cut":
        # the same file in memory decides at the same line
        ev = Evaluator(load_table(str(tmp_path / "hosts.allow"), stream_over=1 << 40),
                       load_table(str(tmp_path / "hosts.deny"), stream_over=1 << 40),
                       read_file_under(None))
        v = ev.check(Request(daemon=b"sshd", client=HostInfo(addr=client.encode())))
        assert (v.access, v.line) == (row["access"], row["line"])
        assert row["line"] > WINDOW // 20  # really past the first window
    elif where is None:
        assert row["line"] is None


def test_read_error_mid_file_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    """A streamed file that fails while it is read gives no verdict but one line (`match`
    turns it into exit 2). The error is the kernel's: pread() on a directory."""
    from tui.core.tcpwrappers.table import Table, TableError, _OpenFile

    fd = os.open(tmp_path, os.O_RDONLY)  # pread on a directory: EISDIR, a real kernel error
    t = Table(str(tmp_path / "hosts.deny"), file=_OpenFile(fd))
    with pytest.raises(TableError) as info:
        list(records(t.reader()))
    assert str(info.value) == f"cannot read {tmp_path / 'hosts.deny'}: Is a directory"


def test_io_error_mid_file_is_exit_2_not_a_verdict(tmp_path: Path) -> None:
    """A real EIO halfway through a big hosts.deny (an ext4 image whose loop device shrinks
    under the mounted file system). libwrap takes the error for the end of the file and
    grants; `match` cannot judge the rest, so it says so and exits 2."""
    from tests.mountns import MountNamespace

    (tmp_path / "ns").mkdir()
    img, mnt = tmp_path / "img", tmp_path / "mnt"
    mnt.mkdir()
    deny = _denyhosts_lines(1_500_000, 5) + b"sshd: 10.0.0.3\n"  # ~28 MB, client at the end
    ns = MountNamespace(tmp_path / "ns")
    try:
        ns.sh(f"truncate -s 64M {img} && mkfs.ext4 -q -F -b 1024 {img} && "
              f"mount -o loop {img} {mnt}")
        ns.write(f"{mnt}/hosts.deny", deny)
        ns.write(f"{mnt}/hosts.allow", b"")
        # Remount so that nothing of the file is cached, then cut the device under it: the
        # file's blocks past 30 MB of the image now fail with EIO.
        ns.sh(f"umount {mnt} && mount -o ro,loop {img} {mnt} && "
              f"dev=$(losetup -j {img} | cut -d: -f1) && truncate -s 30M {img} && "
              "losetup -c $dev")
        got = ns.sh(f"cd {mnt} && tcpdmatch -d sshd 10.0.0.3", check=False)
        assert b"access:   granted" in got.stdout, got  # libwrap: the error ends the file
        r = subprocess.run(
            [*ns.prefix, sys.executable, "-m", "tui", "match", "--allow", f"{mnt}/hosts.allow",
             "--deny", f"{mnt}/hosts.deny", "10.0.0.3"],
            capture_output=True, text=True, timeout=120, check=False)
        assert r.returncode == 2, r
        assert r.stderr == f"ssh-reset-doctor: cannot read {mnt}/hosts.deny: Input/output error\n"
        assert "access:" not in r.stdout
    finally:
        ns.close()
        for line in subprocess.run(["losetup", "-j", str(img)], capture_output=True,
                                   text=True, check=False).stdout.splitlines():
            subprocess.run(["losetup", "-d", line.split(":")[0]], check=False)
