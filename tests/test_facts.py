"""The SSH collector (the sh request server, run here for real) agrees with the local one."""

from __future__ import annotations

import dataclasses
import errno
import os

import pytest

from tui.core.facts import local, remote
from tui.core.targets import shellchan


def _comparable(facts) -> dict:
    d = dataclasses.asdict(facts)
    for key in ("target", "kind", "processes", "logs", "notes"):  # who collects, and when
        d.pop(key)
    for label in ("fail2ban-client banned", "ss -ltnpH"):  # timestamps; the server's own sh
        d["commands"].pop(label, None)
    return d


@pytest.mark.integration  # sshd -T reads the root-only host keys
@pytest.mark.parametrize("started", [False, True])
@pytest.mark.parametrize("shell", [["sh"], ["busybox", "sh"], ["bash", "--posix"]])
def test_server_and_local_collector_agree_on_this_machine(shell: list[str],
                                                          started: bool) -> None:
    """started: the server begins with the first run's batches (as over SSH)."""
    server = shellchan.start_local(shell, remote.first_batches("t") if started else ())
    try:
        theirs = remote.collect(server, "t")
    finally:
        server.close()
    ours = local.collect("/")
    assert _comparable(theirs) == _comparable(ours)
    # ldd's hint, the rest of the first run, the resolver's ranges (sent ahead)
    assert server.round_trips <= (3 if started else 4)
    [b] = ours.binaries
    assert b.binary == "/usr/sbin/sshd" and "libwrap.so.0" in b.needed and not b.missing
    assert theirs.sshd_version and theirs.sshd_version.startswith("OpenSSH_")
    assert theirs.sshd_keyperm is ours.sshd_keyperm is False  # Debian: no keyperm patch
    assert "maxstartups" in ours.commands["sshd -T"].stdout
    assert ours.paths["/usr/sbin/sshd"].mode is not None
    assert ours.paths["/var/empty/sshd"].errno == errno.ENOENT  # Debian's is /run/sshd


@pytest.mark.integration  # a mount namespace
def test_a_broken_sshd_config_is_data(tmp_path) -> None:
    """`sshd -t` failing is what the sshd-serve finding reads: rc and message survive."""
    from tests.helpers.mountns import MountNamespace

    ns = MountNamespace(tmp_path)
    try:
        ns.overlay("/etc")
        ns.sh("echo 'Bogus yes' >> /etc/ssh/sshd_config")
        server = shellchan.start_local([*ns.prefix, "sh"])
        try:
            facts = remote.collect(server, "t")
        finally:
            server.close()
        t = facts.commands["sshd -t"]
        assert t.rc == 255 and "Bad configuration option: Bogus" in t.stderr
        assert facts.commands["sshd -T"].rc == 255
    finally:
        ns.close()


class _Cut:
    """A pipe whose answer stops half-way, or never ends."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def send(self, data: bytes) -> None:
        pass

    def recv(self, timeout: float) -> bytes | None:
        out, self.data = self.data, b""
        return out

    def close(self) -> None:
        pass


def test_a_cut_or_garbled_answer_is_an_error_not_a_healthy_machine() -> None:
    marker = shellchan.new_marker()
    with pytest.raises(shellchan.TransportError, match="closed"):
        shellchan.ShellServer(_Cut(f"\n{marker} 0 data\nQUxM".encode()), marker).call(
            [("g", ["10", "0", "0", "/etc"])])
    with pytest.raises(shellchan.TransportError, match="garbled"):
        shellchan.ShellServer(_Cut(f"\n{marker} 0 data\n!!\n{marker} END 1\n".encode()),
                              marker).call([("g", ["10", "0", "0", "/etc"])])


def test_file_bytes_names_and_output_cannot_forge_an_answer(tmp_path) -> None:
    server = shellchan.start_local(["busybox", "sh"])
    try:
        evil = (f"\n{server.marker} 0 data\nQUxMOiBBTEwK\n{server.marker} END 1\n".encode()
                + b"\0liblz4.so.1\0\xff\n" * 3)
        (tmp_path / "f").write_bytes(evil)
        odd = "a\nb c'$(reboot)`x`\\"
        (tmp_path / odd).write_bytes(b"")
        cmd = ["sh", "-c", 'cat "$1"; cat "$1" >&2', "-", str(tmp_path / "f")]
        [got, names, ran] = server.call([
            ("g", ["1000", "0", "0", str(tmp_path), str(tmp_path / "f")]),
            ("l", [str(tmp_path)]),
            ("r", ["5", "1000", *cmd]),
        ])
        assert got.first("data") == ([], evil)
        listed = set(names.first("names")[1].split(b"\0")[:-1]) - {b".", b".."}
        assert listed == {b"f", os.fsencode(odd)}
        assert ran.first("rc") == (["0"], evil) and ran.first("err") == ([], evil)
        assert not (tmp_path / "reboot").exists()
    finally:
        server.close()


def test_a_line_break_never_reaches_the_server() -> None:
    """Paths can come from a target's link text; a line break would split a request."""
    server = shellchan.start_local(["sh"])
    try:
        with pytest.raises(shellchan.TransportError, match="line break"):
            server.call([("l", ["/tmp\n; touch /tmp/srd-pwned"])])
        src = remote.RemoteSource(server, "t")
        assert src.read("/etc/x\ny", 100).errno == errno.ENOENT
        with pytest.raises(OSError):
            src.listdir("/etc\n")
        assert src.libfs().prefilter(["/a\nb"], [b"x"]) == []
    finally:
        server.close()
    assert not os.path.exists("/tmp/srd-pwned")


def test_gzipped_answers_are_read_and_bounded() -> None:
    """A batch may come as one gzip stream: read as plain answers, a bomb stopped."""
    import base64
    import gzip

    marker = shellchan.new_marker()
    inner = f"\n{marker} 0 data\nQUxM\n".encode()
    wire = (f"\n{marker} gz z\n".encode() + base64.encodebytes(gzip.compress(inner))
            + f"\n{marker} END 1\n".encode())
    [got] = shellchan.ShellServer(_Cut(wire), marker).call([("g", ["10", "0", "0", "/e"])])
    assert got.first("data") == ([], b"ALL")
    bomb = gzip.compress(b"\n" * (3 << 20))
    wire = (f"\n{marker} gz z\n".encode() + base64.encodebytes(bomb)
            + f"\n{marker} END 1\n".encode())
    with pytest.raises(shellchan.TransportError, match="MiB"):
        shellchan.ShellServer(_Cut(wire), marker, limit=1 << 20).call(
            [("g", ["10", "0", "0", "/e"])])


def test_without_ldds_hint_the_resolver_fetches_what_it_reads() -> None:
    """ldd's list only chooses what to fetch ahead: without it (no ldd on the target) the
    facts are the same, in more round trips."""
    from tui.core.facts.collect import collect as collect_from

    server = shellchan.start_local(["busybox", "sh"])
    try:
        src = remote.RemoteSource(server, "t")
        src.want.pop(("L",))
        for _ in range(remote.MAX_ROUNDS):
            theirs = collect_from(src)
            if not src.want:
                break
            src.fetch()
        assert not src.want
    finally:
        server.close()
    assert _comparable(theirs) == _comparable(local.collect("/"))
