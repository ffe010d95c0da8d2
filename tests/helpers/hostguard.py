"""What the tests must never change on the machine that runs them: its users, sudo rights,
TCP wrappers and ssh configuration (tests change those only in their own namespaces).

`state()` fingerprints the files below (content hash, owner, mode; a file this user cannot
read by size, mtime and inode) and lists the home and mail directories; `changes()` says
what differs between two states. tests/conftest.py takes one before and one after the
session and fails the run on any difference. Run as a script, it prints the state as JSON
(tests/test_hostguard.py runs it inside a namespace, to prove a change is seen).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys

FILES = (
    "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/subuid", "/etc/subgid",
    "/etc/sudoers", "/etc/hosts.allow", "/etc/hosts.deny",
)
TREES = ("/etc/sudoers.d", "/etc/ssh")  # every file below, recursively
LISTED = ("/home", "/var/mail")  # the names of the entries (accounts' homes and mailboxes)


def _fingerprint(path: str) -> str:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    except OSError as e:
        return f"unreadable: {e.strerror}"
    meta = f"{stat.filemode(st.st_mode)} {st.st_uid}:{st.st_gid}"
    if stat.S_ISLNK(st.st_mode):
        return f"{meta} -> {os.readlink(path)}"
    if not stat.S_ISREG(st.st_mode):
        return meta
    try:
        with open(path, "rb") as f:
            return f"{meta} sha256:{hashlib.sha256(f.read()).hexdigest()}"
    except PermissionError:  # e.g. /etc/shadow for an unprivileged user
        return f"{meta} size {st.st_size} mtime {st.st_mtime_ns} inode {st.st_ino}"


def state() -> dict[str, str]:
    out = {path: _fingerprint(path) for path in FILES}
    for top in TREES:
        out[top] = _fingerprint(top)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                path = os.path.join(dirpath, name)
                out[path] = _fingerprint(path)
    for top in LISTED:
        try:
            out[top] = " ".join(sorted(os.listdir(top)))
        except OSError as e:
            out[top] = f"unreadable: {e.strerror}"
    return out


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """One line per path that appeared, disappeared or changed."""
    lines = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path, "absent"), after.get(path, "absent")
        if old != new:
            lines.append(f"{path}: {old} -> {new}")
    return lines


if __name__ == "__main__":
    json.dump(state(), sys.stdout)
