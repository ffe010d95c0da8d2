"""SELinux as a disk's own policy files describe it: the mode, the file labels, the port labels.

Nothing here needs libselinux or a kernel with SELinux: the policy type comes from
/etc/selinux/config, the label a path should have from the policy's file_contexts (and the
local customisations in file_contexts.local), and extra port labels from the policy store's
ports.local (what `semanage port -a` writes). Labels are the `security.selinux` extended
attribute, NUL-terminated as libselinux writes it.

How a path's label is chosen (libselinux's file backend, label_file.c / label_file.h of
SELinuxProject/selinux, up to the 2024 rework that keeps these semantics): the files are read
in the order file_contexts, file_contexts.homedirs, file_contexts.local; specifications whose
regular expression has no meta character (``. ^ $ ? * + | [ ( {`` outside a backslash escape)
are moved after the others (sort_specs: "Move exact pathname specifications to the end"); the
lookup walks the list from the end and takes the first whose anchored expression ``^...$``
matches the whole path and whose file type (when given) is the file's. The shipped
file_contexts is sorted least specific first (fc_sort), so that is "the most specific wins";
entries of file_contexts.local win over the shipped ones of their kind.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

CONFIG = "/etc/selinux/config"
XATTR = "security.selinux"
# Live: the running kernel's mode ("1" enforcing, "0" permissive); absent: SELinux is off.
ENFORCE = "/sys/fs/selinux/enforce"
CONTEXTS_LIMIT = 8 << 20  # bytes of a file_contexts read (RHEL 9's is about 0.5 MiB)
LABEL_LIMIT = 4096  # bytes of a security.selinux value read
SSH_PORT_TYPE = "ssh_port_t"
BASE_SSH_PORTS = (22,)  # the base policy's ssh_port_t (refpolicy and Fedora/RHEL: tcp 22)

_META = frozenset(".^$?*+|[({")
_KINDS = {"--": stat.S_IFREG, "-d": stat.S_IFDIR, "-l": stat.S_IFLNK, "-c": stat.S_IFCHR,
          "-b": stat.S_IFBLK, "-s": stat.S_IFSOCK, "-p": stat.S_IFIFO}


def file_contexts_paths(policy: str) -> list[str]:
    """The files a lookup reads, in libselinux's order. file_contexts.homedirs only labels
    home directories (none of sshd's files), so it is left out."""
    base = f"/etc/selinux/{policy}/contexts/files/file_contexts"
    return [base, base + ".local"]


def subs_paths(policy: str) -> list[str]:
    """Path aliases (`/lib64 /usr/lib64`: look a path under the first up as the second),
    the local ones first, as libselinux tries them (file_contexts.subs, then .subs_dist)."""
    base = f"/etc/selinux/{policy}/contexts/files/file_contexts"
    return [base + ".subs", base + ".subs_dist"]


def parse_subs(data: bytes) -> list[tuple[str, str]]:
    """(alias, real) pairs, the last line first (libselinux pushes each on a list's head)."""
    out = []
    for raw in data.decode("utf-8", "replace").splitlines():
        parts = raw.split()
        if len(parts) == 2 and not parts[0].startswith("#"):
            out.append((parts[0].rstrip("/") or "/", parts[1].rstrip("/") or "/"))
    return out[::-1]


def ports_local_paths(policy: str) -> list[str]:
    """Where `semanage port -a` keeps its local port labels, newest layout first: libsemanage
    >= 2.4 (RHEL 8/9, Alibaba Cloud Linux 3, Fedora) under /var/lib/selinux; RHEL 7's
    libsemanage (store-root /etc/selinux); older stores (CentOS 6) under modules/."""
    return [f"/var/lib/selinux/{policy}/active/ports.local",
            f"/etc/selinux/{policy}/active/ports.local",
            f"/etc/selinux/{policy}/modules/active/ports.local"]


def parse_config(data: bytes) -> tuple[str | None, str | None]:
    """(SELINUX=, SELINUXTYPE=) of /etc/selinux/config, lower-cased; None when not set."""
    mode = kind = None
    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("#") or "=" not in line:
            continue
        key, value = (p.strip() for p in line.split("=", 1))
        value = value.strip("\"'")
        if key == "SELINUX":
            mode = value.lower()
        elif key == "SELINUXTYPE" and re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
            kind = value
    return mode, kind


def type_of(context: str | None) -> str | None:
    """The type field of a context: system_u:object_r:sshd_key_t:s0 -> sshd_key_t."""
    parts = (context or "").split(":")
    return parts[2] if len(parts) >= 3 else None


def decode_label(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def encode_label(context: str) -> bytes:
    return context.encode() + b"\0"  # as libselinux's setfilecon/lsetfilecon write it


_MAX_REGEX = 1024


def _ambiguous_repeat(regex: str) -> bool:
    """A repeated group (followed by * + or {) holding a repeat or an alternation:
    (a+)+, (.*/)*, (a|aa)+. Python's re can backtrack on those for hours, and a crafted
    policy may hold them; real file_contexts repeat groups only with ?."""
    opened: list[int] = []  # per open group: its start
    risky: list[bool] = []  # per open group: holds * + { or |
    i = 0
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            opened.append(i)
            risky.append(False)
        elif c == ")" and opened:
            opened.pop()
            inner = risky.pop()
            if inner and regex[i + 1:i + 2] in ("*", "+", "{"):
                return True
            if risky:
                risky[-1] = risky[-1] or inner
        elif c in "*+{|" and risky:
            risky[-1] = True
        i += 1
    return False


@dataclass
class _Spec:
    regex: str
    mode: int  # S_IFMT bits the file must have; 0: any
    context: str
    stem: str | None  # the first path component when no meta character precedes it
    exact: bool  # no meta character: sorted after the expressions
    prefix: str = ""  # literal text every path it matches starts with (saves compiling)
    _rx: re.Pattern[str] | None = None
    _bad: bool = False

    def matches(self, path: str, mode: int) -> bool:
        if mode and self.mode and stat.S_IFMT(mode) != self.mode:
            return False
        if self.stem is not None and not path.startswith(self.stem + "/"):
            return False
        if not path.startswith(self.prefix):
            return False
        if self._rx is None and not self._bad:
            if len(self.regex) > _MAX_REGEX or _ambiguous_repeat(self.regex):
                # the disk's policy may be crafted: a repeat inside a repeat can backtrack
                # for hours in Python's re; such a spec never matches here
                self._bad = True
                return False
            try:
                self._rx = re.compile("^" + self.regex + "$")  # as libselinux anchors it
            except re.error:  # PCRE syntax Python lacks: the spec never matches here
                self._bad = True
        return self._rx is not None and self._rx.search(path) is not None


def _has_meta(regex: str) -> bool:
    i = 0
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            i += 2
            continue
        if c in _META:
            return True
        i += 1
    return False


def _prefix(regex: str) -> str:
    """The literal text a match must start with: up to the first meta character (less the
    character a following ?, * or { may drop), backslash escapes of punctuation unescaped;
    nothing for an expression with an alternation anywhere."""
    if "|" in regex:
        return ""
    out: list[str] = []
    i = 0
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            nxt = regex[i + 1:i + 2]
            if not nxt or nxt.isalnum():
                break  # \d, \w, ...: a class, not a literal
            out.append(nxt)
            i += 2
            continue
        if c in _META:
            if c in "?*{" and out:
                out.pop()
            break
        out.append(c)
        i += 1
    return "".join(out)


def _stem(regex: str) -> str | None:
    """libselinux's stem: the text before the second '/', if it has no meta character."""
    cut = regex.find("/", 1)
    if cut <= 0 or any(c in _META or c == "\\" for c in regex[:cut]):
        return None
    return regex[:cut]


@dataclass
class FileContexts:
    """The specifications of file_contexts (+ .local), ready for lookup()."""

    specs: list[_Spec] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    subs: list[tuple[str, str]] = field(default_factory=list)  # see subs_paths()

    @classmethod
    def parse(cls, *texts: tuple[str, bytes]) -> FileContexts:
        """From (name, bytes) pairs in libselinux's reading order."""
        out = cls()
        for name, data in texts:
            for n, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split()
                if len(parts) == 2:
                    regex, kind, ctx = parts[0], None, parts[1]
                elif len(parts) == 3:
                    regex, kind, ctx = parts
                else:
                    out.errors.append(f"{name} line {n}: {len(parts)} fields")
                    continue
                if kind is not None and kind not in _KINDS:
                    out.errors.append(f"{name} line {n}: unknown file type {kind}")
                    continue
                out.specs.append(_Spec(regex, _KINDS[kind] if kind else 0, ctx, _stem(regex),
                                       not _has_meta(regex), _prefix(regex)))
        return out

    def lookup(self, path: str, mode: int = 0) -> str | None:
        """The context the policy gives `path` (a file of st_mode `mode`; 0: any type);
        None when no specification matches or the match says <<none>> (left unlabelled)."""
        for alias, real in self.subs:
            if path == alias or path.startswith(alias + "/"):
                path = real + path[len(alias):]
                break
        for want_exact in (True, False):
            for spec in reversed(self.specs):
                if spec.exact == want_exact and spec.matches(path, mode):
                    return None if spec.context == "<<none>>" else spec.context
        return None


Reader = Callable[[str, int], "bytes | None"]  # (target path, limit) -> bytes, None: absent


@dataclass
class Policy:
    """What a disk (or this machine) says about SELinux."""

    mode: str | None  # "enforcing" | "permissive" | "disabled" | None (no config)
    policy_type: str | None
    contexts: FileContexts | None  # None: the policy's file_contexts could not be read
    read: list[str] = field(default_factory=list)  # the files it rests on

    @property
    def in_use(self) -> bool:
        return self.mode in ("enforcing", "permissive")

    def wanted(self, path: str, mode: int) -> str | None:
        return self.contexts.lookup(path, mode) if self.contexts else None


def load_policy(read: Reader) -> Policy:
    """The policy of a system whose files `read` gives (each file read once, bounded)."""
    raw = read(CONFIG, 1 << 16)
    if raw is None:
        return Policy(None, None, None)
    mode, kind = parse_config(raw)
    policy = Policy(mode, kind, None, [CONFIG])
    if not policy.in_use or kind is None:
        return policy
    texts = []
    for path in file_contexts_paths(kind):
        data = read(path, CONTEXTS_LIMIT)
        if data is not None:
            texts.append((path, data))
            policy.read.append(path)
    if texts and texts[0][0] == file_contexts_paths(kind)[0]:
        policy.contexts = FileContexts.parse(*texts)
        for path in subs_paths(kind):
            data = read(path, 1 << 20)
            if data is not None:
                policy.contexts.subs += parse_subs(data)
                policy.read.append(path)
    return policy


def parse_ports_local(data: bytes) -> list[tuple[str, int, int, str]]:
    """(protocol, low, high, context) of ports.local's lines, as libsemanage's ports_file.c
    writes them (`portcon tcp 2222 CTX`, a range `portcon tcp 8000 - 8100 CTX`) and reads
    them (the protocol in any case, the spaces around '-' optional)."""
    out = []
    for raw in data.decode("utf-8", "replace").splitlines():
        m = _PORTCON.match(raw)
        if m:
            low = int(m.group(2))
            out.append((m.group(1).lower(), low, int(m.group(3) or low), m.group(4)))
    return out


_PORTCON = re.compile(r"\s*portcon\s+(tcp|udp|dccp|sctp)\s+([0-9]{1,5})(?:\s*-\s*([0-9]{1,5}))?"
                      r"\s+(\S+)", re.IGNORECASE)


def port_type(port: int, local: list[tuple[str, int, int, str]]) -> str | None:
    """The type the local customisations give tcp `port` (the narrowest range naming it);
    None when they do not name it."""
    best: tuple[int, str] | None = None
    for proto, low, high, ctx in local:
        if proto == "tcp" and low <= port <= high and (best is None or high - low < best[0]):
            best = (high - low, type_of(ctx) or ctx)
    return best[1] if best else None


def get_label(host_path: str) -> str | None:
    """The label of a file here (symlinks not followed); None when it has none or the file
    system keeps none."""
    try:
        return decode_label(os.getxattr(host_path, XATTR, follow_symlinks=False))
    except OSError:
        return None


def set_label(host_path: str, context: str) -> None:
    """Label a file here (a symlink itself, not what it points to: lsetfilecon)."""
    os.setxattr(host_path, XATTR, encode_label(context), follow_symlinks=False)


def why_not(e: OSError) -> str:
    """Why a label could not be set, in words."""
    if e.errno in (errno.EOPNOTSUPP, errno.ENOTSUP):
        return "the file system keeps no such labels"
    if e.errno in (errno.EPERM, errno.EACCES):
        return "not permitted here"
    return e.strerror or str(e)
