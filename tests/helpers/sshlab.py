"""A real OpenSSH server on a loopback port, for tests that connect, break and repair.

Every lab has its own ed25519 host key, its own ed25519 client key (root may log in with it)
and a DEBUG1 log, so tests can count what the server saw (sessions, jump-host forwards).
Nothing here is mocked: it is /usr/sbin/sshd, started as a daemon and killed by its pidfile.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from tests.helpers.mountns import MountNamespace, needs_integration

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"

# DEBUG1 line sshd writes for every channel a client opens ("session" = exec/shell/subsystem).
_SESSION_OPEN = re.compile(r"server_input_channel_open: ctype session\b")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the usual small race is accepted in tests)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (sshd forks one child per connection, and those fork more)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ..." - comm may contain spaces and parentheses.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie counts as dead: the daemon's parent is init, which reaps it late)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


class SshLab:
    """One sshd on `listen`:`port`, configured from files in `workdir`.

    `extra_config` lines override the lab's (Match blocks are appended); keywords sshd
    accumulates (Port, ListenAddress, HostKey) add to the lab's, and a second
    `Subsystem sftp` is an error. `prefix` runs sshd through e.g. nsenter into a namespace.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        listen: str = "127.0.0.1",
        prefix: Sequence[str] = (),
        extra_config: str = "",
        no_reexec: bool = False,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.listen = listen
        self.port = port if port is not None else free_port(listen)
        self.prefix = list(prefix)
        self.no_reexec = no_reexec
        self.host_key = self.workdir / "ssh_host_ed25519_key"
        self.client_key = self.workdir / "client_ed25519"
        self.config = self.workdir / "sshd_config"
        self.log = self.workdir / "sshd.log"
        self.pidfile = self.workdir / "sshd.pid"
        self.known_hosts = self.workdir / "known_hosts"
        self.authorized_dir = self.workdir / "authorized_keys"
        if not self.host_key.exists():
            _keygen(self.host_key, "srd-lab-host")
        if not self.client_key.exists():
            _keygen(self.client_key, "srd-lab-client")
        self.authorized_dir.mkdir(exist_ok=True)
        # root reads this file; other users get the key in ~/.ssh/authorized_keys (ensure_user),
        # because sshd reads authorized keys as the user and pytest's tmp dirs are root-only.
        (self.authorized_dir / "root").write_text(self.client_public_key() + "\n")
        self.write_known_hosts(self.known_hosts)
        # sshd takes the first value of a keyword, and a Match block runs to the end of the
        # file: extra settings go first (so they override ours), extra Match blocks last.
        m = re.search(r"(?im)^\s*match\s", extra_config)
        extra_head = extra_config[: m.start()] if m else extra_config
        extra_tail = extra_config[m.start() :] if m else ""
        self.config.write_text(
            f"{extra_head}\n"
            f"Port {self.port}\n"
            f"ListenAddress {listen}\n"
            f"HostKey {self.host_key}\n"
            f"AuthorizedKeysFile {self.authorized_dir}/%u .ssh/authorized_keys\n"
            f"PidFile {self.pidfile}\n"
            "StrictModes no\n"
            "UsePAM no\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "LogLevel DEBUG1\n"
            f"Subsystem sftp {SFTP_SERVER}\n"
            f"{extra_tail}\n"
        )
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)  # privsep dir

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        needs_integration("a lab sshd")
        if not Path(SSHD).exists():
            raise RuntimeError(f"{SSHD} is missing: install openssh-server (tests/run.sh does)")
        self.pidfile.unlink(missing_ok=True)
        cmd = [*self.prefix, SSHD, "-f", str(self.config), "-E", str(self.log)]
        if self.no_reexec:
            cmd.append("-r")
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise RuntimeError(
                f"sshd failed to start (rc {proc.returncode}): {proc.stderr.strip()} "
                f"{self.log_text()[-2000:]}"
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pid = self.pid()
            if pid is not None and self._listening(pid):
                return
            time.sleep(0.02)
        raise RuntimeError(f"sshd did not listen on {self.listen}:{self.port}: {self.log_text()}")

    def _listening(self, pid: int) -> bool:
        """A LISTEN socket on our port in sshd's own network namespace.

        Read from /proc/PID/net (works whatever namespace `prefix` entered) instead of a
        test connection, which would leave "Connection reset by ..." lines in the log.
        """
        for table in ("tcp", "tcp6"):
            try:
                lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                local, state = fields[1], fields[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == self.port:
                    return True
        return False

    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Kill the listener (by pidfile) and the per-connection children it forked."""
        pid = self.pid()
        if pid is None:
            return
        children = _descendants(pid)
        for target, sig in [(pid, signal.SIGTERM), *((c, signal.SIGKILL) for c in children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.02)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pidfile.unlink(missing_ok=True)

    def __enter__(self) -> SshLab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- keys --------------------------------------------------------------------------------

    def host_public_key(self) -> str:
        """ "ssh-ed25519 AAAA..." of the host key (no comment)."""
        return " ".join(Path(f"{self.host_key}.pub").read_text().split()[:2])

    def client_public_key(self) -> str:
        return " ".join(Path(f"{self.client_key}.pub").read_text().split()[:2])

    def host_key_line(self) -> str:
        name = self.listen if self.port == 22 else f"[{self.listen}]:{self.port}"
        return f"{name} {self.host_public_key()}"

    def write_known_hosts(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.host_key_line() + "\n")
        return path

    # -- log ---------------------------------------------------------------------------------

    def log_text(self, since: int = 0) -> str:
        try:
            with open(self.log, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_offset(self) -> int:
        """Current end of the log: pass it as `since` to look only at what happens next."""
        try:
            return self.log.stat().st_size
        except FileNotFoundError:
            return 0

    def session_channels(self, since: int = 0) -> int:
        return len(_SESSION_OPEN.findall(self.log_text(since)))

    def wait_log(self, pattern: str, since: int = 0, timeout: float = 5.0) -> re.Match[str]:
        """sshd children write their log lines a little after the client sees the effect."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_text(since))
            if m or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if m is None:
            raise AssertionError(f"{pattern!r} not in sshd log: {self.log_text(since)[-3000:]}")
        return m

    # -- clients -----------------------------------------------------------------------------

    def ssh_cmd(self, *args: str, user: str = "root", bind: str | None = None) -> list[str]:
        cmd = [
            "ssh",
            "-F", "/dev/null",
            "-p", str(self.port),
            "-i", str(self.client_key),
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "ConnectTimeout=5",
        ]  # fmt: skip
        if bind is not None:
            cmd += ["-b", bind]
        return [*cmd, f"{user}@{self.listen}", *args]


# Where a lab user's account lives: every write of useradd, chpasswd, the sudoers rule, the
# home directory and sudo's own state (lecture and timestamp files) lands in an overlay.
USER_OVERLAYS = ("/etc", "/home", "/var/lib", "/var/mail", "/run")


def ensure_user(
    ns: MountNamespace,
    name: str,
    password: str,
    sudo: Literal["nopasswd", "password", "none"],
    *,
    pubkey: str | None = None,
) -> str:
    """Create (or update) user `name` with `password` and the given sudo rights, inside the
    private mount namespace `ns` only.

    The account exists only for what runs in `ns` (start the lab's sshd with
    `prefix=ns.prefix`): /etc (passwd, shadow, group, sudoers.d), /home and the rest of
    USER_OVERLAYS are overlaid first, so the machine's own files are never written and
    nothing needs undoing. `pubkey` ("ssh-ed25519 AAAA...", e.g.
    SshLab.client_public_key()) is added to the user's ~/.ssh/authorized_keys, which every
    SshLab reads for non-root users. Returns the home directory (a path inside `ns`).
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,30}", name):
        raise ValueError(f"bad user name {name!r}")
    ns.overlaid(*USER_OVERLAYS)
    # -l: no lastlog/faillog entries; -m: the home directory (in the /home overlay).
    ns.sh(f"getent passwd {name} >/dev/null || useradd -l -m -s /bin/sh {name}")
    # chpasswd also unlocks the account: sshd (UsePAM no) refuses locked accounts even for keys.
    ns_run(ns, ["chpasswd"], f"{name}:{password}\n")
    home = ns.sh(f"getent passwd {name}").stdout.decode().strip().split(":")[5]

    if sudo == "none":
        ns.sh(f"rm -f /etc/sudoers.d/{name}")
    else:
        rule = "NOPASSWD: ALL" if sudo == "nopasswd" else "ALL"
        tmp = f"/etc/sudoers.d/.{name}.tmp"  # dotted names are ignored by @includedir
        ns.write(tmp, f"{name} ALL=(ALL:ALL) {rule}\n".encode())
        check = ns.sh(f"chmod 0440 {tmp} && visudo -cf {tmp}", check=False)
        if check.returncode != 0:
            ns.sh(f"rm -f {tmp}")
            out = (check.stdout + check.stderr).decode(errors="replace")
            raise RuntimeError(f"visudo rejected the rule for {name}: {out}")
        ns.sh(f"mv -f {tmp} /etc/sudoers.d/{name}")

    if pubkey is not None:
        script = ('d="$1/.ssh"; mkdir -p -m 0700 "$d"; a="$d/authorized_keys"; touch "$a"; '
                  'read -r key; grep -qxF "$key" "$a" || printf "%s\\n" "$key" >> "$a"; '
                  'chmod 0600 "$a"; chown -R "$2:" "$d"')
        ns_run(ns, ["sh", "-ec", script, "sh", home, name], pubkey.strip() + "\n")
    return home


def ns_run(ns: MountNamespace, argv: Sequence[str], stdin: str) -> None:
    """`argv` inside `ns` with `stdin`; its error output in the exception if it fails."""
    r = subprocess.run([*ns.prefix, *argv], input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed in the namespace: {r.stderr.strip()}")
