"""Write the demo system under a directory, the way a rescue mount of its disk would look.

Everything is created fresh under `dest` (which must be new or empty), from constants only:
the same bytes, names, modes and link texts on every machine, no root needed, nothing read
from or written to the host outside `dest`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from tui.core.demo import elf
from tui.core.demo import system as S
from tui.core.errors import UserError

# 2024-11-21T09:30:00Z, just after the story in auth.log: every entry gets this mtime.
SAMPLE_MTIME = 1732181400


class SampleError(UserError):
    """The sample cannot be built where asked; nothing was written."""


@dataclass(frozen=True)
class Sample:
    root: Path  # mount it as --root
    client_ip: str  # the operator's public address the logs reveal
    private_ip: str  # an older address in the logs the wizard should warn about
    faults: tuple[str, ...]  # one line per fault, for people


@dataclass(frozen=True)
class _File:
    data: bytes
    mode: int = 0o644


@dataclass(frozen=True)
class _Link:
    target: str


@dataclass(frozen=True)
class _Dir:
    mode: int = 0o755


_Entry = Union[_File, _Link, _Dir]  # evaluated at run time: `|` needs Python 3.10


def build_sample(dest: Path) -> Sample:
    """Create the demo system under `dest`; SampleError if `dest` exists and is not empty."""
    dest = Path(dest)
    _require_empty(dest)
    tree = _tree()
    if not dest.exists():
        dest.mkdir(parents=True)
        dest.chmod(0o755)  # a root directory's mode, whatever the umask (a given one is kept)
    for rel in sorted(tree):  # parents sort before their children
        _create(dest / rel, tree[rel])
    if os.utime in os.supports_follow_symlinks:  # not on every platform for links
        for rel in tree:
            os.utime(dest / rel, (SAMPLE_MTIME, SAMPLE_MTIME), follow_symlinks=False)
    lz4 = next(lib for lib in S.LIBS if lib.soname == S.FAULT_SONAME)
    return Sample(
        root=dest,
        client_ip=S.CLIENT_IP,
        private_ip=S.PRIVATE_IP,
        faults=(
            f"/etc/hosts.deny line {S.DENY_LINE}: '{S.DENY_RULE}' refuses every client "
            "(method 1)",
            f"{S.LIBDIR}/{S.FAULT_SONAME} is missing, {lz4.file} is still there: sshd cannot "
            "start for new connections (method 2)",
        ),
    )


def _require_empty(dest: Path) -> None:
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise SampleError(f"{dest} exists and is not a directory: give a new or empty directory")
    if dest.is_dir() and any(dest.iterdir()):
        raise SampleError(f"{dest} is not empty: the demo system is only built into a new or "
                          "empty directory")


def _create(path: Path, entry: _Entry) -> None:
    if isinstance(entry, _Dir):
        path.mkdir()
        path.chmod(entry.mode)  # not the umask's choice: same modes everywhere
    elif isinstance(entry, _Link):
        os.symlink(entry.target, path)
    else:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, entry.mode)
        with os.fdopen(fd, "wb") as f:
            f.write(entry.data)
            os.fchmod(f.fileno(), entry.mode)


def _tree() -> dict[str, _Entry]:
    """Relative path -> entry, with every parent directory listed."""
    t: dict[str, _Entry] = {}

    def put(target: str, entry: _Entry) -> None:
        rel = target.lstrip("/")
        parts = rel.split("/")
        for i in range(1, len(parts)):
            t.setdefault("/".join(parts[:i]), _Dir())
        t[rel] = entry

    # merged /usr, as bookworm has it
    for top in ("bin", "sbin", "lib", "lib64"):
        put(top, _Link(f"usr/{top}"))
    for d in ("/usr/bin", "/usr/local/lib", "/etc/ssh/sshd_config.d"):
        put(d, _Dir())
    put(S.INTERP.replace("/lib64/", "/usr/lib64/"),
        _Link(f"../lib/{S.MULTIARCH}/ld-linux-x86-64.so.2"))

    rodata = (f"{S.OPENSSH_RELEASE} {S.DEBIAN_REVISION}\0{S.OPENSSH_RELEASE}\0"
              "SSH-%d.%d-%.100s%s%s\r\n\0").encode()
    put("/usr/sbin/sshd", _File(elf.build(needed=list(S.SSHD_NEEDED), interp=S.INTERP,
                                          rodata=rodata, pie=True), 0o755))
    put("/usr/lib/openssh/sftp-server",
        _File(elf.build(needed=["libc.so.6"], interp=S.INTERP, pie=True), 0o755))
    for lib in S.LIBS:
        mode = 0o755 if lib.package == "libc6" and lib.soname != "libresolv.so.2" else 0o644
        put(f"{S.LIBDIR}/{lib.file}",
            _File(elf.build(needed=list(lib.needed), soname=lib.soname), mode))
        if lib.file != lib.soname and lib.soname != S.FAULT_SONAME:  # fault 2: no lz4 link
            put(f"{S.LIBDIR}/{lib.soname}", _Link(lib.file))

    put("/etc/hostname", _File(f"{S.HOSTNAME}\n".encode()))
    put("/etc/hosts.allow", _File(S.HOSTS_ALLOW))
    put("/etc/hosts.deny", _File(S.HOSTS_DENY))
    put("/etc/passwd", _File(S.PASSWD))
    put("/etc/group", _File(S.GROUP))
    put("/etc/ssh/sshd_config", _File(S.SSHD_CONFIG))
    # Only its place and mode matter to the checks (nothing of a disk is run or loaded).
    put("/etc/ssh/ssh_host_ed25519_key", _File(b"placeholder: the demo has no real key\n",
                                               0o600))
    put("/etc/ld.so.conf", _File(S.LD_SO_CONF))
    for name, data in S.LD_SO_CONF_D.items():
        put(f"/etc/ld.so.conf.d/{name}", _File(data))
    put("/etc/debian_version", _File(S.DEBIAN_VERSION))
    put("/usr/lib/os-release", _File(S.OS_RELEASE))
    put("/etc/os-release", _Link("../usr/lib/os-release"))
    put("/var/log/auth.log", _File(S.AUTH_LOG, 0o640))

    put("/var/lib/dpkg/status", _File(_dpkg_status()))
    for pkg, paths in _dpkg_lists().items():
        put(f"/var/lib/dpkg/info/{pkg}.list", _File(paths))
    return t


def _dpkg_status() -> bytes:
    stanzas = []
    for p in sorted(S.PACKAGES, key=lambda p: p.name):
        fields = [("Package", p.name)]
        if p.essential:
            fields.append(("Essential", "yes"))
        fields += [("Status", "install ok installed"), ("Priority", p.priority),
                   ("Section", p.section), ("Installed-Size", str(p.size)),
                   ("Maintainer", p.maintainer), ("Architecture", "amd64"),
                   ("Multi-Arch", p.multi_arch)]
        if p.source:
            fields.append(("Source", p.source))
        fields += [("Version", p.version), ("Description", p.summary)]
        stanzas.append("".join(f"{k}: {v}\n" for k, v in fields))
    return "\n".join(stanzas).encode() + b"\n"


def _dpkg_lists() -> dict[str, bytes]:
    """`.list` file name stem -> contents: "/.", each directory once, files, links last."""
    files: dict[str, list[str]] = {p: list(S.PACKAGE_FILES.get(p, ())) for p in
                                   (q.name for q in S.PACKAGES)}
    links: dict[str, list[str]] = {p: [] for p in files}
    for lib in S.LIBS:
        # dpkg knows the name the package shipped, not merged /usr's alias of it.
        d = S.LIBDIR if lib.usr else f"/lib/{S.MULTIARCH}"
        files[lib.package].append(f"{d}/{lib.file}")
        if lib.file != lib.soname:
            links[lib.package].append(f"{d}/{lib.soname}")  # still listed when deleted
    out = {}
    for p in S.PACKAGES:
        lines = ["/."]
        for path in files[p.name]:
            parts = path.split("/")
            for i in range(2, len(parts)):
                d = "/".join(parts[:i])
                if d not in lines:
                    lines.append(d)
            lines.append(path)
        out[p.qualified] = "".join(f"{x}\n" for x in lines + links[p.name]).encode()
    return out
