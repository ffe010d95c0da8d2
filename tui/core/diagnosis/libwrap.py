"""Whether the sshd that serves connections consults hosts.allow/hosts.deny (libwrap)."""

from __future__ import annotations

from tui.core.facts.model import Facts


def uses_libwrap(facts: Facts) -> tuple[bool | None, str | None]:
    """(whether the sshd that serves connections consults the rules, that binary)."""
    # On OpenSSH >= 9.8 the per-connection work, libwrap included, is in sshd-session.
    serving = [b for b in facts.binaries if b.exists]
    if not serving:
        return None, None
    session = [b for b in serving if b.binary.endswith("sshd-session")]
    binary = (session or serving)[0]
    if binary.error:
        return None, binary.binary
    linked = any(lib.soname.startswith("libwrap.so") for lib in binary.libraries)
    return linked, binary.binary
