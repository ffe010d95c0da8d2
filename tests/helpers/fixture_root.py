"""Build a small copy of this machine's system under a directory, as a rescue mount would show it.

The copy holds the given binaries, every library the live ``ldd`` reports for them (this is the
host: running ldd here is fine), the interpreter, ``/etc/ld.so.conf*`` and the dpkg ``.list``
files of the owning packages. Symlinks are recreated as symlinks with their original text, so
the merged-usr links (``/lib -> usr/lib``), soname links (``liblz4.so.1 -> liblz4.so.1.9.4``)
and absolute ones (``/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...``) are all there:
anything that follows them with the host's ``/`` instead of the copy's root goes wrong visibly.
Files are copied, never hard-linked, so tests may damage them freely.

Deliberately independent of ``tui.core``: it is the oracle's side of the tests.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

_LDD_LINE = re.compile(r"^\s*(?:(\S+) => )?(\S+) \(0x[0-9a-f]+\)\s*$")


def ldd(binary: str) -> tuple[dict[str, str], str | None]:
    """({soname: path} as the live ldd prints them, interpreter path). Fails if ldd fails."""
    out = subprocess.run(
        ["ldd", binary],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    ).stdout
    libs: dict[str, str] = {}
    interp = None
    for line in out.splitlines():
        if "=> not found" in line:
            libs[line.split()[0]] = ""
            continue
        m = _LDD_LINE.match(line)
        if not m:
            continue
        name, path = m.groups()
        if name:
            libs[name] = path
        elif path.startswith("/"):  # no "=>": the interpreter; linux-vdso has no path
            interp = path
    return libs, interp


def _mirror(path: str, dest: Path, hops: int = 0) -> None:
    """Recreate host `path` under dest: dirs as dirs, each symlink on the way as a symlink."""
    if hops > 40:
        raise OSError(f"symlink loop at {path}")
    parts = [p for p in path.split("/") if p]
    cur = "/"
    for i, part in enumerate(parts):
        host = os.path.join(cur, part)
        copy = dest / host.lstrip("/")
        st = os.lstat(host)
        if stat.S_ISLNK(st.st_mode):
            link = os.readlink(host)
            if not os.path.lexists(copy):
                os.symlink(link, copy)
            # `cur` holds no symlinks (each was followed), so joining lexically is exact.
            rest = "/".join(parts[i + 1 :])
            target = os.path.normpath(os.path.join(cur, link, rest))
            _mirror(target, dest, hops + 1)
            return
        if stat.S_ISDIR(st.st_mode):
            copy.mkdir(exist_ok=True)
        elif not copy.exists():
            shutil.copy2(host, copy)
        cur = host


def _dpkg_owners(paths: list[str]) -> set[str]:
    """Packages owning any of `paths` (dpkg -S exits 1 when some are unknown: fine)."""
    out = subprocess.run(
        ["dpkg", "-S", *paths], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}
    ).stdout
    pkgs: set[str] = set()
    for line in out.splitlines():
        if ": " in line and not line.startswith("diversion "):
            pkgs.update(p.strip() for p in line.split(": ", 1)[0].split(","))
    return pkgs


def _merged_usr_twin(path: str) -> str | None:
    for top in ("/lib", "/lib64", "/bin", "/sbin"):
        if path.startswith(top + "/"):
            return "/usr" + path
        if path.startswith("/usr" + top + "/"):
            return path[len("/usr") :]
    return None


def build_root(
    dest: Path, binaries: tuple[str, ...] = ("/usr/sbin/sshd",), *, with_etc: bool = True
) -> Path:
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    for binary in binaries:
        libs, interp = ldd(binary)
        files += [binary, *(p for p in libs.values() if p)]
        if interp:
            files.append(interp)
    files = list(dict.fromkeys(files))
    for f in files:
        _mirror(f, dest)

    if with_etc:
        # A bootable disk has host keys: without them sshd cannot serve (a finding says so).
        ssh = dest / "etc/ssh"
        ssh.mkdir(parents=True, exist_ok=True)
        key = ssh / "ssh_host_ed25519_key"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fixture",
                            "-f", str(key)], check=True, stdin=subprocess.DEVNULL)
        _mirror("/etc/ld.so.conf", dest)
        conf_d = Path("/etc/ld.so.conf.d")
        if conf_d.is_dir():
            for entry in sorted(conf_d.iterdir()):
                _mirror(str(entry), dest)

    # dpkg only knows the name a package shipped (/lib/... for libc6, /usr/lib/... for liblz4-1
    # on Debian 12), so ask about every name and the real path too.
    queries: list[str] = []
    for f in files:
        for p in (f, os.path.realpath(f)):
            queries += [p, *filter(None, [_merged_usr_twin(p)])]
    info = Path("/var/lib/dpkg/info")
    if info.is_dir():
        (dest / "var/lib/dpkg/info").mkdir(parents=True, exist_ok=True)
        for pkg in sorted(_dpkg_owners(list(dict.fromkeys(queries)))):
            src = info / f"{pkg}.list"
            if src.exists():
                shutil.copy2(src, dest / "var/lib/dpkg/info" / src.name)
    return dest


def break_library(root: Path, soname: str = "liblz4.so.1") -> str:
    """Delete the soname symlink of `soname` in `root`; return the target path it pointed to.

    Walks real directories only (not /lib -> usr/lib), so the one physical link is found.
    """
    for dirpath, _dirs, names in os.walk(root):
        if soname in names:
            link = Path(dirpath) / soname
            if not link.is_symlink():
                continue
            text = os.readlink(link)
            target_dir = "/" + str(Path(dirpath).relative_to(root))
            link.unlink()
            return os.path.normpath(os.path.join(target_dir, text))
    raise FileNotFoundError(f"no symlink named {soname} under {root}")
