"""SELinux (enforcing by default on RHEL, CentOS, Alibaba Cloud Linux): labels that stop sshd.

sshd runs in the sshd_t domain, which may read its host keys only when they are labelled
sshd_key_t, its config only as etc_t, and bind only ports labelled ssh_port_t (the base policy
gives that to 22 alone; RHEL's sshd_config says to run `semanage port -a -t ssh_port_t -p tcp
PORT` when changing Port). A host key or sshd_config copied in from a home directory or a
backup keeps the wrong label: sshd cannot load it, fails to start (or, before OpenSSH 9.8,
drops every new connection at re-exec), and the client sees the reset. A file created on a
disk mounted elsewhere has no label at all.

The labels the policy wants come from the target's own file_contexts (tui.core.selinux); the
check says nothing on a system without SELinux configured.
"""

from __future__ import annotations

import errno
import os
import shlex

from tui.core import selinux
from tui.core.diagnosis import sshdports
from tui.core.diagnosis.evidence import LabelRow, PortLabel, SelinuxEvidence
from tui.core.diagnosis.finding import Finding, Status
from tui.core.diagnosis.ids import SELINUX
from tui.core.facts.common import stat_paths
from tui.core.facts.model import SSHD_CONFIG, Facts


def finding(facts: Facts) -> Finding | None:
    live_mode = _live_mode(facts)
    blob = facts.files.get(selinux.CONFIG)
    if blob is None and live_mode is None:
        return None  # no SELinux here: nothing to say
    conf_mode, kind = selinux.parse_config(blob.data or b"") if blob else (None, None)
    mode: str | None
    if live_mode is not None:
        mode, mode_from = live_mode, selinux.ENFORCE
    elif facts.live and blob is not None:
        mode, mode_from = "disabled", f"{selinux.ENFORCE} (absent: off in the running kernel)"
    else:
        mode, mode_from = conf_mode, selinux.CONFIG
    ev = SelinuxEvidence(mode, mode_from, kind, [])
    if blob is not None and blob.data is None:
        ev.notes.append(f"{selinux.CONFIG} not read: {os.strerror(blob.errno or errno.EIO)}")
        return Finding(SELINUX, None, "unknown", f"{selinux.CONFIG} could not be read", ev)
    if mode not in ("enforcing", "permissive"):
        return Finding(SELINUX, None, "ok", f"SELinux is {mode or 'not configured'}", ev)
    if kind is None:
        why = "names no SELINUXTYPE" if blob is not None else "is missing"
        return Finding(SELINUX, None, "unknown", f"SELinux is {mode}, but {selinux.CONFIG} "
                       f"{why}: which policy's labels apply is not known", ev)
    bad_files, remedy = _labels(facts, kind, ev)
    bad_ports, port_remedy = _ports(facts, kind, ev)
    remedy += port_remedy
    problems = bad_files + bad_ports
    if problems:
        status: Status = "problem" if mode == "enforcing" else "warning"
        what = "; ".join(problems[:2]) + (f" (and {len(problems) - 2} more)"
                                           if len(problems) > 2 else "")
        if mode == "permissive":
            what += " (SELinux is permissive now: this bites once it enforces)"
        return Finding(SELINUX, None, status, f"SELinux {mode}: {what}", ev,
                       list(dict.fromkeys(remedy)))
    unknown = [n for n in ev.notes if n.startswith("not known")]
    checked = []
    if ev.labels:
        checked.append(f"{len(ev.labels)} of sshd's files carry their policy labels")
    if ev.ports and all(p.type == selinux.SSH_PORT_TYPE for p in ev.ports):
        checked.append(", ".join(f"port {p.port}" for p in ev.ports) + " is ssh_port_t")
    summary = f"SELinux {mode} ({kind}): " + ("; ".join(checked) or "nothing checked")
    if unknown:
        return Finding(SELINUX, None, "unknown", summary + "; " + "; ".join(unknown), ev)
    return Finding(SELINUX, None, "ok", summary, ev)


def _live_mode(facts: Facts) -> str | None:
    blob = facts.files.get(selinux.ENFORCE)
    if blob is None or blob.data is None:
        return None
    return {"1": "enforcing", "0": "permissive"}.get(blob.data.strip().decode("ascii", "replace"))


def _labels(facts: Facts, kind: str, ev: SelinuxEvidence) -> tuple[list[str], list[str]]:
    paths = [p for p in selinux.file_contexts_paths(kind)
             if (b := facts.files.get(p)) is not None and b.data is not None]
    ev.file_contexts = paths
    if not paths or paths[0] != selinux.file_contexts_paths(kind)[0]:
        ev.notes.append(f"not known: which labels sshd's files need "
                        f"({selinux.file_contexts_paths(kind)[0]} not read)")
        return [], []
    contexts = selinux.FileContexts.parse(*((p, facts.files[p].data or b"") for p in paths))
    for p in selinux.subs_paths(kind):
        blob = facts.files.get(p)
        if blob is not None and blob.data:
            contexts.subs += selinux.parse_subs(blob.data)
    rows: list[LabelRow] = []
    bad: list[str] = []
    # authorized_keys (per user, ssh_home_t) is not a reason sshd resets a connection.
    for path in [*stat_paths(facts), SSHD_CONFIG]:
        info = facts.paths.get(path)
        if info is None or info.mode is None:
            continue
        want = contexts.lookup(path, info.mode)
        if want is None:
            continue
        ok = info.label is not None and selinux.type_of(info.label) == selinux.type_of(want)
        rows.append(LabelRow(path, info.label, want, ok))
        if not ok:
            if info.label:
                bad.append(f"{path} is {selinux.type_of(info.label)}, "
                           f"not {selinux.type_of(want)}")
            else:
                bad.append(f"{path} has no label (needs {selinux.type_of(want)})")
    ev.labels = rows
    if not bad:
        return [], []
    wrong = [r.path for r in rows if not r.ok]
    if facts.kind == "root":
        root = facts.target
        remedy = [f"touch {shlex.quote(os.path.join(root, '.autorelabel'))}"
                  "   # the disk's next boot relabels every file (takes a while), then reboots",
                  "# or, once it runs: restorecon -Rv " + " ".join(_restore_args(wrong))]
    else:
        remedy = ["restorecon -Rv " + " ".join(_restore_args(wrong)),
                  "systemctl restart sshd"]
    return bad, remedy


def _restore_args(paths: list[str]) -> list[str]:
    """/etc/ssh once for anything in it (restorecon -R), each other path as it is."""
    out = ["/etc/ssh" if p.startswith("/etc/ssh/") else p for p in paths]
    return [shlex.quote(p) for p in dict.fromkeys(out)]


def _ports(facts: Facts, kind: str, ev: SelinuxEvidence) -> tuple[list[str], list[str]]:
    ports = sshdports.ports(facts) or [22]
    stores = [p for p in selinux.ports_local_paths(kind) if p in facts.files]
    local: list[tuple[str, int, int, str]] = []
    store = next((p for p in stores if facts.files[p].data is not None), None)
    if store is not None:
        local = selinux.parse_ports_local(facts.files[store].data or b"")
    store_known = store is not None or any(
        facts.files[p].errno == errno.ENOENT for p in stores)
    rows: list[PortLabel] = []
    bad: list[str] = []
    remedy: list[str] = []
    chroot = f"chroot {shlex.quote(facts.target)} " if facts.kind == "root" else ""
    for port in ports:
        t = selinux.port_type(port, local)
        if t is not None:
            rows.append(PortLabel(port, t, store or ""))
        elif port in selinux.BASE_SSH_PORTS:
            t = selinux.SSH_PORT_TYPE
            rows.append(PortLabel(port, t, "base policy"))
        elif store_known:
            rows.append(PortLabel(port, None, store or stores[0] + " (absent)"))
        else:
            rows.append(PortLabel(port, None, "not known"))
            ev.notes.append(f"not known: the label of port {port} (no local port labels "
                            "found: the policy store is not under /var/lib/selinux or "
                            "/etc/selinux)")
            continue
        if t == selinux.SSH_PORT_TYPE:
            continue
        if t is None:
            bad.append(f"sshd's port {port} is not labelled ssh_port_t (the base policy "
                       "gives it only to 22; the local port labels do not name it)")
            remedy.append(f"{chroot}semanage port {'-N ' if chroot else ''}"
                          f"-a -t ssh_port_t -p tcp {port}"
                          "   # 'already defined': a module labels it; use -m for -a")
        else:
            bad.append(f"sshd's port {port} is labelled {t}, not ssh_port_t")
            remedy.append(f"{chroot}semanage port {'-N ' if chroot else ''}"
                          f"-m -t ssh_port_t -p tcp {port}")
    ev.ports = rows
    if bad:
        remedy.append("# or set Port back to 22 in " + SSHD_CONFIG)
    return bad, remedy
