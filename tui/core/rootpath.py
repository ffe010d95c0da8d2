"""Target paths under a mounted root: follow symlinks as the target system would, never escape.

A system mounted at ``/mnt/broken`` has absolute symlinks such as
``/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2``: the kernel on the
rescue machine would follow them into the *rescue* system's ``/lib``. ``resolve_in_root`` walks
the path one component at a time instead, re-rooting absolute link targets and clamping ``..``
at the root, like ``chroot`` would, without executing anything under the root.
"""

from __future__ import annotations

import errno
import os
import stat

MAX_LINK_HOPS = 40  # the kernel's MAXSYMLINKS


def _norm_root(root: str) -> str:
    """'' for the live system, else the absolute root without trailing slash."""
    if not root:
        return ""
    root = os.path.abspath(root)
    return "" if root == "/" else root


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def resolve_in_root(root: str, path: str, *, follow_last: bool = True) -> str:
    """The host path that target path `path` refers to when `root` is mounted as `/`.

    Every existing symlink on the way is followed with `root` as `/` (``..`` stops at `root`);
    the final component is left alone when `follow_last` is false (lstat semantics). The
    first component that does not exist ends the walk and the rest is appended lexically, so
    opening the result fails with ENOENT/ENOTDIR as it would on the target. With `root` ``/``
    or ``''`` the same walk runs on the live file system (the result is a physical path).
    Raises ``OSError(ELOOP)`` after more than 40 link hops.
    """
    base = _norm_root(root)
    done: list[str] = []  # physical target components resolved so far
    todo = _parts(path)
    todo.reverse()  # a stack: link targets are pushed in front of what remains
    hops = 0
    while todo:
        part = todo.pop()
        if part == "..":
            if done:
                done.pop()
            continue
        if not follow_last and not todo:
            done.append(part)
            break
        host = base + "/" + "/".join([*done, part])
        try:
            st = os.lstat(host)
        except OSError:
            # Missing, or a parent that is not a directory: nothing further can exist.
            done.append(part)
            done.extend(p for p in reversed(todo) if p != "..")
            break
        if not stat.S_ISLNK(st.st_mode):
            done.append(part)
            continue
        hops += 1
        if hops > MAX_LINK_HOPS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
        link = os.readlink(host)
        if link.startswith("/"):
            done = []
        for p in reversed(_parts(link)):
            todo.append(p)
    return base + "/" + "/".join(done)


def to_target(root: str, host_path: str) -> str:
    """The target path of `host_path`, which must lie under `root` (ValueError otherwise)."""
    base = _norm_root(root)
    host = os.path.normpath(os.path.join("/", host_path))
    if not base:
        return host
    if host == base:
        return "/"
    if host.startswith(base + "/"):
        return host[len(base) :]
    raise ValueError(f"{host_path!r} is not under root {root!r}")
