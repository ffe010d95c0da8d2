"""Assemble the single-file ssh-reset-doctor (run by .ci/build-binary; see packaging/launcher.c).

The runtime is this build machine's own: its Python interpreter and standard library, the
tool and its dependencies installed from PyPI for that interpreter, and every shared library
any of their ELF files needs (glibc and its loader included), found with ldd. It is packed as
one zlib stream behind the static launcher, which unpacks it once per user and runs it with
the bundled loader, so the result needs nothing from the host but the kernel.

    python3 packaging/bundle.py --python /usr/bin/python3 --site DIR --launcher FILE \
        --commit HASH --out dist/ssh-reset-doctor-linux-x86_64
"""

from __future__ import annotations

import argparse
import hashlib
import os
import py_compile
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

# Never used by the tool: left out to keep the file and the unpacked tree small. Leaving out
# _ssl and _hashlib also leaves libssl/libcrypto out (cryptography carries its own OpenSSL).
STDLIB_SKIP = {
    "test", "idlelib", "tkinter", "turtledemo", "turtle.py", "ensurepip", "lib2to3",
    "pydoc_data", "distutils", "venv", "curses", "dbm", "site-packages", "dist-packages",
    "__pycache__", "sitecustomize.py", "__phello__",
}
DYNLOAD_SKIP = re.compile(
    r"^(_test|xx|_xxtestfuzz|_ctypes_test|_curses|_dbm|_gdbm|readline|nis|_crypt|_ssl|"
    r"_hashlib|audioop|ossaudiodev|_tkinter)"
)
# dlopen()ed by glibc itself (thread cancellation), so ldd never names it.
ALWAYS_LIBS = ("libgcc_s.so.1",)
_LDD = re.compile(r"^\s*(\S+) => (/\S+) \(0x[0-9a-f]+\)\s*$")
_INTERP = re.compile(r"^\s*(/\S+) \(0x[0-9a-f]+\)\s*$")


def interpreter_paths(python: str) -> tuple[str, str, str]:
    """(version X.Y, stdlib dir, lib-dynload dir) of the interpreter to bundle."""
    code = ("import sys,sysconfig;p=sysconfig.get_paths();"
            "print('%d.%d'%sys.version_info[:2]);print(p['stdlib']);"
            "print(sysconfig.get_config_var('DESTSHARED'))")
    out = subprocess.run([python, "-I", "-c", code], check=True, capture_output=True,
                         text=True).stdout.split("\n")
    return out[0], out[1], out[2]


def copy_stdlib(src: Path, dynload: Path, dest: Path) -> None:
    """The pure-Python standard library under `dest`, its extension modules in
    dest/lib-dynload."""
    for entry in sorted(src.iterdir()):
        if entry.name in STDLIB_SKIP or entry.name.startswith("config-"):
            continue
        if entry.resolve() == dynload.resolve():
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name, symlinks=False,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif entry.is_file():  # a broken symlink is neither: left out
            shutil.copy2(entry, dest / entry.name)
    (dest / "lib-dynload").mkdir()
    for so in sorted(dynload.iterdir()):
        if so.name.endswith(".so") and not DYNLOAD_SKIP.match(so.name):
            shutil.copy2(so, dest / "lib-dynload" / so.name)


def zip_tree(src: Path, zip_path: Path, root: Path) -> int:
    """Everything under `src` into one zip for zipimport, each module as bytecode only
    (hash-based, never checked; stored, so an import reads it directly), as Python's own
    embeddable distribution does. One file instead of thousands: unpacking many small files
    costs ~2 ms each on some disks, seconds in all; no sources halves what zipimport reads at
    start-up. Returns the number of entries."""
    n = 0
    with zipfile.ZipFile(zip_path, "w") as z, tempfile.TemporaryDirectory() as tmp:
        pyc = Path(tmp) / "m.pyc"
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            rel = path.relative_to(src).as_posix()
            if "__pycache__" in rel or rel.endswith(".pyc"):
                continue
            data, method = path.read_bytes(), zipfile.ZIP_DEFLATED
            if path.suffix == ".py" and py_compile.compile(
                    str(path), cfile=str(pyc), dfile=f"{root}/{rel}", doraise=False,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
                rel, data, method = rel + "c", pyc.read_bytes(), zipfile.ZIP_STORED
            # (a .py that does not compile, such as a py2 test data file, stays source)
            info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, data, method)
            n += 1
    return n


def split_site(site: Path, dest_dir: Path, zip_src: Path) -> None:
    """Packages with extension modules (which cannot be imported from a zip) and the tool
    itself (textual reads its .tcss by path) go to `dest_dir`; the pure ones to `zip_src`."""
    for entry in sorted(site.iterdir()):
        if entry.name in ("bin", "__pycache__"):
            continue
        native = entry.name.endswith(".so") or (entry.is_dir() and any(entry.rglob("*.so*")))
        to = dest_dir if native or entry.name == "tui" else zip_src
        if entry.is_dir():
            shutil.copytree(entry, to / entry.name, symlinks=False,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(entry, to / entry.name)


def is_elf(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def bundle_libraries(stage: Path) -> list[str]:
    """Copy every shared library the stage's ELF files need (by ldd) into stage/libs."""
    libs = stage / "libs"
    libs.mkdir()
    elves = [p for p in sorted(stage.rglob("*"))
             if p.is_file() and not p.is_symlink() and is_elf(p)]
    wanted: dict[str, str] = {}
    interp = None
    for elf in elves:
        r = subprocess.run(["ldd", str(elf)], capture_output=True, text=True,
                           env={**os.environ, "LC_ALL": "C"})
        if r.returncode != 0:
            if "not a dynamic executable" in r.stdout + r.stderr:
                continue
            raise SystemExit(f"bundle: ldd {elf} failed: {r.stderr.strip()}")
        for line in r.stdout.splitlines():
            if "=> not found" in line:
                raise SystemExit(f"bundle: {elf} needs {line.split()[0]}, not on this machine")
            m = _LDD.match(line)
            if m:
                name, path = m.groups()
                if not Path(path).resolve().is_relative_to(stage.resolve()):
                    wanted.setdefault(name, path)
                continue
            m = _INTERP.match(line)
            if m:
                interp = m.group(1)
    if interp is None:
        raise SystemExit("bundle: no dynamic loader found (is the interpreter static?)")
    for name in ALWAYS_LIBS:
        if name not in wanted:  # where the C compiler (the build installs gcc) finds it
            found = subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True,
                                   text=True).stdout.strip()
            if not os.path.isabs(found) or not os.path.exists(found):
                raise SystemExit(f"bundle: {name} not found (glibc loads it at run time)")
            wanted[name] = found
    for name, path in sorted(wanted.items()):
        shutil.copy2(os.path.realpath(path), libs / name)
    shutil.copy2(os.path.realpath(interp), libs / "ld.so")
    return sorted(wanted)


def pack(stage: Path) -> tuple[bytes, int, int]:
    """(zlib stream of the records, unpacked bytes, entries) for launcher.c's format."""
    z = zlib.compressobj(9)
    out: list[bytes] = []
    total = entries = 0

    def record(kind: bytes, mode: int, rel: str, data: bytes) -> None:
        path = rel.encode()
        out.append(z.compress(kind + struct.pack("<IH", mode, len(path)) + path
                              + struct.pack("<Q", len(data)) + data))

    for dirpath, dirnames, filenames in os.walk(stage):
        dirnames.sort()
        here = Path(dirpath)
        for d in dirnames:
            p = here / d
            if p.is_symlink():
                raise SystemExit(f"bundle: symlink {p} (the stage holds copies only)")
            record(b"D", 0o755, str(p.relative_to(stage)), b"")
        for f in sorted(filenames):
            p = here / f
            if p.is_symlink() or not p.is_file():
                raise SystemExit(f"bundle: {p} is not a regular file")
            data = p.read_bytes()
            mode = 0o755 if os.access(p, os.X_OK) else 0o644
            record(b"F", mode, str(p.relative_to(stage)), data)
            total += len(data)
            entries += 1
    out.append(z.compress(b"E"))
    out.append(z.flush())
    return b"".join(out), total, entries


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True, help="the interpreter to bundle")
    ap.add_argument("--site", required=True, type=Path,
                    help="the tool and its dependencies, installed (pip --target) for it")
    ap.add_argument("--launcher", required=True, type=Path, help="the static launcher")
    ap.add_argument("--stage", required=True, type=Path, help="a new directory to assemble in")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--out", required=True, type=Path)
    a = ap.parse_args()

    version, stdlib, dynload = interpreter_paths(a.python)
    if version != f"{sys.version_info[0]}.{sys.version_info[1]}":
        raise SystemExit(f"bundle: run me with a Python {version}, the bundled one's version")
    stage = a.stage
    if stage.exists():
        shutil.rmtree(stage)
    pure = stage.with_name(stage.name + ".pure")  # what goes into the zips, before zipping
    shutil.rmtree(pure, ignore_errors=True)
    (stage / "bin").mkdir(parents=True)
    shutil.copy2(os.path.realpath(a.python), stage / "bin" / "python3")
    lib = stage / "lib" / f"python{version}"
    (pure / "stdlib").mkdir(parents=True)
    copy_stdlib(Path(stdlib), Path(dynload), pure / "stdlib")
    lib.mkdir(parents=True)
    shutil.move(pure / "stdlib" / "lib-dynload", lib / "lib-dynload")
    shutil.copy2(pure / "stdlib" / "os.py", lib / "os.py")  # the landmark sys.prefix is found by
    (stage / "site").mkdir()
    (pure / "site").mkdir()
    split_site(a.site, stage / "site", pure / "site")
    (stage / "site" / "tui" / "_build.py").write_text(
        '"""Written by packaging/bundle.py: this is the single-file build."""\n\n'
        f"KIND = \"binary\"\nCOMMIT = {a.commit!r}\n")
    # On the default sys.path as <prefix>/lib/pythonXY.zip; site.zip is added by the launcher.
    zip_tree(pure / "stdlib", stage / "lib" / f"python{version.replace('.', '')}.zip",
             Path("stdlib"))
    zip_tree(pure / "site", stage / "site.zip", Path("site"))
    shutil.rmtree(pure)
    libs = bundle_libraries(stage)
    # Hash-checked bytecode, never compared with the files' times: unpacking sets new ones.
    subprocess.run([a.python, "-I", "-m", "compileall", "-q", "-j0",
                    "--invalidation-mode", "unchecked-hash", str(lib), str(stage / "site")],
                   check=False, stdout=subprocess.DEVNULL)

    payload, unpacked, entries = pack(stage)
    ident = hashlib.sha256(payload).hexdigest()[:16]
    launcher = a.launcher.read_bytes()
    trailer = (b"SRDPACK1" + struct.pack("<QQQQ", len(launcher), len(payload), unpacked,
                                         entries) + ident.encode() + bytes(8))
    assert len(trailer) == 64
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_name(a.out.name + ".tmp")
    tmp.write_bytes(launcher + payload + trailer)
    tmp.chmod(0o755)
    tmp.replace(a.out)
    print(f"bundle: {a.out} {a.out.stat().st_size / 1e6:.1f} MB, unpacks to "
          f"{unpacked / 1e6:.0f} MB in {entries} files; Python {version}; libraries: "
          + " ".join(libs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
