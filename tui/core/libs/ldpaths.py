"""Where ld.so looks: /etc/ld.so.conf (as ldconfig reads it) and the trusted directories."""

from __future__ import annotations

import fnmatch
import os
import stat

from tui.core.libs.fs import FS, as_fs, read_bounded, safe_resolve

# Debian/Ubuntu multiarch tuples per (machine, class); several where the ABI name varies.
MULTIARCH: dict[tuple[str, int], tuple[str, ...]] = {
    ("EM_X86_64", 64): ("x86_64-linux-gnu",),
    ("EM_X86_64", 32): ("x86_64-linux-gnux32",),
    ("EM_386", 32): ("i386-linux-gnu",),
    ("EM_AARCH64", 64): ("aarch64-linux-gnu",),
    ("EM_ARM", 32): ("arm-linux-gnueabihf", "arm-linux-gnueabi"),
    ("EM_PPC64", 64): ("powerpc64le-linux-gnu", "powerpc64-linux-gnu"),
    ("EM_PPC", 32): ("powerpc-linux-gnu",),
    ("EM_S390", 64): ("s390x-linux-gnu",),
    ("EM_RISCV", 64): ("riscv64-linux-gnu",),
    ("EM_MIPS", 64): ("mips64el-linux-gnuabi64", "mips64-linux-gnuabi64"),
    ("EM_MIPS", 32): ("mipsel-linux-gnu", "mips-linux-gnu"),
    ("EM_LOONGARCH", 64): ("loongarch64-linux-gnu",),
}
PLATFORM = {
    "EM_X86_64": "x86_64",
    "EM_386": "i686",
    "EM_AARCH64": "aarch64",
    "EM_ARM": "v7l",
    "EM_PPC64": "power8",
    "EM_S390": "z900",
    "EM_RISCV": "riscv64",
}


def _glob(fs: FS, pattern: str) -> list[str]:
    """Target paths matching an absolute glob `pattern`, each component matched under root."""
    found = ["/"]
    for part in [p for p in pattern.split("/") if p]:
        nxt: list[str] = []
        for base in found:
            if not any(c in part for c in "*?["):
                nxt.append(os.path.join(base, part))
                continue
            try:
                names = fs.listdir(fs.resolve(base))
            except OSError:
                continue
            nxt.extend(
                os.path.join(base, n)
                for n in sorted(names)
                if fnmatch.fnmatchcase(n, part) and (part.startswith(".") or not n.startswith("."))
            )
        found = nxt
    return [p for p in found if fs.lexists(safe_resolve(fs, p))]


def _read_text(fs: FS, target: str) -> str | None:
    data = read_bounded(fs, safe_resolve(fs, target), 1 << 20)
    return None if data is None else data.decode("utf-8", "replace")


def _ldso_conf_dirs(fs: FS, conf: str = "/etc/ld.so.conf", depth: int = 0) -> list[str]:
    """Directories listed by ld.so.conf, in ldconfig's order (elf/ldconfig.c parse_conf)."""
    text = _read_text(fs, conf)
    if text is None or depth > 16:  # depth: include loops
        return []
    dirs: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "include" and len(words) > 1:
            for pattern in words[1:]:
                if not pattern.startswith("/"):  # relative to the including file's directory
                    pattern = os.path.join(os.path.dirname(conf), pattern)
                for inc in _glob(fs, pattern):
                    dirs.extend(_ldso_conf_dirs(fs, inc, depth + 1))
        elif words[0].lower() == "hwcap":
            continue  # obsolete and ignored by current ldconfig
        else:
            path = line.split("=", 1)[0].strip().rstrip("/")  # "dir=TYPE" (libc5-era syntax)
            if path.startswith("/"):  # ldconfig refuses relative paths
                dirs.append(path)
    return dirs


def _default_dirs(elfclass: int, machine: str) -> list[str]:
    dirs: list[str] = []
    for triplet in MULTIARCH.get((machine, elfclass), ()):
        dirs += [f"/lib/{triplet}", f"/usr/lib/{triplet}"]
    if elfclass == 64:
        dirs += ["/lib64", "/usr/lib64"]  # RPM distributions' slibdir
    return [*dirs, "/lib", "/usr/lib"]


def listed_dirs(root: str | FS, elfclass: int, machine: str) -> list[str]:
    """search_dirs before the existence check: every directory ld.so.conf and the defaults
    name (what a reader fetching from elsewhere may ask about all at once)."""
    fs = as_fs(root)
    return [*_ldso_conf_dirs(fs), *_default_dirs(elfclass, machine)]


def search_dirs(root: str | FS, elfclass: int, machine: str) -> list[str]:
    """The cache + default directories, in order, existing ones only, each real dir once.

    ``/etc/ld.so.conf`` directories come first (ldconfig puts them in the cache before its
    trusted dirs), then the trusted dirs. A directory reachable under two names (merged-usr:
    ``/lib/x86_64-linux-gnu`` = ``/usr/lib/x86_64-linux-gnu``) is kept under the first name,
    as ldconfig does, so the paths match what ``ldd`` prints.
    """
    fs = as_fs(root)
    seen: set[tuple[int, int]] = set()
    out: list[str] = []
    for d in [*_ldso_conf_dirs(fs), *_default_dirs(elfclass, machine)]:
        try:
            st = fs.stat(fs.resolve(d))
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            out.append(d)
    return out
