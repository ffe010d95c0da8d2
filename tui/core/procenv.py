"""The environment of every command the tool runs on this machine (sshd -t/-T, ss,
iptables-save, journalctl, ...): the one it would have without the tool.

A frozen build can change the process environment before any of our code runs: PyInstaller
points LD_LIBRARY_PATH at its own libraries (keeping the old value in LD_LIBRARY_PATH_ORIG),
and then sshd would load the bundle's libcrypto, libz and libc instead of the system's. This
project's own single-file build (.ci/packaging/launcher.c) exports nothing; this undoes what any
bundler did, and is a plain copy of the environment otherwise.
"""

from __future__ import annotations

import os
import sys

# Loader variables a bundle may set; PyInstaller keeps the value it replaced as NAME_ORIG.
_LOADER_VARS = ("LD_LIBRARY_PATH", "LD_PRELOAD")
# Bookkeeping of bundlers (PyInstaller's bootloader, staticx): meaningless to any command.
_BUNDLER_PREFIXES = ("_PYI_", "_MEIPASS", "STATICX_")


def child_env(**extra: str) -> dict[str, str]:
    """A copy of the environment as it was before a bundle changed it, plus `extra`."""
    env = dict(os.environ)
    frozen = bool(getattr(sys, "frozen", False))
    for var in _LOADER_VARS:
        orig = env.pop(f"{var}_ORIG", None)
        if orig is not None:
            env[var] = orig
        elif frozen:
            env.pop(var, None)  # set by the bundle, not by whoever started us
    for name in [n for n in env if n.startswith(_BUNDLER_PREFIXES)]:
        del env[name]
    env.update(extra)
    return env


def restore() -> None:
    """Put that environment back into this process, for commands third-party code starts
    (the clipboard helpers pyperclip runs). The running process keeps its own libraries:
    the loader read its variables when it started."""
    clean = child_env()
    if clean != dict(os.environ):
        os.environ.clear()
        os.environ.update(clean)
