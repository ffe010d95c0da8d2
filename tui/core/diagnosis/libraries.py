"""Method 2: a shared library of sshd/sshd-session is missing; recreate its soname link."""

from __future__ import annotations

import os

from tui.core.changes.plan import Plan, Symlink
from tui.core.diagnosis.commands import P, on_target, target_path
from tui.core.diagnosis.evidence import BinaryState, LibrariesEvidence, PackageOwner
from tui.core.diagnosis.finding import Finding
from tui.core.diagnosis.ids import LIBRARIES
from tui.core.facts.model import Facts, PackageInfo


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
    known = {s: facts.packages[s] for s in missing if s in facts.packages}
    if known:
        ev.packages = {s: PackageOwner(i.name, i.nvra, i.db, i.manager, list(i.cached),
                                       i.manager_needs, i.installer_needs)
                       for s, i in known.items()}
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
            info = facts.packages.get(s)
            if info is not None and info.manager_needs is not True:  # the other way back
                out.append("or reinstall its package: "
                           + on_target(facts, _reinstall_argv(info), _ships(info, s)))
            continue
        info = facts.packages.get(s)
        pkg = facts.owners.get(s)
        if info is not None:
            out += _reinstall(facts, s, info)
        elif pkg and facts.package_manager == "dpkg":
            out.append(on_target(facts, ["apt-get", "install", "--reinstall",
                                         pkg.split(':')[0]], f"ships {s}"))
        elif pkg:
            out.append(on_target(facts, ["yum", "reinstall", pkg], f"ships {s}"))
        else:
            out.append(f"no file of {s} is left: reinstall the package that ships it "
                       f"(dpkg -S {s} / rpm -qf on a healthy machine), or copy it from a "
                       "healthy machine of the same release into the same directory")
    return out


def _reinstall(facts: Facts, soname: str, info: PackageInfo) -> list[str]:
    """Reinstall `info`'s package with the target's own tools; when the front end (yum, dnf,
    apt-get) needs the missing library itself, the package file with rpm / dpkg; when those
    cannot run either, the file from a healthy instance of the same release. On --root every
    command runs in `chroot DIR` and every copy lands under DIR: never on the rescue system."""
    rpm = info.db != "dpkg"
    manager = info.manager or ("yum" if rpm else "apt-get")
    reinstall_argv = _reinstall_argv(info)
    installer = ["rpm", "-Uvh", "--replacepkgs"] if rpm else ["dpkg", "-i"]
    out = []
    if info.manager_needs is not True:
        out.append(on_target(facts, reinstall_argv, _ships(info, soname)))
        lead = f"if {manager} fails to start (it may need {soname} too): "
        if info.manager_needs is False:
            if info.cached and info.installer_needs is not True:
                out.append("or, offline: " + on_target(
                    facts, [*installer, info.cached[-1]], "the package file in the local cache"))
            return out
    else:
        lead = f"as {manager} cannot start (it needs {soname} too), instead: "
    if info.cached and info.installer_needs is not True:
        out.append(lead + on_target(facts, [*installer, info.cached[-1]],
                                    "the package file in the local cache"))
        return out
    kind = "rpm" if rpm else "deb"
    fetch = (f"apt-get download {info.name}" if not rpm else
             f"dnf download {info.name}" if manager == "dnf" else f"yumdownloader {info.name}")
    if info.installer_needs is not True:
        named = rpm and bool(info.nvra)
        pkgfile = f"{info.nvra}.rpm" if named else f"the {info.name} .{kind}"
        then = on_target(facts, [*installer, f"/root/{pkgfile}"]) if named else \
            on_target(facts, installer) + " /root/<that file>"
        out.append(f"{lead}copy {pkgfile} from a healthy instance of the same release "
                   f"({fetch} there) to {target_path(facts, '/root')}/, then: {then}")
    else:
        files = " and ".join(info.files) or f"{soname} and the file it points to"
        into = (target_path(facts, os.path.dirname(info.files[0])) + "/" if info.files
                else "the same directory")
        tool = "rpm" if rpm else "dpkg"
        both = (f"as {manager} and {tool} cannot start (both need {soname} too)"
                if info.manager_needs else f"as {tool} cannot start (it needs {soname} too)")
        out.append(f"{both}; copy {files} from a healthy instance of the same release "
                   f"into {into} (cp -a keeps a link a link), then: "
                   + on_target(facts, reinstall_argv))
    return out


def _reinstall_argv(info: PackageInfo) -> list[str]:
    if info.db == "dpkg":
        return [info.manager or "apt-get", "install", "--reinstall", info.name]
    return [info.manager or "yum", "reinstall", info.name]


def _ships(info: PackageInfo, soname: str) -> str:
    """The comment after a reinstall: the package's full name and the database it came from."""
    what = f"{info.nvra} ships {soname}" if info.nvra else f"ships {soname}"
    return what + (f", from {info.db}" if info.db and info.db != "dpkg" else "")


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

