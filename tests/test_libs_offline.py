"""Offline library resolution against real binaries, with the live ldd / ld.so / dpkg as oracles.

Nothing here is mocked: the roots are copies of this machine's sshd and its libraries
(tests/helpers/fixture_root.py), and the RUNPATH/RPATH cases are compiled with gcc on the spot.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.fixture_root import break_library, build_root, ldd
from tui.core.libs import (
    BinaryLibs,
    Library,
    candidates,
    candidates_for,
    linked_directly,
    package_owner,
    resolve_offline,
    search_dirs,
)
from tui.core.rootpath import resolve_in_root, to_target

SSHD = "/usr/sbin/sshd"
ORACLE_BINARIES = [SSHD, "/usr/lib/openssh/sftp-server", "/usr/bin/ssh"]
X86_64 = (64, "EM_X86_64")


def _ldd_required() -> None:
    assert shutil.which("ldd"), "ldd is the oracle of these tests and must be installed"


def _real_in_root(root: str | Path, target: str) -> str:
    """Where target path `target` really ends up, as a target path."""
    base = os.path.realpath(root)
    return to_target(base, os.path.realpath(resolve_in_root(base, target)))


def _mapping(libs: BinaryLibs, root: str | Path) -> dict[str, str | None]:
    """soname -> real target path, without the interpreter (ldd prints it without '=>')."""
    interp_real = _real_in_root(root, libs.interpreter) if libs.interpreter else None
    return {
        lib.soname: _real_in_root(root, lib.path) if lib.path else None
        for lib in libs.libraries
        if not (lib.path and _real_in_root(root, lib.path) == interp_real)
    }


def _ldd_mapping(binary: str, root: str | Path = "/") -> tuple[dict[str, str | None], str | None]:
    """ldd's answer as real target paths; host paths outside `root` are the host's own."""

    def norm(p: str) -> str:
        real = os.path.realpath(p)
        base = os.path.realpath(root)
        return to_target(base, real) if real.startswith(base + "/") else real

    libs, interp = ldd(binary)
    return {k: norm(v) if v else None for k, v in libs.items()}, norm(interp) if interp else None


def _dpkg_s(pattern: str) -> str:
    out = subprocess.run(["dpkg", "-S", pattern], check=True, capture_output=True, text=True)
    return out.stdout.splitlines()[0].split(": ", 1)[0].split(",")[0].strip()


# --- rootpath ------------------------------------------------------------------------------


@pytest.fixture
def farm(tmp_path: Path) -> Path:
    """A root full of symlinks; '/etc/passwd' deliberately does not exist in it."""
    root = tmp_path / "root"
    (root / "usr/lib/x").mkdir(parents=True)
    (root / "usr/lib/x/real.so").write_bytes(b"in root")
    (root / "lib").symlink_to("usr/lib")
    (root / "abs").symlink_to("/usr/lib/x/real.so")
    (root / "outside").symlink_to("/etc/passwd")
    (root / "usr/lib/x/escape").symlink_to("../../../../../../../../usr/lib/x/real.so")
    (root / "usr/lib/x/updir").symlink_to("..")
    (root / "loop1").symlink_to("loop2")
    (root / "loop2").symlink_to("/loop1")
    (tmp_path / "secret").write_text("host file next to the root")
    (root / "dotdot").symlink_to("../secret")
    return root


def test_resolve_in_root_follows_links_inside_root(farm: Path):
    r = str(farm)
    real = str(farm / "usr/lib/x/real.so")
    assert resolve_in_root(r, "/lib/x/real.so") == real
    assert resolve_in_root(r, "/abs") == real  # absolute target re-rooted
    assert resolve_in_root(r, "/lib/x/updir/x/real.so") == real
    assert resolve_in_root(r, "/abs", follow_last=False) == str(farm / "abs")
    assert resolve_in_root(r + "/", "//lib/./x//real.so") == real
    assert to_target(r, resolve_in_root(r, "/lib/x/real.so")) == "/usr/lib/x/real.so"


def test_resolve_in_root_never_escapes(farm: Path):
    r = str(farm)
    # An absolute link to a host file that the root lacks stays in the root (and is missing).
    assert resolve_in_root(r, "/outside") == str(farm / "etc/passwd")
    assert not os.path.exists(resolve_in_root(r, "/outside"))
    # '..' stops at the root, in links and in the path asked for.
    assert resolve_in_root(r, "/usr/lib/x/escape") == str(farm / "usr/lib/x/real.so")
    assert resolve_in_root(r, "/dotdot") == str(farm / "secret")
    assert not os.path.exists(resolve_in_root(r, "/dotdot"))
    assert resolve_in_root(r, "/../../../usr/lib/x/real.so") == str(farm / "usr/lib/x/real.so")
    for p in ("/outside", "/dotdot", "/usr/lib/x/escape", "/../.."):
        assert (resolve_in_root(r, p) + "/").startswith(r + "/")


def test_resolve_in_root_missing_parts_are_appended(farm: Path):
    r = str(farm)
    assert resolve_in_root(r, "/lib/nope/a/b") == str(farm / "usr/lib/nope/a/b")
    # A file used as a directory: ENOTDIR when opened, like on the target.
    with pytest.raises(NotADirectoryError):
        os.stat(resolve_in_root(r, "/lib/x/real.so/more"))


def test_resolve_in_root_loops(farm: Path, tmp_path: Path):
    with pytest.raises(OSError) as exc:
        resolve_in_root(str(farm), "/loop1/anything")
    assert exc.value.errno == errno.ELOOP
    # 40 hops are fine, 41 are not (the kernel's MAXSYMLINKS).
    chain = tmp_path / "chain"
    chain.mkdir()
    (chain / "l0").write_text("end")
    for i in range(1, 42):
        (chain / f"l{i}").symlink_to(f"l{i - 1}")
    assert resolve_in_root(str(chain), "/l40") == str(chain / "l0")
    with pytest.raises(OSError) as exc:
        resolve_in_root(str(chain), "/l41")
    assert exc.value.errno == errno.ELOOP


def test_resolve_in_root_live_system_and_to_target():
    assert resolve_in_root("/", "/usr/sbin/../sbin/sshd") == os.path.realpath(SSHD)
    assert resolve_in_root("", "/lib64/ld-linux-x86-64.so.2") == os.path.realpath(
        "/lib64/ld-linux-x86-64.so.2"
    )
    assert to_target("/", "/usr//lib/") == "/usr/lib"
    assert to_target("/mnt/r", "/mnt/r") == "/"
    assert to_target("/mnt/r/", "/mnt/r/etc/x") == "/etc/x"
    with pytest.raises(ValueError):
        to_target("/mnt/r", "/mnt/rx/etc")


# --- the live system: ldd is the oracle ----------------------------------------------------


@pytest.mark.parametrize("binary", ORACLE_BINARIES)
def test_live_system_matches_ldd(binary: str):
    _ldd_required()
    libs = resolve_offline("/", binary)
    assert libs.exists and libs.error is None
    want, want_interp = _ldd_mapping(binary)
    assert _mapping(libs, "/") == want
    assert libs.interpreter and os.path.realpath(libs.interpreter) == want_interp
    assert libs.missing == []


def test_linked_directly_on_sshd():
    libs = resolve_offline("/", SSHD)
    # Debian's sshd is built with libwrap; liblz4 only comes in through libsystemd.
    assert linked_directly(libs, "libwrap.so")
    assert linked_directly(libs, "libc.so")
    assert "liblz4.so.1" in [lib.soname for lib in libs.libraries]
    assert not linked_directly(libs, "liblz4.so")


# --- a copy of this system under a directory -----------------------------------------------


@pytest.fixture(scope="module")
def intact_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_root(tmp_path_factory.mktemp("intact"), tuple(ORACLE_BINARIES))


@pytest.fixture
def broken_root(tmp_path: Path) -> tuple[Path, str]:
    root = build_root(tmp_path / "broken")
    return root, break_library(root)


def test_fixture_reproduces_merged_usr_layout(intact_root: Path):
    for name in ("lib", "lib64", "bin", "sbin"):
        if os.path.islink(f"/{name}") and os.path.lexists(intact_root / name):
            assert os.readlink(intact_root / name) == os.readlink(f"/{name}")
    assert os.readlink(intact_root / "lib64") == os.readlink("/lib64")
    # Absolute link inside the copy: followed naively it would leave the root.
    assert os.readlink(intact_root / "lib64/ld-linux-x86-64.so.2").startswith("/")


@pytest.mark.parametrize("binary", ORACLE_BINARIES)
def test_fixture_root_resolves_like_ldd_with_target_paths(intact_root: Path, binary: str):
    _ldd_required()
    libs = resolve_offline(str(intact_root), binary)
    assert libs.exists and libs.error is None and libs.missing == [] and libs.broken == []
    want, want_interp = _ldd_mapping(binary)
    assert _mapping(libs, intact_root) == want
    assert libs.interpreter and _real_in_root(intact_root, libs.interpreter) == want_interp
    root = str(intact_root)
    for lib in libs.libraries:
        for p in (lib.path, lib.needed_by):
            assert p and p.startswith("/") and root not in p
            host = os.path.realpath(resolve_in_root(root, p))
            assert host.startswith(root + "/") and os.path.isfile(host)


def test_fixture_search_dirs_dedupe_merged_usr(intact_root: Path):
    dirs = search_dirs(str(intact_root), *X86_64)
    assert "/lib/x86_64-linux-gnu" in dirs
    # Same directory under its /usr name: ldconfig keeps only the first, and so do we.
    assert "/usr/lib/x86_64-linux-gnu" not in dirs
    assert len({os.path.realpath(resolve_in_root(str(intact_root), d)) for d in dirs}) == len(dirs)


def test_broken_liblz4(broken_root: tuple[Path, str]):
    _ldd_required()
    root, real_file = broken_root
    libs = resolve_offline(str(root), SSHD)
    assert libs.error is None
    assert libs.missing == ["liblz4.so.1"]
    host_ldd, _ = ldd(SSHD)  # the host still has it: proof nothing leaked from the host
    assert host_ldd["liblz4.so.1"]
    needer = libs.needed_by("liblz4.so.1")
    assert needer and os.path.basename(needer) == "libsystemd.so.0"
    assert _real_in_root(root, needer) == os.path.realpath(host_ldd["libsystemd.so.0"])

    dirs = search_dirs(str(root), *X86_64)
    found = candidates(str(root), "liblz4.so.1", dirs, *X86_64)
    assert found and found[0] == real_file  # e.g. /usr/lib/x86_64-linux-gnu/liblz4.so.1.9.4
    assert os.path.basename(real_file).startswith("liblz4.so.1.")
    assert os.path.realpath(real_file) == os.path.realpath(host_ldd["liblz4.so.1"])

    assert candidates_for(str(root), libs, "liblz4.so.1")[0] == real_file
    # A BinaryLibs built from remote ldd output carries no ELF class: read from the binary.
    remote_style = BinaryLibs(SSHD, True, None, libs.needed, libs.libraries, libs.interpreter)
    assert candidates_for(str(root), remote_style, "liblz4.so.1")[0] == real_file

    owner = _dpkg_s("liblz4.so.1")  # e.g. liblz4-1:amd64
    assert package_owner(str(root), "liblz4.so.1") == owner
    assert package_owner(str(root), "liblz4.so.1", dirs=dirs) == owner
    # dpkg lists /usr/lib/...; the loader's name is /lib/... on Debian 12: both must work.
    assert package_owner(str(root), "/lib/x86_64-linux-gnu/liblz4.so.1") == owner
    assert package_owner(str(root), "/usr/lib/x86_64-linux-gnu/liblz4.so.1") == owner
    assert package_owner(str(root), real_file) == owner


def test_package_owner_merged_usr_both_ways(intact_root: Path):
    root = str(intact_root)
    libc = _dpkg_s("/lib/x86_64-linux-gnu/libc.so.6")  # libc6 lists /lib/... on Debian 12
    assert package_owner(root, "/lib/x86_64-linux-gnu/libc.so.6") == libc
    assert package_owner(root, "/usr/lib/x86_64-linux-gnu/libc.so.6") == libc
    assert package_owner(root, "/lib64/ld-linux-x86-64.so.2") == _dpkg_s(
        "/lib64/ld-linux-x86-64.so.2"
    )
    assert package_owner(root, SSHD) == _dpkg_s(SSHD)
    assert package_owner(root, "libnot-there.so.9") is None
    assert package_owner(root, "/usr/lib/x86_64-linux-gnu/libnot-there.so.9") is None


def test_package_owner_without_dpkg_database(tmp_path: Path):
    (tmp_path / "usr/lib").mkdir(parents=True)
    assert package_owner(str(tmp_path), "liblz4.so.1") is None
    assert package_owner(str(tmp_path), "/usr/lib/liblz4.so.1") is None


def test_empty_library_stops_the_loader(broken_root: tuple[Path, str]):
    """A 0-byte file where ld.so looks is fatal ("file too short"), not skipped."""
    root, real_file = broken_root
    os.truncate(resolve_in_root(str(root), real_file), 0)
    link = resolve_in_root(str(root), real_file.replace("liblz4.so.1.9.4", "liblz4.so.1"))
    os.symlink(os.path.basename(real_file), link)
    libs = resolve_offline(str(root), SSHD)
    lib = libs.library("liblz4.so.1")
    assert lib and lib.path and lib.error == "file too short"
    assert libs.missing == [] and libs.broken == ["liblz4.so.1"]
    assert candidates(str(root), "liblz4.so.1", search_dirs(str(root), *X86_64), *X86_64) == []


# --- hand-built binaries: RUNPATH, RPATH, decoys, ld.so.conf ---------------------------------


def _gcc(*args: str) -> None:
    subprocess.run(["gcc", *args], check=True, capture_output=True)


def _patch(path: Path, offset: int, value: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] = value
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def app_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """libc from the host copy, plus under /opt/app:

    lib/libdep.so.1, lib/libdemo.so.1 (needs libdep, no paths of its own),
    bin/demo-runpath (RUNPATH $ORIGIN/../arm:$ORIGIN/../i386:$ORIGIN/../lib),
    bin/demo-rpath (RPATH $ORIGIN/../lib), bin/demo-plain (no paths), bin/demo-short
    (RUNPATH $ORIGIN/../short:$ORIGIN/../lib), arm/ and i386/ hold patched decoys of libdemo,
    short/ an empty libdemo.so.1.
    """
    assert shutil.which("gcc"), "gcc builds the RUNPATH test binaries"
    root = build_root(tmp_path_factory.mktemp("app"), ("/usr/lib/openssh/sftp-server",))
    src = tmp_path_factory.mktemp("src")
    (src / "dep.c").write_text("int dep(void) { return 2; }\n")
    (src / "demo.c").write_text("int dep(void);\nint demo(void) { return dep(); }\n")
    (src / "main.c").write_text("int demo(void);\nint main(void) { return demo(); }\n")
    app = root / "opt/app"
    for d in ("bin", "lib", "arm", "i386", "short"):
        (app / d).mkdir(parents=True)
    lib = app / "lib"
    _gcc("-shared", "-fPIC", "-o", f"{lib}/libdep.so.1", f"{src}/dep.c", "-Wl,-soname,libdep.so.1")
    _gcc(
        "-shared",
        "-fPIC",
        "-o",
        f"{lib}/libdemo.so.1",
        f"{src}/demo.c",
        "-Wl,-soname,libdemo.so.1",
        f"-L{lib}",
        "-l:libdep.so.1",
    )
    variants = {
        "demo-runpath": [
            "-Wl,-rpath,$ORIGIN/../arm:$ORIGIN/../i386:$ORIGIN/../lib",
            "-Wl,--enable-new-dtags",
        ],
        "demo-rpath": ["-Wl,-rpath,$ORIGIN/../lib", "-Wl,--disable-new-dtags"],
        "demo-plain": [],
        "demo-short": ["-Wl,-rpath,$ORIGIN/../short:$ORIGIN/../lib", "-Wl,--enable-new-dtags"],
    }
    for name, flags in variants.items():
        _gcc(
            "-o",
            f"{app}/bin/{name}",
            f"{src}/main.c",
            f"-L{lib}",
            "-l:libdemo.so.1",
            f"-Wl,-rpath-link,{lib}",
            *flags,
        )
    shutil.copy(lib / "libdemo.so.1", app / "arm/libdemo.so.1")
    _patch(app / "arm/libdemo.so.1", 18, 183)  # e_machine = EM_AARCH64
    shutil.copy(lib / "libdemo.so.1", app / "i386/libdemo.so.1")
    _patch(app / "i386/libdemo.so.1", 4, 1)  # EI_CLASS = ELFCLASS32
    (app / "short/libdemo.so.1").write_bytes(b"")
    return root


def _paths(libs: BinaryLibs) -> dict[str, str | None]:
    return {lib.soname: lib.path for lib in libs.libraries}


def test_runpath_origin_skips_decoys_and_is_not_inherited(app_root: Path):
    _ldd_required()
    libs = resolve_offline(str(app_root), "/opt/app/bin/demo-runpath")
    assert libs.error is None
    # Both decoys (other machine, other class) are passed over, as ld.so does.
    assert _paths(libs)["libdemo.so.1"] == "/opt/app/lib/libdemo.so.1"
    # The executable's DT_RUNPATH does not apply to libdemo's own needs.
    assert libs.missing == ["libdep.so.1"]
    assert libs.needed_by("libdep.so.1") == "/opt/app/lib/libdemo.so.1"
    want, _ = _ldd_mapping(str(app_root / "opt/app/bin/demo-runpath"), app_root)
    assert _mapping(libs, app_root) == want


def test_rpath_is_inherited_by_dependencies(app_root: Path):
    _ldd_required()
    libs = resolve_offline(str(app_root), "/opt/app/bin/demo-rpath")
    assert libs.missing == []
    assert _paths(libs)["libdep.so.1"] == "/opt/app/lib/libdep.so.1"
    want, _ = _ldd_mapping(str(app_root / "opt/app/bin/demo-rpath"), app_root)
    assert _mapping(libs, app_root) == want


def test_empty_file_in_runpath_is_fatal_like_ld_so(app_root: Path):
    libs = resolve_offline(str(app_root), "/opt/app/bin/demo-short")
    lib = libs.library("libdemo.so.1")
    assert lib == Library(
        "libdemo.so.1", "/opt/app/short/libdemo.so.1", "/opt/app/bin/demo-short", "file too short"
    )
    # The real loader agrees (the binary is ours, built for this test).
    run = subprocess.run(
        ["ldd", str(app_root / "opt/app/bin/demo-short")], capture_output=True, text=True
    )
    assert run.returncode != 0
    assert "short/libdemo.so.1: file too short" in run.stdout + run.stderr


def test_no_paths_at_all_means_missing(app_root: Path):
    libs = resolve_offline(str(app_root), "/opt/app/bin/demo-plain")
    assert libs.missing == ["libdemo.so.1"]
    assert libs.needed == ["libdemo.so.1", "libc.so.6"]


@pytest.fixture
def conf_root(app_root: Path, tmp_path: Path) -> Path:
    """app_root + an ld.so.conf with includes, globs, comments, hwcap and absolute links."""
    root = tmp_path / "conf"
    shutil.copytree(app_root, root, symlinks=True)
    etc = root / "etc"
    shutil.rmtree(etc / "ld.so.conf.d")
    (etc / "ld.so.conf").write_text(
        "# comment\ninclude ld.so.conf.d/*.conf\nhwcap 1 nosegneg\n/opt/direct # trailing\n"
    )
    (etc / "ld.so.conf.d").mkdir()
    (etc / "ld.so.conf.d/10-a.conf").write_text("/opt/a\n")
    (etc / "ld.so.conf.d/20-b.conf").write_text("include /etc/more.d/*.conf\n/opt/b/\n")
    (etc / "ld.so.conf.d/30-loop.conf").write_text("include 30-loop.conf\n")
    (etc / "ld.so.conf.d/ignored.txt").write_text("/opt/ignored\n")
    (etc / "more.d").mkdir()
    (etc / "more.d/x.conf").write_text("/opt/nested\nrelative/dir\n/usr/lib/libc5=libc5\n")
    for d in ("a", "b", "direct", "nested", "ignored"):
        (root / "opt" / d).mkdir()
    (root / "usr/lib/libc5").mkdir()
    return root


def test_ld_so_conf_includes_globs_and_order(conf_root: Path):
    dirs = search_dirs(str(conf_root), *X86_64)
    assert dirs[:6] == [
        "/opt/a",
        "/opt/nested",
        "/usr/lib/libc5",
        "/opt/b",
        "/opt/direct",
        "/lib/x86_64-linux-gnu",
    ]
    assert "/opt/ignored" not in dirs and not any("relative" in d for d in dirs)


def test_absolute_symlink_resolves_inside_root(conf_root: Path):
    lib_dir = conf_root / "usr/lib/demo"  # not on the host: following host paths finds nothing
    lib_dir.mkdir()
    assert not os.path.exists("/usr/lib/demo")
    shutil.copy(conf_root / "opt/app/lib/libdemo.so.1", lib_dir / "libdemo.so.1.0")
    (conf_root / "opt/nested/libdemo.so.1").symlink_to("/usr/lib/demo/libdemo.so.1.0")
    shutil.copy(conf_root / "opt/app/lib/libdep.so.1", conf_root / "opt/b/libdep.so.1")
    libs = resolve_offline(str(conf_root), "/opt/app/bin/demo-plain")
    assert libs.missing == []
    paths = _paths(libs)
    assert paths["libdemo.so.1"] == "/opt/nested/libdemo.so.1"
    assert paths["libdep.so.1"] == "/opt/b/libdep.so.1"
    assert _real_in_root(conf_root, paths["libdemo.so.1"]) == "/usr/lib/demo/libdemo.so.1.0"


def test_links_pointing_out_of_root_do_not_escape(conf_root: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(conf_root / "opt/app/lib/libdemo.so.1", outside / "libdemo.so.1")
    shutil.copy(conf_root / "opt/app/lib/libdep.so.1", outside / "libdep.so.1")
    # Absolute: a real host path. Relative: climbs out of the root if followed naively.
    (conf_root / "opt/a/libdemo.so.1").symlink_to(outside / "libdemo.so.1")
    depth = len(conf_root.relative_to("/").parts)
    (conf_root / "opt/a/libdep.so.1").symlink_to("../" * (depth + 2) + str(outside / "libdep.so.1"))
    assert os.path.isfile(conf_root / "opt/a/libdemo.so.1")  # the host kernel would follow both
    assert os.path.isfile(conf_root / "opt/a/libdep.so.1")
    libs = resolve_offline(str(conf_root), "/opt/app/bin/demo-plain")
    assert libs.missing == ["libdemo.so.1"]
    # demo-runpath finds libdemo via its RUNPATH, then libdep only via /opt/a (escaping link).
    assert resolve_offline(str(conf_root), "/opt/app/bin/demo-runpath").missing == ["libdep.so.1"]


def test_candidates_ranking_and_filters(tmp_path: Path):
    lz4 = os.path.realpath("/lib/x86_64-linux-gnu/liblz4.so.1")
    root = tmp_path
    home = root / "usr/lib/x86_64-linux-gnu"
    local = root / "usr/local/lib"
    opt = root / "opt/x"
    for d in (home, local, opt):
        d.mkdir(parents=True)
    shutil.copy(lz4, home / "liblz4.so.1.9.4")
    shutil.copy(lz4, local / "liblz4.so.1.10.0")
    shutil.copy(lz4, local / "liblz4.so.1.9.10")
    (local / "liblz4.so.1.99").symlink_to("gone")  # dangling
    (local / "liblz4.so.1.9.4-copy").symlink_to("/usr/lib/x86_64-linux-gnu/liblz4.so.1.9.4")
    shutil.copy(lz4, opt / "liblz4.so.1.20")
    _patch(opt / "liblz4.so.1.20", 18, 183)  # other machine
    (opt / "liblz4.so.1.30").write_text("not an ELF")
    dirs = ["/usr/local/lib", "/opt/x", "/usr/lib/x86_64-linux-gnu"]
    # No dpkg: highest version first; the link to an already listed file is dropped.
    assert candidates(str(root), "liblz4.so.1", dirs, *X86_64) == [
        "/usr/local/lib/liblz4.so.1.10.0",
        "/usr/local/lib/liblz4.so.1.9.10",
        "/usr/lib/x86_64-linux-gnu/liblz4.so.1.9.4",
    ]
    # dpkg says liblz4.so.1 lives in /usr/lib/x86_64-linux-gnu: that directory wins.
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (info / "liblz4-1:amd64.list").write_text(
        "/.\n/usr/lib/x86_64-linux-gnu/liblz4.so.1\n/usr/lib/x86_64-linux-gnu/liblz4.so.1.9.4\n"
    )
    assert candidates(str(root), "liblz4.so.1", ["/usr/local/lib"], *X86_64)[0] == (
        "/usr/lib/x86_64-linux-gnu/liblz4.so.1.9.4"
    )
    assert package_owner(str(root), "liblz4.so.1") == "liblz4-1:amd64"
    assert candidates(str(root), "liblz4.so.1", dirs, 32, "EM_386") == []


def test_candidates_by_stem_need_matching_soname(tmp_path: Path):
    lib = tmp_path / "usr/lib/x86_64-linux-gnu"
    lib.mkdir(parents=True)
    shutil.copy(os.path.realpath("/lib/x86_64-linux-gnu/liblz4.so.1"), lib / "liblz4.so")
    shutil.copy(os.path.realpath("/lib/x86_64-linux-gnu/libz.so.1"), lib / "liblz4.so.2")
    dirs = ["/usr/lib/x86_64-linux-gnu"]
    assert candidates(str(tmp_path), "liblz4.so.1", dirs, *X86_64) == [
        "/usr/lib/x86_64-linux-gnu/liblz4.so"
    ]
    assert candidates(str(tmp_path), "libz.so.1", dirs, *X86_64) == []


# --- damaged binaries: an error, never an exception ------------------------------------------


@pytest.fixture(scope="module")
def damage_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("damage")
    (root / "usr/sbin").mkdir(parents=True)
    return root


def _put(root: Path, data: bytes) -> str:
    (root / "usr/sbin/sshd").unlink(missing_ok=True)
    (root / "usr/sbin/sshd").write_bytes(data)
    return "/usr/sbin/sshd"


@pytest.mark.parametrize("size", [0, 3, 10, 40, 64, 200, 1000, 4096, 100_000, -1000])
def test_truncated_binary(damage_root: Path, size: int):
    data = Path(SSHD).read_bytes()
    libs = resolve_offline(str(damage_root), _put(damage_root, data[:size]))
    assert libs.exists and libs.error and "\n" not in libs.error
    assert libs.libraries == []


def test_not_an_elf_directory_missing_loop(tmp_path: Path):
    root = tmp_path
    (root / "bin").mkdir()
    (root / "bin/script").write_text("#!/bin/sh\nexit 0\n")
    (root / "bin/dir").mkdir()
    (root / "bin/dangling").symlink_to("/nowhere")
    (root / "bin/loop").symlink_to("loop")
    r = str(root)
    assert resolve_offline(r, "/bin/script").error == "not an ELF file"
    assert resolve_offline(r, "/bin/dir").error == "is a directory"
    for missing in ("/bin/none", "/bin/dangling", "/none/at/all"):
        libs = resolve_offline(r, missing)
        assert not libs.exists and libs.error and libs.libraries == []
    libs = resolve_offline(r, "/bin/loop")
    assert libs.error == os.strerror(errno.ELOOP)


def test_missing_interpreter_is_reported(tmp_path: Path):
    (tmp_path / "usr/sbin").mkdir(parents=True)
    shutil.copy(SSHD, tmp_path / "usr/sbin/sshd")
    libs = resolve_offline(str(tmp_path), SSHD)
    assert libs.error and libs.error.startswith(f"interpreter {libs.interpreter} not found")
    assert "libc.so.6" in libs.missing


@settings(max_examples=60, deadline=None)
@given(
    cut=st.integers(min_value=0, max_value=20_000),
    patches=st.lists(st.tuples(st.integers(0, 20_000), st.integers(0, 255)), max_size=8),
)
def test_corrupted_binary_never_raises(damage_root: Path, cut: int, patches: list[tuple[int, int]]):
    data = bytearray(Path(SSHD).read_bytes())
    for offset, value in patches:
        data[offset] = value
    if cut:
        data = data[: len(data) - cut]
    libs = resolve_offline(str(damage_root), _put(damage_root, bytes(data)))
    assert isinstance(libs, BinaryLibs) and libs.exists
    assert libs.error is None or "\n" not in libs.error
