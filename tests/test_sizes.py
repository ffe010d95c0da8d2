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

from tests.helpers import rulegen
from tests.helpers.oracle import oracle, write_pair
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


@pytest.mark.integration  # a long generated run (hypothesis)
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


@pytest.mark.integration  # a long generated (hypothesis) run
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


@pytest.mark.integration  # many runs of the real tcpdmatch
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


@pytest.mark.integration  # 16 MiB files judged by the real tcpdmatch
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


def test_a_reader_keeps_its_file_open(tmp_path: Path) -> None:
    """The table may go away while its reader is still reading (its descriptor must not)."""
    import gc

    (tmp_path / "hosts.deny").write_bytes(b"sshd: 10.0.0.3\n" * 1000)
    w = load_table(str(tmp_path / "hosts.deny"), stream_over=0, window=100).reader()
    gc.collect()
    assert sum(1 for _ in records(w)) == 1000


def test_read_error_mid_file_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    """A streamed file that fails while it is read gives no verdict but one line (`match`
    turns it into exit 2). The error is the kernel's: pread() on a directory."""
    from tui.core.tcpwrappers.table import Table, TableError, _OpenFile

    fd = os.open(tmp_path, os.O_RDONLY)  # pread on a directory: EISDIR, a real kernel error
    t = Table(str(tmp_path / "hosts.deny"), file=_OpenFile(fd))
    with pytest.raises(TableError) as info:
        list(records(t.reader()))
    assert str(info.value) == f"cannot read {tmp_path / 'hosts.deny'}: Is a directory"


@pytest.mark.integration  # a mount namespace
def test_io_error_mid_file_is_exit_2_not_a_verdict(tmp_path: Path) -> None:
    """A real EIO halfway through a big hosts.deny (an ext4 image whose loop device shrinks
    under the mounted file system). libwrap takes the error for the end of the file and
    grants; `match` cannot judge the rest, so it says so and exits 2."""
    from tests.helpers.mountns import REPO, MountNamespace

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
            capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)})
        assert r.returncode == 2, r
        assert r.stderr == f"ssh-reset-doctor: cannot read {mnt}/hosts.deny: Input/output error\n"
        assert "access:" not in r.stdout
    finally:
        ns.close()
        for line in subprocess.run(["losetup", "-j", str(img)], capture_output=True,
                                   text=True, check=False).stdout.splitlines():
            subprocess.run(["losetup", "-d", line.split(":")[0]], check=False)


# -- previews of NUL-heavy and big files ------------------------------------------------------


def _reference_preview(before: bytes, after: bytes, path: str = "/etc/hosts.deny") -> str:
    """What preview_op printed before: difflib on the whole file, escapes per character."""
    import difflib
    import re

    lines = difflib.diff_bytes(difflib.unified_diff, before.splitlines(keepends=True),
                               after.splitlines(keepends=True), b"a" + path.encode(),
                               b"b" + path.encode(), n=2)
    out = b"".join(ln if ln.endswith(b"\n") else ln + b"\n\\ No newline at end of file\n"
                   for ln in lines).decode("utf-8", "backslashreplace")
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}",
                  out).rstrip("\n")


def _python_calls(fn) -> tuple[object, int]:
    """fn()'s result and how many Python and builtin calls it made: a count, not a time, so
    a per-character (or per-line) Python loop shows up however fast or loaded the machine."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        result = fn()
    finally:
        sys.setprofile(None)
    return result, calls


def test_preview_of_a_megabyte_of_nuls_is_linear() -> None:
    from tui.core.changes.plan import FileEdit, preview_op

    nuls = b"\0" * (1 << 20)
    edit = FileEdit("/etc/hosts.deny", nuls, b"#" + nuls + b"\nsshd: 10.0.0.3\n")
    text, calls = _python_calls(lambda: preview_op(edit))
    assert calls < 1000, calls  # it was one call per NUL: over two million
    assert text == (
        "--- a/etc/hosts.deny\n+++ b/etc/hosts.deny\n@@ -1 +1,2 @@\n-" + "\\x00" * (1 << 20)
        + "\n\\ No newline at end of file\n+#" + "\\x00" * (1 << 20) + "\n+sshd: 10.0.0.3")


def test_preview_of_many_nul_lines_shows_only_the_change() -> None:
    from tui.core.changes.plan import FileEdit, preview_op

    half = b"\0\n" * (1 << 18)
    edit = FileEdit("/etc/hosts.deny", half + half, half + b"sshd: 10.0.0.3\n" + half)
    text, calls = _python_calls(lambda: preview_op(edit))
    assert calls < 5000, calls  # difflib over half a million lines made millions
    n = 1 << 18
    assert text == ("--- a/etc/hosts.deny\n+++ b/etc/hosts.deny\n"
                    f"@@ -{n - 1},4 +{n - 1},5 @@\n \\x00\n \\x00\n+sshd: 10.0.0.3\n \\x00\n \\x00")


def test_preview_of_a_big_file_is_the_whole_file_diff() -> None:
    """Over the trimming threshold the hunks are those of a diff of the whole file."""
    from tui.core.changes.plan import FileEdit, preview_op

    lines = _denyhosts_lines(40_000, 3).splitlines(keepends=True)
    before = b"".join(lines)
    assert len(before) > 256 << 10
    after = lines[:]
    after[5] = b"#" + after[5]
    after[20_000:20_002] = [b"sshd: 10.0.0.3\r\n"]
    after[-1] = after[-1].rstrip(b"\n")
    edit = FileEdit("/etc/hosts.deny", before, b"".join(after))
    assert preview_op(edit) == _reference_preview(before, b"".join(after))


_CHUNKS = st.sampled_from([b"a\n", b"b\n", b"\0\n", b"\r\n", b"\r", b"x", b"\n", b"c\r\n",
                           b"sshd: 10.0.0.3\n", b"\0"])


@SETTINGS
@given(before=st.lists(_CHUNKS, max_size=40).map(b"".join), data=st.data())
def test_trimmed_diff_keeps_lines_whole_and_counts_them(before: bytes, data) -> None:
    from tui.core.changes.plan import _trim_unchanged

    after = bytearray(before)
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(after)))
        after[at:at + data.draw(st.integers(0, 3))] = data.draw(_CHUNKS)
    after = bytes(after)
    head, old, new = _trim_unchanged(before, after, 2)
    cut = sum(map(len, before.splitlines(keepends=True)[:head]))
    assert before[:cut] == after[:cut]  # the dropped head is common, `head` lines long
    assert cut == 0 or before[cut - 1:cut] == b"\n"
    assert old == before[cut:cut + len(old)] and new == after[cut:cut + len(new)]
    rest_old, rest_new = before[cut + len(old):], after[cut + len(new):]
    assert rest_old == rest_new  # the dropped tail is common and starts a line in both
    assert not rest_old or (old.endswith(b"\n") and new.endswith(b"\n"))


# -- check/fix facts: rules files over the old 16 MiB limit, and past the new one ------------


def _big_deny(mib: int) -> tuple[bytes, int]:
    """A hosts.deny of `mib` MiB whose last line denies 10.0.0.3: (bytes, that line)."""
    # DenyHosts comments (a long line costs what a short one does) and real rules
    line = b"# DenyHosts: " + b"x" * 1000 + b"\n"
    body = line * ((mib << 20) // len(line)) + _denyhosts_lines(2000, 7) + b"sshd: 10.0.0.3\n"
    return body, body.count(b"\n")


def _tcp_finding(r: subprocess.CompletedProcess[str]) -> dict:
    assert "Traceback" not in r.stderr, r.stderr
    doc = json.loads(r.stdout)
    return next(f for f in doc["findings"] if f["id"] == "tcp-wrappers")


@pytest.fixture(scope="module")
def sysimage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers.fixture_root import build_root

    return build_root(tmp_path_factory.mktemp("root") / "sysimage")


@pytest.mark.integration  # a 16 MiB hosts.deny through the whole check
def test_check_root_judges_a_hosts_deny_over_16_mib(sysimage: Path) -> None:
    """It was 'cannot open /etc/hosts.deny: EFBIG: libwrap denies' for everyone."""
    from tests.helpers.mountns import run_tool

    deny, line = _big_deny(20)
    (sysimage / "etc/hosts.deny").write_bytes(deny)
    denied = _tcp_finding(run_tool("check", "--root", str(sysimage), "--json",
                                   "--client-ip", "10.0.0.3"))
    assert denied["status"] == "problem", denied
    assert (denied["evidence"]["line"], denied["evidence"]["rule"]) == (line, "sshd: 10.0.0.3")
    granted = _tcp_finding(run_tool("check", "--root", str(sysimage), "--json",
                                    "--client-ip", "10.0.0.4"))
    assert granted["status"] == "ok", granted


def test_check_root_hosts_deny_too_big_is_unknown_not_denied(sysimage: Path) -> None:
    from tests.helpers.mountns import run_tool

    deny = sysimage / "etc/hosts.deny"
    deny.write_bytes(b"")
    os.truncate(deny, 300 << 20)  # sparse: nothing is read past the size check
    f = _tcp_finding(run_tool("check", "--root", str(sysimage), "--json",
                              "--client-ip", "10.0.0.3"))
    assert f["status"] == "unknown", f
    assert f["summary"] == ("cannot tell whether sshd grants 10.0.0.3: /etc/hosts.deny: too "
                            f"large to read ({300 << 20} bytes)")
    r = run_tool("fix", "tcp-wrappers", "--root", str(sysimage), "--client-ip", "10.0.0.3")
    assert "Traceback" not in r.stderr and deny.stat().st_size == 300 << 20


def _lab_env(lab, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    (home / ".ssh/known_hosts").write_text(lab.host_key_line() + "\n")
    return {"HOME": str(home)}


@pytest.mark.integration  # a real sshd in a mount namespace
def test_remote_check_reads_big_rules_and_names_too_big_ones(ns, tmp_path: Path) -> None:
    """Over SSH: 20 MiB is judged (the script's limit was 16 MiB); past its 48 MiB limit the
    file is 'too large to read (N bytes)', never a denial."""
    from tests.helpers.mountns import run_tool
    from tests.helpers.sshlab import SshLab

    with SshLab(tmp_path / "lab", prefix=ns.prefix) as lab:
        env = _lab_env(lab, tmp_path)
        where = ["--host", f"root@127.0.0.1:{lab.port}", "-i", str(lab.client_key)]
        deny, line = _big_deny(20)
        ns.write("/etc/hosts.deny", deny)
        f = _tcp_finding(run_tool("check", *where, "--json", "--client-ip", "10.0.0.3",
                                  env=env, timeout=180))
        assert f["status"] == "problem" and f["evidence"]["line"] == line, f
        ns.sh("truncate -s 60M /etc/hosts.deny")
        f = _tcp_finding(run_tool("check", *where, "--json", "--client-ip", "10.0.0.3",
                                  env=env, timeout=180))
        assert f["status"] == "unknown", f
        assert f["summary"].endswith(f"/etc/hosts.deny: too large to read ({60 << 20} bytes)")


_PEAK_RSS = """
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stdout.write(f"{r.returncode}\\n{peak}\\n{r.stderr}")
"""


@pytest.mark.integration  # a real sshd
def test_flooding_target_is_cut_at_the_limit(tmp_path: Path) -> None:
    """A compromised target (its sshd answers every command with 3 GB of zeros, as a
    ForceCommand) pushed the operator's side to gigabytes. Now: one line, exit 2, and the
    process's peak memory stays near the 256 MiB read limit."""
    from tests.helpers.sshlab import SshLab

    with SshLab(tmp_path / "lab", extra_config="ForceCommand head -c 3G /dev/zero\n") as lab:
        env = {**os.environ, **_lab_env(lab, tmp_path)}
        argv = [sys.executable, "-m", "tui", "check", "--host", f"root@127.0.0.1:{lab.port}",
                "-i", str(lab.client_key)]
        out = subprocess.run([sys.executable, "-c", _PEAK_RSS, *argv], capture_output=True,
                             text=True, timeout=300, env=env, check=True).stdout
    rc, peak_kib, stderr = out.split("\n", 2)
    assert rc == "2", stderr
    # cut where the facts reader's channel stops reading (it waits for one line first)
    assert stderr.count("\n") == 1 and "MiB of output" in stderr, stderr
    assert "stopped reading" in stderr, stderr
    assert int(peak_kib) < 700 << 10, f"peak RSS {int(peak_kib) >> 10} MiB"


@pytest.mark.integration  # a real sshd
def test_over_the_limit_closes_that_channel_only(tmp_path: Path) -> None:
    from tests.helpers.sshlab import SshLab
    from tui.core.targets.base import TargetError
    from tui.core.targets.hostspec import parse_host
    from tui.core.targets.ssh.connection import SSHConnection
    from tui.core.targets.ssh.options import ConnectOptions

    with SshLab(tmp_path / "lab") as lab:
        opts = ConnectOptions(parse_host(f"root@127.0.0.1:{lab.port}"),
                              identities=[str(lab.client_key)], ssh_config=None,
                              known_hosts=[str(lab.known_hosts)])
        with SSHConnection.connect(opts) as conn:
            with pytest.raises(TargetError) as info:
                conn.run("yes >&2", output_limit=1 << 20)
            assert str(info.value) == (f"root@127.0.0.1:{lab.port} sent more than 1 MiB of "
                                       "output for yes >&2: stopped reading")
            assert conn.run("head -c 1048576 /dev/zero", output_limit=1 << 20).stdout == (
                bytes(1 << 20))
            assert conn.run("echo still usable").stdout == b"still usable\n"


_RULE_LINES = st.sampled_from([
    b"sshd: 1.2.3.4\n", b"ALL:10.0.0.1 \n", b"sshd : 1.2.3\n", b"SSHD:\t127.0.0.1\n",
    b"sshd: 1..2\n", b"sshd: 1.2.3.4 \\\n", b"sshd: 1.2.3.4\0\n", b"# DenyHosts: x\n",
    b"  sshd: 1.2.3.4\n", b"sshd: .1\n", b"sshd: 1.\n", b"sshd: 10.0.0.0/8\n", b"sshd: abc\n",
    b"#c \\\n", b"sshd: 1.2.3.4\r\n", b"sshd: 1.2.3.4", b"ALL: 0\n", b"sshd: [::1]\n",
])


@SETTINGS
@given(data=st.lists(_RULE_LINES, max_size=30).map(b"".join), deny=st.booleans())
def test_tcpdchk_fast_path_changes_no_diagnostic(data: bytes, deny: bool) -> None:
    """DenyHosts lines skip the per-rule checks (a 20 MB file took 25 s there): the
    diagnostics are those of the full checks."""
    import re

    from tui.core.tcpwrappers import tcpdchk
    from tui.core.tcpwrappers.table import Table

    fast = tcpdchk.diagnose(Table("/etc/hosts.deny", data), deny)
    quiet, tcpdchk._QUIET = tcpdchk._QUIET, re.compile(rb"(?!)")
    try:
        assert tcpdchk.diagnose(Table("/etc/hosts.deny", data), deny) == fast
    finally:
        tcpdchk._QUIET = quiet
