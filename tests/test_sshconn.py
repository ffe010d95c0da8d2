"""SSHConnection and SftpOps against a real sshd on 127.0.0.1 (tests/helpers/sshlab.py): no
mocks."""

from __future__ import annotations

import errno
import logging
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.mountns import MountNamespace
from tests.helpers.sshlab import SshLab, ensure_user, free_port
from tui.core.targets.base import TargetError
from tui.core.targets.hostspec import HostSpec, parse_host, split_host
from tui.core.targets.ssh.connection import SSHConnection
from tui.core.targets.ssh.knownhosts import HostKeyMismatch, UnknownHostKey, add_known_host
from tui.core.targets.ssh.options import ConnectOptions

PW_USER, PW = "srd-pw", "Tr0ub4dor&3-srd"  # test-only account with password sudo
NOPW_USER = "srd-nopw"  # test-only account with NOPASSWD sudo
# Every test but the parsing ones talks to a real sshd or socket on 127.0.0.1: the
# integration tier.


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshLab]:
    """root plus the two sudo users, who exist only in the lab sshd's mount namespace."""
    ns = MountNamespace(tmp_path_factory.mktemp("userns"))
    try:
        with SshLab(tmp_path_factory.mktemp("lab"), prefix=ns.prefix) as lab:
            key = lab.client_public_key()
            ensure_user(ns, NOPW_USER, "nopw-Unused-1", "nopasswd", pubkey=key)
            ensure_user(ns, PW_USER, PW, "password", pubkey=key)
            yield lab
    finally:
        ns.close()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real ~/.ssh (keys, config, known_hosts) and no agent may influence a test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


def options(lab: SshLab, user: str = "root", **kw: object) -> ConnectOptions:
    base: dict[str, object] = {
        "identities": [str(lab.client_key)],
        "ssh_config": None,
        "known_hosts": [str(lab.known_hosts)],
        "timeout": 5.0,
    }
    base.update(kw)
    return ConnectOptions(parse_host(f"{user}@127.0.0.1:{lab.port}"), **base)  # type: ignore[arg-type]


def wait_sessions(lab: SshLab, since: int, expected: int) -> int:
    """sshd's children log a little after the client got its answer: poll briefly."""
    deadline = time.monotonic() + 5
    while (n := lab.session_channels(since)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return n


def expect_error(fn: Callable[[], object], exc: type[Exception] = TargetError) -> tuple[str, float]:
    start = time.monotonic()
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg, msg
    return msg, time.monotonic() - start


# -- parse_host --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("host", HostSpec(None, "host", None)),
        ("alice@host.example.com", HostSpec("alice", "host.example.com", None)),
        ("bob@10.0.0.1:2222", HostSpec("bob", "10.0.0.1", 2222)),
        ("[::1]:2222", HostSpec(None, "::1", 2222)),
        ("user@[2001:db8::1]", HostSpec("user", "2001:db8::1", None)),
        ("::1", HostSpec(None, "::1", None)),
        ("john@corp.example@bastion", HostSpec("john@corp.example", "bastion", None)),
        ("h:65535", HostSpec(None, "h", 65535)),
        ("my_host-1:1", HostSpec(None, "my_host-1", 1)),
        ("[bastion]:2200", HostSpec(None, "bastion", 2200)),
        ("u@[fe80::1%eth0]:22", HostSpec("u", "fe80::1%eth0", 22)),
    ],
)
def test_parse_host(text: str, spec: HostSpec) -> None:
    assert parse_host(text) == spec


@pytest.mark.parametrize(
    "text",
    [
        "", "@host", "user@", ":22", "host:0", "host:65536", "host:x", "host:", "a b",
        " host", "host;rm", "us$er@host", "u`id`@h", "-oProxyCommand=x", "[::1", "[::1]x",
        "[ho st]:22", "ho|st", "user@h:22:33x", "[-oFoo]:22", "host.-x;",
    ],
)  # fmt: skip
def test_parse_host_rejects(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_host(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text, want",
    [
        ("host", ("host", 2200)), ("u@h:2222", ("h", 2222)), ("[::1]:23", ("::1", 23)),
        ("[::1]", ("::1", 2200)), ("::1", ("::1", 2200)), ("10.0.0.1", ("10.0.0.1", 2200)),
        # still being typed, or not valid: split anyway, the caller validates
        ("a b:22", ("a b", 22)), ("host:", ("host:", 2200)), ("[::1]:x", ("::1", 2200)),
    ],
)  # fmt: skip
def test_split_host_is_lenient(text: str, want: tuple[str, int]) -> None:
    assert split_host(text, 2200) == want


def test_host_parsing_needs_no_paramiko() -> None:
    code = ("import sys, tui.core.targets.hostspec, tui.core.targets.ssh; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('paramiko', 'textual')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       cwd=Path(__file__).resolve().parent.parent)
    assert r.stdout.strip() == "[]"


# -- connect, host keys, config ----------------------------------------------------------------


@pytest.mark.integration
def test_connect_and_run(lab: SshLab) -> None:
    since = lab.log_offset()
    with SSHConnection.connect(options(lab)) as conn:
        assert conn.label == f"root@127.0.0.1:{lab.port}"
        res = conn.run("echo out; echo err >&2; exit 3")
        assert (res.rc, res.stdout, res.stderr) == (3, b"out\n", b"err\n")
        res = conn.run("cat; echo done", stdin=b"line 1\nline 2 \x00\xff")
        assert res.stdout == b"line 1\nline 2 \x00\xff" + b"done\n"
        # 5 MB out and 3 MB in at once: stdout/stderr/stdin must all keep flowing.
        res = conn.run("cat >/dev/null & head -c 5000000 /dev/zero; wait", stdin=b"y" * 3_000_000)
        assert (res.rc, len(res.stdout)) == (0, 5_000_000)
        res = conn.run("head -c 3000000 /dev/zero >&2; head -c 2000000 /dev/zero")
        assert (len(res.stdout), len(res.stderr)) == (2_000_000, 3_000_000)
        msg, took = expect_error(lambda: conn.run("sleep 30", timeout=1))
        assert "timed out after 1 s" in msg and "sleep 30" in msg
        assert took < 3
        assert conn.run("echo still usable").stdout == b"still usable\n"
        opened = conn.channels_opened
    assert opened == 6
    assert wait_sessions(lab, since, opened) == opened


@pytest.mark.integration
def test_lab_fixture_with_openssh_client(lab: SshLab) -> None:
    since = lab.log_offset()
    res = subprocess.run(lab.ssh_cmd("echo", "ok"), capture_output=True, text=True, timeout=20)
    assert (res.returncode, res.stdout) == (0, "ok\n"), res.stderr
    assert wait_sessions(lab, since, 1) == 1


@pytest.mark.integration
def test_unknown_host_key_then_accept(lab: SshLab, tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(UnknownHostKey) as info:
        SSHConnection.connect(options(lab, known_hosts=[str(empty), str(tmp_path / "missing")]))
    e = info.value
    keygen = subprocess.run(
        ["ssh-keygen", "-lf", f"{lab.host_key}.pub"], capture_output=True, text=True, check=True
    )
    assert e.fingerprint == keygen.stdout.split()[1]
    assert (e.hostname, e.port, e.key_type) == ("127.0.0.1", lab.port, "ssh-ed25519")
    msg = str(e)
    assert e.fingerprint in msg and f"ssh-keyscan -t ed25519 -p {lab.port} 127.0.0.1" in msg
    assert "\n" not in msg

    kh = tmp_path / "newdir" / "known_hosts"
    add_known_host(str(kh), e.hostname, e.port, e.key)
    add_known_host(str(kh), e.hostname, e.port, e.key)  # idempotent
    assert kh.read_text() == lab.host_key_line() + "\n"
    assert stat.S_IMODE(kh.stat().st_mode) == 0o600
    assert stat.S_IMODE(kh.parent.stat().st_mode) == 0o700
    with SSHConnection.connect(options(lab, known_hosts=[str(kh)])) as conn:
        assert conn.run("true").rc == 0


@pytest.mark.integration
def test_host_key_mismatch(lab: SshLab, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    blob = " ".join(Path(f"{other}.pub").read_text().split()[:2])
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{lab.port} {blob}\n")
    msg, _ = expect_error(
        lambda: SSHConnection.connect(options(lab, known_hosts=[str(kh)])), HostKeyMismatch
    )
    assert "man-in-the-middle" in msg and "ssh-keygen -R" in msg
    # The real key is never written over the recorded one.
    with pytest.raises(UnknownHostKey) as info:
        SSHConnection.connect(options(lab, known_hosts=[str(tmp_path / "none")]))
    before = kh.read_text()
    with pytest.raises(HostKeyMismatch):
        add_known_host(str(kh), "127.0.0.1", lab.port, info.value.key)
    assert kh.read_text() == before


@pytest.mark.integration
def test_ssh_config_alias(lab: SshLab, tmp_path: Path, isolated_home: Path) -> None:
    # IdentityFile with ~ and UserKnownHostsFile from the config; explicit CLI values win.
    (isolated_home / ".ssh").mkdir()
    key = isolated_home / ".ssh" / "labkey"
    key.write_bytes(lab.client_key.read_bytes())
    key.chmod(0o600)
    kh = lab.write_known_hosts(tmp_path / "cfg_known_hosts")
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        "Host labalias\n"
        "    HostName 127.0.0.1\n"
        f"    Port {lab.port}\n"
        "    User root\n"
        "    IdentityFile ~/.ssh/labkey\n"
        f"    UserKnownHostsFile {kh}\n"
    )
    with SSHConnection.connect(ConnectOptions(parse_host("labalias"), ssh_config=str(cfg))) as c:
        assert c.label == f"root@127.0.0.1:{lab.port}"
        assert c.run("id -un").stdout == b"root\n"
    with SSHConnection.connect(
        ConnectOptions(parse_host(f"{NOPW_USER}@labalias"), ssh_config=str(cfg))
    ) as c:
        assert c.label == f"{NOPW_USER}@127.0.0.1:{lab.port}"
        assert c.run("id -un").stdout == f"{NOPW_USER}\n".encode()
    # An explicit known_hosts list beats the config's UserKnownHostsFile.
    with pytest.raises(UnknownHostKey):
        SSHConnection.connect(
            ConnectOptions(
                parse_host("labalias"), ssh_config=str(cfg), known_hosts=[str(tmp_path / "no")]
            )
        )


def _my_tcp_peer_ports() -> set[int]:
    """Remote ports of every TCP socket this process holds (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.integration
def test_jump_host(lab: SshLab, tmp_path: Path) -> None:
    with SshLab(tmp_path / "jumplab") as jump:
        kh = tmp_path / "known_hosts"
        kh.write_text(lab.host_key_line() + "\n" + jump.host_key_line() + "\n")
        since_t, since_j = lab.log_offset(), jump.log_offset()
        keys = [str(lab.client_key), str(jump.client_key)]  # -i keys are offered to every hop
        opts = options(
            lab, known_hosts=[str(kh)], identities=keys, jump=f"root@127.0.0.1:{jump.port}"
        )
        with SSHConnection.connect(opts) as conn:
            peers = _my_tcp_peer_ports()
            assert jump.port in peers and lab.port not in peers  # we never touch the target
            client = conn.run("echo $SSH_CONNECTION").stdout.split()
            assert int(client[3]) == lab.port
            assert conn.run("true").rc == 0
            opened = conn.channels_opened
        assert opened == 2
        jump.wait_log(
            rf"direct_tcpip: originator .* target 127\.0\.0\.1 port {lab.port}\b", since_j
        )
        lab.wait_log(rf"Connection from 127\.0\.0\.1 port {int(client[1])} ", since_t)
        assert wait_sessions(lab, since_t, opened) == opened
        assert jump.session_channels(since_j) == 0  # only the tunnel, no session on the jump

        # The same through the config's ProxyJump (an alias with its own config lookup).
        cfg = tmp_path / "ssh_config"
        cfg.write_text(
            f"Host target\n  HostName 127.0.0.1\n  Port {lab.port}\n  ProxyJump hop\n"
            f"Host hop\n  HostName 127.0.0.1\n  Port {jump.port}\n  User root\n"
            f"  IdentityFile {jump.client_key}\n"
            f"Host *\n  IdentityFile {lab.client_key}\n  UserKnownHostsFile {kh}\n"
        )
        since_j = jump.log_offset()
        with SSHConnection.connect(
            ConnectOptions(parse_host("root@target"), ssh_config=str(cfg))
        ) as conn:
            assert conn.run("echo via").stdout == b"via\n"
        jump.wait_log(
            rf"direct_tcpip: originator .* target 127\.0\.0\.1 port {lab.port}\b", since_j
        )

        # Jump host errors are named as such.
        msg, _ = expect_error(
            lambda: SSHConnection.connect(
                options(lab, known_hosts=[str(lab.known_hosts)], jump=f"127.0.0.1:{jump.port}")
            ),
            UnknownHostKey,
        )
        assert msg.startswith(f"host key of jump host 127.0.0.1:{jump.port} is not known")
        closed = free_port()
        msg, _ = expect_error(
            lambda: SSHConnection.connect(options(lab, jump=f"root@127.0.0.1:{closed}"))
        )
        assert msg.startswith("jump host 127.0.0.1:") and "refused" in msg
        msg, _ = expect_error(
            lambda: SSHConnection.connect(
                ConnectOptions(
                    parse_host(f"root@127.0.0.1:{closed}"),
                    ssh_config=str(cfg),
                    known_hosts=[str(kh)],
                    jump="hop",
                )
            )
        )
        assert msg.startswith(f"jump host root@127.0.0.1:{jump.port} could not connect to")


# -- connection failures -----------------------------------------------------------------------


@pytest.mark.integration
def test_refused_and_unresolvable(lab: SshLab) -> None:
    port = free_port()
    msg, _ = expect_error(
        lambda: SSHConnection.connect(ConnectOptions(parse_host(f"127.0.0.1:{port}")))
    )
    assert f"127.0.0.1:{port} refused the connection" in msg
    msg, _ = expect_error(
        lambda: SSHConnection.connect(ConnectOptions(parse_host("no-such-host.invalid")))
    )
    assert msg.startswith("cannot resolve host 'no-such-host.invalid'")


@pytest.mark.integration
def test_auth_failed(lab: SshLab, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    msg, _ = expect_error(
        lambda: SSHConnection.connect(options(lab, user=PW_USER, identities=[str(stranger)]))
    )
    assert msg.startswith(f"authentication failed for {PW_USER}@127.0.0.1:{lab.port}")
    assert str(stranger) in msg
    msg, _ = expect_error(
        lambda: SSHConnection.connect(options(lab, identities=[str(tmp_path / "nokey")]))
    )
    assert "identity file" in msg and "not found" in msg


def _serve(handler: Callable[[socket.socket], None]) -> tuple[int, socket.socket]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def loop() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            handler(conn)

    threading.Thread(target=loop, daemon=True).start()
    return srv.getsockname()[1], srv


@pytest.mark.integration
def test_reset_before_banner() -> None:
    def rst(conn: socket.socket) -> None:  # what a tcp_wrappers / iptables REJECT-like kill looks
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    for handler in (rst, socket.socket.close):
        port, srv = _serve(handler)
        try:
            msg, took = expect_error(
                lambda p=port: SSHConnection.connect(  # type: ignore[misc]
                    ConnectOptions(parse_host(f"127.0.0.1:{p}"), ssh_config=None, timeout=3)
                )
            )
        finally:
            srv.close()
        assert msg.startswith(f"127.0.0.1:{port} reset the connection before the SSH banner")
        assert "-J jump host" in msg and "VNC console" in msg
        assert took < 2


@pytest.mark.integration
def test_banner_timeout() -> None:
    held: list[socket.socket] = []
    port, srv = _serve(held.append)  # accepts, then says nothing
    try:
        msg, took = expect_error(
            lambda: SSHConnection.connect(
                ConnectOptions(parse_host(f"127.0.0.1:{port}"), ssh_config=None, timeout=1)
            )
        )
    finally:
        srv.close()
        for s in held:
            s.close()
    assert msg.startswith(f"127.0.0.1:{port} accepted TCP but sent no SSH banner within 1 s")
    assert 0.9 < took < 3


@pytest.mark.integration
def test_connect_timeout() -> None:
    # A listener whose accept queue is full drops new SYNs: the client sees a DROP firewall.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    filler: list[socket.socket] = []
    try:
        for _ in range(16):
            s = socket.socket()
            s.settimeout(0.3)
            try:
                s.connect(("127.0.0.1", port))
            except TimeoutError:
                s.close()
                break
            filler.append(s)
        else:
            pytest.fail("accept queue never filled")
        msg, took = expect_error(
            lambda: SSHConnection.connect(
                ConnectOptions(parse_host(f"127.0.0.1:{port}"), ssh_config=None, timeout=1)
            )
        )
    finally:
        srv.close()
        for s in filler:
            s.close()
    assert msg.startswith(f"connecting to 127.0.0.1:{port} timed out after 1 s")
    assert "DROP" in msg and 0.9 < took < 3


# -- sudo --------------------------------------------------------------------------------------

TRICKY = "printf '%s|' \"it's\" '$HOME' \"a\\\"b\" '`id`'\necho \"second line $((1+1))\""


@pytest.mark.integration
def test_sudo_nopasswd_and_quoting(lab: SshLab) -> None:
    since = lab.log_offset()
    with SSHConnection.connect(options(lab, user=NOPW_USER, sudo=True)) as conn:
        assert conn.run("id -u").stdout == b"0\n"
        assert conn.run("id -u", sudo=False).stdout != b"0\n"
        res = conn.run(TRICKY)
        assert res.stdout == b"it's|$HOME|a\"b|`id`|second line 2\n", res
        parent = conn.run("tr '\\0' ' ' </proc/$PPID/cmdline").stdout.decode()
        assert parent.startswith("sudo -n -- sh -c "), parent
        assert conn.run("cat; id -u", stdin=b"through sudo\n").stdout == b"through sudo\n0\n"
        opened = conn.channels_opened
    assert opened == 5
    assert wait_sessions(lab, since, opened) == opened
    # As root, sudo is skipped altogether.
    with SSHConnection.connect(options(lab, sudo=True)) as conn:
        assert conn.run('echo "[$SUDO_USER]"; ' + TRICKY).stdout.startswith(b"[]\nit's|")


@pytest.mark.integration
def test_sudo_password(lab: SshLab, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # paramiko's and ours: the password must be in none of it
    since = lab.log_offset()
    prompts: list[str] = []

    def provider(prompt: str) -> str:
        prompts.append(prompt)
        return PW

    texts: list[str] = []
    with SSHConnection.connect(
        options(lab, user=PW_USER, sudo=True, password_provider=provider)
    ) as c:
        res = c.run("id -u; cat", stdin=b"data after the password\n")
        assert res.stdout == b"0\ndata after the password\n" and res.stderr == b""
        parent = c.run("tr '\\0' ' ' </proc/$PPID/cmdline").stdout.decode()
        assert parent.startswith("sudo -k -S -p  -- sh -c ") and PW not in parent
        assert c.run(TRICKY).stdout == b"it's|$HOME|a\"b|`id`|second line 2\n"
        with c.open_fileops() as ops:
            assert ops.lstat("/root").uid == 0 and ops.listdir("/root") is not None
        msg, _ = expect_error(lambda: c.run("sleep 5", timeout=0.5))
        texts.append(msg)
        opened = c.channels_opened
    assert prompts == [f"[sudo] password for {PW_USER}@127.0.0.1:{lab.port}: "]
    assert wait_sessions(lab, since, opened) == opened

    # Wrong password: one clear line, the attempt's text nowhere.
    wrong = "not-the-Password-42"
    with SSHConnection.connect(
        options(lab, user=PW_USER, sudo=True, password_provider=lambda _p: wrong)
    ) as c:
        msg, _ = expect_error(lambda: c.run("id -u"))
        assert msg == f"sudo: wrong password for {PW_USER}@127.0.0.1:{lab.port}"
        texts.append(msg)
    # No way to ask, or the user declined.
    for provider_ in (None, lambda _p: None):
        with SSHConnection.connect(
            options(lab, user=PW_USER, sudo=True, password_provider=provider_)
        ) as c:
            msg, _ = expect_error(lambda: c.run("id -u"))  # noqa: B023
            assert "password" in msg
            texts.append(msg)
    logged = caplog.text + lab.log_text(since)
    for secret in (PW, wrong):
        assert secret not in logged and not any(secret in t for t in texts)


# -- file operations ---------------------------------------------------------------------------


def _roundtrip(ops: object, base: str) -> None:
    from tui.core.targets.sftpops import SftpOps

    assert isinstance(ops, SftpOps)
    ops.makedirs(f"{base}/a/b", 0o750)
    ops.makedirs(f"{base}/a/b", 0o750)  # exists: fine
    assert stat.S_IMODE(ops.lstat(f"{base}/a/b").mode) == 0o750
    assert stat.S_ISDIR(ops.lstat(f"{base}/a").mode)
    ops.create_exclusive(f"{base}/a/f", b"old\n", 0o644)
    ops.create_exclusive(f"{base}/a/f.tmp", b"hello\n", 0o640)
    st = ops.lstat(f"{base}/a/f.tmp")
    assert (stat.S_IMODE(st.mode), st.size, stat.S_ISREG(st.mode)) == (0o640, 6, True)
    with pytest.raises(FileExistsError):
        ops.create_exclusive(f"{base}/a/f", b"x", 0o600)
    assert ops.read_bytes(f"{base}/a/f") == b"old\n"
    with pytest.raises(OSError) as info:
        ops.read_bytes(f"{base}/a/f", limit=3)
    assert info.value.errno == errno.EFBIG
    big = os.urandom(300_000)  # several SFTP reads (prefetched)
    ops.create_exclusive(f"{base}/a/big", big, 0o600)
    assert ops.read_bytes(f"{base}/a/big") == big
    ops.unlink(f"{base}/a/big")
    ops.rename(f"{base}/a/f.tmp", f"{base}/a/f")  # atomic replace of an existing file
    assert ops.read_bytes(f"{base}/a/f") == b"hello\n"
    with pytest.raises(FileNotFoundError):
        ops.lstat(f"{base}/a/f.tmp")
    ops.symlink("f", f"{base}/a/link")
    assert ops.readlink(f"{base}/a/link") == "f"
    assert stat.S_ISLNK(ops.lstat(f"{base}/a/link").mode)
    with pytest.raises(OSError) as info:
        ops.readlink(f"{base}/a/f")
    assert info.value.errno == errno.EINVAL
    with pytest.raises(FileExistsError):
        ops.symlink("f", f"{base}/a/link")
    ops.chmod(f"{base}/a/f", 0o600)
    ops.chown(f"{base}/a/f", 1234, 4321)
    st = ops.lstat(f"{base}/a/f")
    assert (stat.S_IMODE(st.mode), st.uid, st.gid) == (0o600, 1234, 4321)
    ops.chown(f"{base}/a/f", 0, 0)
    assert sorted(ops.listdir(f"{base}/a")) == ["b", "f", "link"]
    ops.overwrite(f"{base}/a/f", b"new")
    assert ops.read_bytes(f"{base}/a/f") == b"new"
    with pytest.raises(FileNotFoundError):
        ops.overwrite(f"{base}/a/missing", b"x")
    with pytest.raises(IsADirectoryError):
        ops.rename(f"{base}/a/f", f"{base}/a/b")
    with pytest.raises(IsADirectoryError):
        ops.unlink(f"{base}/a/b")
    with pytest.raises(FileExistsError):
        ops.makedirs(f"{base}/a/f/sub")
    ops.unlink(f"{base}/a/link")
    with pytest.raises(FileNotFoundError):
        ops.unlink(f"{base}/a/link")
    with pytest.raises(FileNotFoundError):
        ops.read_bytes(f"{base}/nope")
    with pytest.raises(FileNotFoundError):
        ops.create_exclusive(f"{base}/nodir/f", b"x", 0o600)
    ops.sync([f"{base}/a"])


@pytest.mark.integration
def test_fileops_as_root(lab: SshLab, tmp_path: Path) -> None:
    since = lab.log_offset()
    with SSHConnection.connect(options(lab)) as conn:
        with conn.open_fileops() as ops:
            _roundtrip(ops, str(tmp_path))
        opened = conn.channels_opened
    assert opened == 2  # the SFTP session + the one sync
    assert wait_sessions(lab, since, opened) == opened
    assert (tmp_path / "a" / "f").read_bytes() == b"new"


@pytest.mark.integration
def test_fileops_via_sudo_sftp_server(lab: SshLab, tmp_path: Path) -> None:
    private = tmp_path / "root-only"
    private.mkdir(mode=0o700)
    with (
        SSHConnection.connect(options(lab, user=NOPW_USER)) as conn,
        conn.open_fileops() as ops,
        pytest.raises(PermissionError),  # without sudo, SFTP runs as the user
    ):
        ops.create_exclusive(f"{private}/x", b"x", 0o600)
    since = lab.log_offset()
    with SSHConnection.connect(options(lab, user=NOPW_USER, sudo=True)) as conn:
        with conn.open_fileops("/usr/lib/openssh/sftp-server") as ops:
            _roundtrip(ops, str(private))
        with conn.open_fileops() as ops:  # default: the usual sftp-server paths are tried
            ops.create_exclusive(f"{private}/by-root", b"root\n", 0o600)
        msg, _ = expect_error(lambda: conn.open_fileops("/nonexistent/sftp-server"))
        assert "no sftp-server" in msg
        opened = conn.channels_opened
    assert wait_sessions(lab, since, opened) == opened
    st = (private / "by-root").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600)
    assert (private / "a" / "f").stat().st_uid == 0


@pytest.mark.integration
def test_errno_behind_sftp_failure(tmp_path: Path) -> None:
    """SFTP says only "Failure" for EBUSY/EROFS/EXDEV: the real errno is worked out."""
    from tests.helpers.mountns import MountNamespace

    (tmp_path / "ns").mkdir()
    ns = MountNamespace(tmp_path / "ns")
    try:
        work = tmp_path / "w"
        (work / "ro").mkdir(parents=True)
        (work / "other").mkdir()
        (work / "bound").write_bytes(b"bind-mounted\n")
        (work / "src").write_bytes(b"over it\n")
        ns.sh(f"mount --bind {work}/src {work}/bound")  # like Docker's /etc/hosts
        ns.sh(f"mount -t tmpfs -o ro tmpfs {work}/ro && mount -t tmpfs tmpfs {work}/other")
        with (
            SshLab(tmp_path / "lab", prefix=ns.prefix) as lab,
            SSHConnection.connect(options(lab)) as conn,
            conn.open_fileops() as ops,
        ):
            ops.create_exclusive(f"{work}/new", b"x", 0o600)
            ops.create_exclusive(f"{work}/other/f", b"x", 0o600)
            cases: list[tuple[Callable[[], object], int]] = [
                (lambda: ops.rename(f"{work}/new", f"{work}/bound"), errno.EBUSY),
                (lambda: ops.unlink(f"{work}/bound"), errno.EBUSY),
                (lambda: ops.create_exclusive(f"{work}/ro/f", b"x", 0o600), errno.EROFS),
                (lambda: ops.makedirs(f"{work}/ro/d"), errno.EROFS),
                (lambda: ops.rename(f"{work}/other/f", f"{work}/moved"), errno.EXDEV),
            ]
            for action, code in cases:
                with pytest.raises(OSError) as info:
                    action()
                assert info.value.errno == code, (errno.errorcode[code], info.value)
            ops.overwrite(f"{work}/bound", b"in place\n")  # what a caller does on EBUSY
            assert ns.read(f"{work}/bound") == b"in place\n"
    finally:
        ns.close()
