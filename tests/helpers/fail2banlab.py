"""A real fail2ban-server inside a test's mount namespace.

It runs on the namespace's own /etc/fail2ban (the `ns` fixture overlays /etc and /var/lib, so
jail.local, hosts.deny and the ban database at /var/lib/fail2ban/fail2ban.sqlite3 are private
to the test), with its socket, pidfile and log in the test's temporary directory. The socket
is set in the namespace's fail2ban.local, so a plain `fail2ban-client` there (the one
ssh-reset-doctor runs) finds this server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.helpers.mountns import MountNamespace

F2B_SERVER = "/usr/bin/fail2ban-server"
F2B_CLIENT = "/usr/bin/fail2ban-client"


def require_fail2ban() -> None:
    """Fail (not skip) with the package to install: CI must have it."""
    for exe in (F2B_SERVER, F2B_CLIENT):
        if not Path(exe).exists() or shutil.which("fail2ban-client") is None:
            raise RuntimeError(f"{exe} not found: install the Debian package fail2ban "
                               "(apt-get install -y fail2ban; tests/run.sh does)")


class Fail2banLab:
    """fail2ban-server in the foreground in `ns`; `jail_local` becomes /etc/fail2ban/jail.local.

    ignoreself must be false for bans of 127.0.0.1 read from a log (fail2ban ignores its own
    addresses by default); `banip` bans whatever it is given.
    """

    def __init__(self, ns: MountNamespace, workdir: Path, jail_local: str) -> None:
        require_fail2ban()
        self.ns = ns
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket = self.workdir / "fail2ban.sock"
        self.pidfile = self.workdir / "fail2ban.pid"
        self.log = self.workdir / "fail2ban.log"
        self.jail_local = jail_local
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15) -> None:
        self.ns.write("/etc/fail2ban/fail2ban.local", (
            "[DEFAULT]\n"
            f"socket = {self.socket}\n"
            f"pidfile = {self.pidfile}\n"
            f"logtarget = {self.log}\n"
            "loglevel = INFO\n").encode())
        self.ns.write("/etc/fail2ban/jail.local", self.jail_local.encode())
        out = open(self.workdir / "server.out", "ab")  # noqa: SIM115 - kept for the process
        self.proc = subprocess.Popen(
            [*self.ns.prefix, F2B_SERVER, "-f", "-x"], stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.client("ping", check=False).returncode == 0:
                return
            time.sleep(0.05)
        text = (self.workdir / "server.out").read_text(errors="replace")
        self.stop()
        raise RuntimeError(f"fail2ban-server did not start: {text[-2000:]} {self.log_text()}")

    def client(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([*self.ns.prefix, F2B_CLIENT, *args], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise RuntimeError(f"fail2ban-client {' '.join(args)}: rc {r.returncode} "
                               f"{r.stdout}{r.stderr}")
        return r

    def ban(self, jail: str, *ips: str) -> None:
        self.client("set", jail, "banip", *ips)

    def unban(self, jail: str, *ips: str) -> None:
        self.client("set", jail, "unbanip", *ips)

    def banned(self) -> str:
        return self.client("banned").stdout

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """`fail2ban-client stop` (its actions unban), then make sure the process is gone."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.client("stop", check=False)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # nsenter execs fail2ban-server: this pid is the server
                self.proc.wait(5)
        with contextlib.suppress(OSError, ValueError):  # a server that daemonized anyway
            pid = int(self.pidfile.read_text().split()[0])
            if pid != self.proc.pid and b"fail2ban-server" in Path(
                    f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
        self.proc = None

    def __enter__(self) -> Fail2banLab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
