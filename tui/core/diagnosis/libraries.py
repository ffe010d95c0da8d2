"""Method 2: a shared library of sshd/sshd-session is missing; recreate its soname link."""

from __future__ import annotations

import os

from tui.core.changes.plan import Plan, Symlink
from tui.core.diagnosis.commands import P, on_target
from tui.core.diagnosis.evidence import BinaryState, LibrariesEvidence
from tui.core.diagnosis.finding import Finding
from tui.core.diagnosis.ids import LIBRARIES
from tui.core.facts.model import Facts


def finding(facts: Facts) -> Finding:
    present = [b for b in facts.binaries if b.exists]
    if not present:
        where = facts.binaries[0].binary if facts.binaries else "/usr/sbin/sshd"
        return Finding(LIBRARIES, 2, "unknown", f"{where} not found: is openssh-server "
                       "installed?", LibrariesEvidence(where, [], {}))
    broken = [b for b in present if b.missing]
    unreadable = [b for b in present if b.error]
    per_binary = {b.binary: BinaryState(b.missing, b.error, len(b.libraries)) for b in present}
    if not broken:
        if unreadable:
            b = unreadable[0]
            return Finding(LIBRARIES, 2, "unknown", f"{b.binary}: {b.error}",
                           LibrariesEvidence(b.binary, [], {}, binaries=per_binary))
        n = sum(len(b.libraries) for b in present)
        return Finding(LIBRARIES, 2, "ok",
                       f"every library of {', '.join(b.binary for b in present)} is present "
                       f"({n} resolved)",
                       LibrariesEvidence(present[0].binary, [], {}, binaries=per_binary))
    b = broken[0]
    missing = list(dict.fromkeys(s for x in broken for s in x.missing))
    cands = {s: best_candidate(facts, s) for s in missing}
    ev = LibrariesEvidence(
        b.binary, missing, cands,
        needed_by={s: next((x.needed_by(s) for x in broken if x.needed_by(s)), None)
                   for s in missing},
        owners={s: facts.owners.get(s) for s in missing},
        binaries=per_binary,
    )
    parts = []
    for s in missing:
        by = ev.needed_by[s]
        parts.append(f"{s}" + (f" (needed by {by})" if by and by != b.binary else ""))
    f = Finding(LIBRARIES, 2, "problem",
                f"{b.binary} cannot start for new connections: missing {', '.join(parts)}", ev)
    f.remedy = remedy_lines(facts, missing)
    return f


def best_candidate(facts: Facts, soname: str) -> str | None:
    found = facts.candidates.get(soname)
    return found[0] if found else None


def remedy_lines(facts: Facts, missing: list[str]) -> list[str]:
    out = []
    for s in missing:
        cand = best_candidate(facts, s)
        if cand:
            d = os.path.dirname(cand)
            out.append(on_target(facts, ["ln", "-s", os.path.basename(cand), P(f"{d}/{s}")]))
            continue
        pkg = facts.owners.get(s)
        if pkg and facts.package_manager == "dpkg":
            out.append(on_target(facts, ["apt-get", "install", "--reinstall",
                                         pkg.split(':')[0]], f"ships {s}"))
        elif pkg:
            out.append(on_target(facts, ["yum", "reinstall", pkg], f"ships {s}"))
        else:
            out.append(f"no file of {s} is left: reinstall the package that ships it "
                       f"(dpkg -S {s} / rpm -qf on a healthy machine), or copy it from a "
                       "healthy machine of the same release into the same directory")
    return out


def plans(facts: Facts) -> list[Plan]:
    """One plan: a relative soname symlink beside each missing library's real file."""
    ops: list[Symlink] = []
    notes: list[str] = []
    seen = set()
    for b in facts.binaries:
        for s in b.missing:
            if s in seen:
                continue
            seen.add(s)
            cand = best_candidate(facts, s)
            if cand is None:
                notes.append(f"{s}: no file of it left; reinstall its package")
                continue
            d = os.path.dirname(cand)
            ops.append(Symlink(f"{d}/{s}", os.path.basename(cand)))
    if not ops:
        return []
    return [Plan("soname-symlink", "recreate the missing soname link(s)", list(ops),
                 notes=notes, default=True)]

