"""A process the fault tests kill: it applies (or undoes) one fixed plan on a root when told.

    python -m tests.helpers.fault_driver {apply,undo} ROOT

It sets everything up, prints READY, and waits for a line on stdin before it starts, so a
tracer (strace -p) can attach first and count only the system calls of the change itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tui.core.changes.apply import ChangeError, apply_plan
from tui.core.changes.plan import FileEdit, Plan, Symlink
from tui.core.changes.undo import undo
from tui.core.targets.localops import LocalOps

LIB = "/usr/lib/x86_64-linux-gnu"
ALLOW = b"# /etc/hosts.allow\nsshd: 10.0.0.0/8\n"
DENY = b"# /etc/hosts.deny: site policy\r\nsshd: 203.0.113.0/24\n\xff odd\nALL: ALL\n"
DROPIN = "/etc/ssh/sshd_config.d/50-srd.conf"


def files() -> dict[str, tuple[bytes | None, bytes]]:
    """path -> (before, after) of every edit of the plan."""
    return {
        "/etc/hosts.allow": (ALLOW, ALLOW + b"sshd: 203.0.113.45\n"),
        "/etc/hosts.deny": (DENY, DENY.replace(b"ALL: ALL\n", b"#ALL: ALL\n")
                            .replace(b"sshd: 203", b"#sshd: 203")),
        DROPIN: (None, b"MaxStartups 100:30:200\n"),
    }


def plan() -> Plan:
    ops: list[FileEdit | Symlink] = [FileEdit(p, b, a) for p, (b, a) in files().items()]
    ops.append(Symlink(f"{LIB}/liblz4.so.1", "liblz4.so.1.9.4"))
    return Plan("test-plan", "a plan with every kind of operation", ops)


# A disk whose SELinux is on: what the change creates gets labels (setxattr calls to kill at).
SELINUX_CONFIG = b"SELINUX=enforcing\nSELINUXTYPE=targeted\n"
FILE_CONTEXTS = (b"/etc(/.*)?\tsystem_u:object_r:etc_t:s0\n"
                 b"/usr/lib(/.*)?\tsystem_u:object_r:lib_t:s0\n")


def make_root(root: Path, selinux: bool = False) -> None:
    """The files as they are before the plan (nothing else is there); with `selinux`, the
    disk's SELinux config and file_contexts too."""
    if selinux:
        (root / "etc/selinux/targeted/contexts/files").mkdir(parents=True)
        (root / "etc/selinux/config").write_bytes(SELINUX_CONFIG)
        (root / "etc/selinux/targeted/contexts/files/file_contexts").write_bytes(FILE_CONTEXTS)
    for path, (before, _) in files().items():
        (root / path[1:]).parent.mkdir(parents=True, exist_ok=True)
        if before is not None:
            (root / path[1:]).write_bytes(before)
    (root / LIB[1:]).mkdir(parents=True, exist_ok=True)
    (root / LIB[1:] / "liblz4.so.1.9.4").write_bytes(b"\x7fELF not really\n")


def race(root: str, rounds: int) -> dict[str, int]:
    """Edit the first line of hosts.deny `rounds` times while another process appends to it;
    how each attempt ended."""
    from tui.core.changes.apply import ConflictError, StaleError, VerifyError

    ops = LocalOps(root)
    path = Path(root) / "etc/hosts.deny"
    outcome = {"applied": 0, "stale": 0, "withdrawn": 0, "rolled back": 0, "version": 0}
    for _ in range(rounds):
        cur = path.read_bytes()
        rest = cur.split(b"\n", 1)[1]
        after = b"# v%d\n" % (outcome["version"] + 1) + rest
        try:
            apply_plan(ops, Plan("t", "t", [FileEdit("/etc/hosts.deny", cur, after)]),
                       target="race")
            outcome["version"] += 1
            outcome["applied"] += 1
        except ConflictError:
            outcome["withdrawn"] += 1
        except StaleError:
            outcome["stale"] += 1
        except VerifyError:
            outcome["rolled back"] += 1
    return outcome


def main() -> int:
    import os

    # Only the change's own system calls are kill points: the action log's writes (outside
    # the target, one line each) would double them and add no state of the target's.
    os.environ["SSH_RESET_DOCTOR_ACTION_LOG"] = "off"
    mode, root = sys.argv[1], sys.argv[2]
    ops = LocalOps(root)
    if mode == "race":
        import json

        print("READY", flush=True)
        sys.stdin.readline()
        print(json.dumps(race(root, int(sys.argv[3]))), flush=True)
        return 0
    if mode == "undo":
        apply_plan(ops, plan(), target="fault-driver")
    print("READY", flush=True)
    sys.stdin.readline()
    try:
        if mode == "apply":
            apply_plan(ops, plan(), target="fault-driver")
        else:
            undo(ops, target="fault-driver")
    except ChangeError as e:
        print(f"ERROR {e}", flush=True)
        return 1
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
