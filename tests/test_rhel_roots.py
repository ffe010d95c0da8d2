"""`check --root` on RHEL-family disks whose RPM databases are real (tests/helpers/rpmfixture.py):
CentOS 7 with a Berkeley DB Packages file, Alibaba Cloud Linux 3 with rpmdb.sqlite or
Packages. The libraries finding names the owning package from the disk's own database and
advises the disk's own tools, run under chroot so they act on the disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import al3_root, centos7_root
from tests.helpers.mountns import run_tool
from tui.core.diagnosis import libraries
from tui.core.facts.model import Facts, PackageInfo


def check(root: Path, ip: str, *extra: str) -> tuple[int, str]:
    r = run_tool("check", "--root", str(root), "--client-ip", ip, *extra)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, r.stdout


def lib_lines(out: str) -> list[str]:
    lines = out.splitlines()
    i = next(i for i, line in enumerate(lines) if " libraries " in line)
    block = [lines[i]]
    for line in lines[i + 1:]:
        if not line.startswith(" "):
            break
        block.append(line.strip())
    return block


def test_centos7_both_seed_faults(tmp_path: Path) -> None:
    root = centos7_root.build(tmp_path / "c7")
    code, out = check(root, centos7_root.CLIENT)
    assert code == 1
    assert ("denied for 203.0.113.7 by /etc/hosts.deny line 13: all:all:deny" in out)
    block = lib_lines(out)
    assert "missing liblz4.so.1 (needed by /lib64/libsystemd.so.0)" in block[0]
    # the article's symlink, or the package named by the disk's own RPM database
    assert block[1:] == [f"- ln -s liblz4.so.1.7.5 {root}/lib64/liblz4.so.1",
                         f"- or reinstall its package: chroot {root} yum reinstall lz4   # "
                         "lz4-1.7.5-3.el7.x86_64 ships liblz4.so.1, from /var/lib/rpm/Packages",
                         f"fix: ssh-reset-doctor fix libraries --root {root}"]
    doc = json.loads(run_tool("check", "--root", str(root), "--json").stdout)
    lib = next(f for f in doc["findings"] if f["id"] == "libraries")
    assert lib["evidence"]["owners"] == {"liblz4.so.1": "lz4"}  # from the BDB Packages file


def test_centos7_library_gone_reinstall_with_yum_or_the_cached_rpm(tmp_path: Path) -> None:
    root = centos7_root.build(tmp_path / "c7", lz4_gone=True)
    code, out = check(root, centos7_root.CLIENT)
    assert code == 1
    assert lib_lines(out)[1:] == [
        f"- chroot {root} yum reinstall lz4   # lz4-1.7.5-3.el7.x86_64 ships liblz4.so.1, "
        "from /var/lib/rpm/Packages",
        f"- or, offline: chroot {root} rpm -Uvh --replacepkgs {centos7_root.LZ4_RPM}   # the "
        "package file in the local cache",
    ]  # and no `fix libraries` hint: fix has no safe edit here
    r = run_tool("fix", "libraries", "--root", str(root))
    assert "no safe edit" in r.stdout + r.stderr


def test_centos7_healthy_is_quiet(tmp_path: Path) -> None:
    root = centos7_root.build(tmp_path / "c7", faults=False)
    code, out = check(root, centos7_root.CLIENT)
    assert code == 0, out


@pytest.mark.parametrize("rpmdb", ["sqlite", "bdb"])
def test_al3_library_gone_dnf_reinstall_from_either_database(tmp_path: Path, rpmdb: str) -> None:
    root = al3_root.build(tmp_path / "al3", lz4_gone=True, rpmdb=rpmdb)
    code, out = check(root, al3_root.CLIENT)
    assert code == 1
    assert "does not use tcp wrappers" in out  # RHEL 8 family: all:all:deny cannot matter
    label = "/var/lib/rpm/" + ("rpmdb.sqlite" if rpmdb == "sqlite" else "Packages")
    assert lib_lines(out)[1:] == [
        f"- chroot {root} dnf reinstall lz4-libs   # lz4-libs-1.9.3-5.al8.x86_64 ships "
        f"liblz4.so.1, from {label}"]


def test_al3_dnf_needs_the_library_rpm_from_the_cache(tmp_path: Path) -> None:
    root = al3_root.build(tmp_path / "al3", lz4_gone=True, dnf_needs_lz4=True, dnf_cache=True)
    assert lib_lines(check(root, al3_root.CLIENT)[1])[1:] == [
        f"- as dnf cannot start (it needs liblz4.so.1 too), instead: chroot {root} rpm -Uvh "
        f"--replacepkgs {al3_root.LZ4_RPM}   # the package file in the local cache"]


def test_al3_dnf_needs_the_library_no_cache(tmp_path: Path) -> None:
    root = al3_root.build(tmp_path / "al3", lz4_gone=True, dnf_needs_lz4=True)
    assert lib_lines(check(root, al3_root.CLIENT)[1])[1:] == [
        "- as dnf cannot start (it needs liblz4.so.1 too), instead: copy "
        "lz4-libs-1.9.3-5.al8.x86_64.rpm from a healthy instance of the same release "
        f"(dnf download lz4-libs there) to {root}/root/, then: chroot {root} rpm -Uvh "
        "--replacepkgs /root/lz4-libs-1.9.3-5.al8.x86_64.rpm"]


def test_al3_rpm_needs_the_library_too(tmp_path: Path) -> None:
    root = al3_root.build(tmp_path / "al3", lz4_gone=True, rpm_needs_lz4=True, dnf_cache=True)
    assert lib_lines(check(root, al3_root.CLIENT)[1])[1:] == [
        "- as dnf and rpm cannot start (both need liblz4.so.1 too); copy /usr/lib64/liblz4.so.1 "
        "and /usr/lib64/liblz4.so.1.9.3 from a healthy instance of the same release into "
        f"{root}/usr/lib64/ (cp -a keeps a link a link), then: chroot {root} dnf reinstall "
        "lz4-libs"]


def test_al3_soname_link_only(tmp_path: Path) -> None:
    root = al3_root.build(tmp_path / "al3")
    block = lib_lines(check(root, al3_root.CLIENT)[1])
    assert block[1] == f"- ln -s liblz4.so.1.9.3 {root}/lib64/liblz4.so.1"


# --- the advice itself, for each package world -----------------------------------------


def _facts(kind: str, info: PackageInfo) -> Facts:
    f = Facts(target="/mnt/disk" if kind == "root" else "this machine (web1)", kind=kind,
              live=kind == "local", package_manager="dpkg" if info.db == "dpkg" else "rpm")
    f.owners["liblz4.so.1"] = info.name
    f.packages["liblz4.so.1"] = info
    return f


def test_local_advice_has_no_chroot() -> None:
    info = PackageInfo("lz4", nvra="lz4-1.7.5-3.el7.x86_64", db="/var/lib/rpm/Packages",
                       manager="yum", manager_needs=None)
    assert libraries.remedy_lines(_facts("local", info), ["liblz4.so.1"]) == [
        "yum reinstall lz4   # lz4-1.7.5-3.el7.x86_64 ships liblz4.so.1, from "
        "/var/lib/rpm/Packages",
        "if yum fails to start (it may need liblz4.so.1 too): copy lz4-1.7.5-3.el7.x86_64.rpm "
        "from a healthy instance of the same release (yumdownloader lz4 there) to /root/, "
        "then: rpm -Uvh --replacepkgs /root/lz4-1.7.5-3.el7.x86_64.rpm"]


def test_debian_apt_get_needs_liblz4_dpkg_from_the_archive() -> None:
    deb = "/var/cache/apt/archives/liblz4-1_1.9.4-1_amd64.deb"
    info = PackageInfo("liblz4-1", db="dpkg", manager="apt-get", cached=[deb],
                       manager_needs=True, installer_needs=False)
    assert libraries.remedy_lines(_facts("root", info), ["liblz4.so.1"]) == [
        f"as apt-get cannot start (it needs liblz4.so.1 too), instead: chroot /mnt/disk dpkg -i "
        f"{deb}   # the package file in the local cache"]
    info = PackageInfo("liblz4-1", db="dpkg", manager="apt-get", manager_needs=False)
    assert libraries.remedy_lines(_facts("root", info), ["liblz4.so.1"]) == [
        "chroot /mnt/disk apt-get install --reinstall liblz4-1   # ships liblz4.so.1"]


def test_a_damaged_packages_file_is_noted_never_a_traceback(tmp_path: Path) -> None:
    root = centos7_root.build(tmp_path / "c7", lz4_gone=True)
    packages = root / "var/lib/rpm/Packages"
    data = bytearray(packages.read_bytes())
    for pg in range(1, len(data) // 4096):  # every hash page claims more items than fit
        if data[pg * 4096 + 25] == 13:
            data[pg * 4096 + 20:pg * 4096 + 22] = b"\xff\x7f"
    packages.write_bytes(bytes(data))
    r = run_tool("check", "--root", str(root), "--client-ip", centos7_root.CLIENT)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "no file of liblz4.so.1 is left" in r.stdout  # no owner known: the generic advice
    assert "note:    RPM database: /var/lib/rpm/Packages: page" in r.stdout
