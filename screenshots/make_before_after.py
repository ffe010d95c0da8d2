#!/usr/bin/env python3
"""Regenerate screenshots/before-after.svg: the reset, the fix, then a login, on a real sshd.

    sudo .venv/bin/python screenshots/make_before_after.py [--out FILE]

Needs root (it runs where the integration tests run): a private mount and network
namespace with overlays on /etc and /var/lib, this machine's /usr/sbin/sshd on 127.0.0.1:22
inside it, and `sshd: 127.0.0.1` in the overlay's /etc/hosts.deny. Every line shown is what
the commands printed there; only the ssh client's lab options (-i KEY, -o
UserKnownHostsFile=...) are left out of the command lines, and the backup's timestamp is
fixed so the picture changes only when the output does. Nothing outside the namespace changes.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.helpers.mountns import MountNamespace  # noqa: E402
from tests.helpers.sshlab import SshLab  # noqa: E402

CLIENT = "127.0.0.1"


def ssh(ns: MountNamespace, lab: SshLab) -> subprocess.CompletedProcess:
    cmd = lab.ssh_cmd("echo", "logged in as", "$(id -un)")
    cmd[1:1] = ["-o", "ConnectTimeout=20"]  # libwrap waits 5 s before the reset
    return subprocess.run([*ns.prefix, *cmd], capture_output=True, text=True, timeout=40)


# Where each command runs: the operator's ssh, and the wizard's headless fix on the instance
# (through the cloud console). In the lab both are the same machine, in one namespace.
LAPTOP, CONSOLE = "you@laptop:~$ ", "[root@web1 ~]# "


def transcript(work: Path) -> list[tuple[str, str, str]]:
    """(prompt, command shown, what it printed) for the three steps."""
    (work / "ns").mkdir()
    ns = MountNamespace(work / "ns", net=True)
    try:
        ns.overlay("/etc")
        ns.overlay("/var/lib")
        ns.write("/etc/hosts.deny", b"# site policy\nsshd: 127.0.0.1\n")
        with SshLab(work / "lab", port=22, prefix=ns.prefix) as lab:
            steps = []
            for _ in range(5):  # a loaded machine may close instead of reset: see the tests
                before = ssh(ns, lab)
                if "reset by peer" in before.stderr:
                    break
            steps.append((LAPTOP, "ssh root@127.0.0.1", before.stdout + before.stderr))
            fix = ns.tool("fix", "tcp-wrappers", "--client-ip", CLIENT, "--yes",
                          env={"COLUMNS": "80"})
            if fix.returncode != 0:
                raise RuntimeError(f"fix failed: {fix.stdout}{fix.stderr}")
            steps.append((CONSOLE, f"ssh-reset-doctor fix tcp-wrappers --client-ip {CLIENT} --yes",
                           fix.stdout + fix.stderr))
            after = ssh(ns, lab)
            steps.append((LAPTOP, "ssh root@127.0.0.1", after.stdout + after.stderr))
            return steps
    finally:
        ns.close()


def normalise(text: str) -> str:
    text = re.sub(r"\d{8}T\d{6}(\.\d+)?Z?(-[0-9a-f]{6})?", "20261203T101500Z-000000",
                  text)  # change set directories: timestamp and random suffix
    text = re.sub(r"\b[0-9a-f]{12,}\b", lambda m: "0" * len(m.group()), text)  # plan/set ids
    return re.sub(r"(?m)[ \t]+$", "", text)


def render(steps: list[tuple[str, str, str]]) -> str:
    from rich.console import Console
    from rich.text import Text

    console = Console(record=True, width=80, file=open("/dev/null", "w"),  # noqa: SIM115
                      color_system="standard", force_terminal=True)
    for prompt, command, output in steps:
        console.print(Text.assemble((prompt, "bold green"), (command, "bold")))
        # A token longer than the line (a backup path) folds, as a terminal shows it.
        console.print(Text(normalise(output).rstrip("\n")), overflow="fold")
    return console.export_svg(title="before and after: the reset, the fix, a login")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "before-after.svg")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="srd-before-after-") as tmp:
        steps = transcript(Path(tmp))
    if "reset by peer" not in steps[0][2] or "logged in as root" not in steps[2][2]:
        print("the lab did not show the reset and then a login:\n"
              + "\n".join(out for _, _, out in steps), file=sys.stderr)
        return 1
    args.out.write_text(render(steps))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
