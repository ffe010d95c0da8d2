"""tui.core.pkgdb on real RPM databases (built by rpmbuild/rpm/db_load: tests/helpers/rpmfixture.py)
and on damaged ones: a bad page or record is skipped and reported, never a traceback or an
endless loop."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.helpers import rpmfixture
from tui.core import pkgdb
from tui.core.pkgdb import bdb, header

PAGE = 4096


def _root(tmp_path: Path, release: str, kind: str) -> Path:
    root = tmp_path / f"{release}-{kind}"
    rpmfixture.install_db(release, root, kind)
    return root


def _db_file(root: Path, kind: str) -> Path:
    return root / "var/lib/rpm" / ("rpmdb.sqlite" if kind == "sqlite" else "Packages")


@pytest.mark.parametrize("kind", ["bdb", "sqlite"])
@pytest.mark.parametrize("release", ["el7", "al3"])
def test_reads_what_rpm_itself_reads(tmp_path: Path, release: str, kind: str) -> None:
    root = _root(tmp_path, release, kind)
    db = pkgdb.read_rpmdb(str(root))
    assert (db.kind, db.error, db.problems) == (kind, None, [])
    ours = sorted(p.nvra for p in db.packages)
    backend = "bdb_ro" if kind == "bdb" else "sqlite"  # rpm's own read-only BDB reader
    rpm = subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "--define",
                          f"_db_backend {backend}", "-qa"], capture_output=True, text=True)
    assert ours == sorted(rpm.stdout.split())
    pkgs = rpmfixture.EL7 if release == "el7" else rpmfixture.AL3
    assert ours == sorted(f"{n}-{v}-{r}.{a}" for n, (v, r, a, _) in pkgs.items())


@pytest.mark.parametrize("kind", ["bdb", "sqlite"])
def test_owner_of_a_soname_and_of_a_path(tmp_path: Path, kind: str) -> None:
    db = pkgdb.read_rpmdb(str(_root(tmp_path, "el7", kind)))
    lz4 = pkgdb.owner(db, "liblz4.so.1", ["/usr/lib64"])
    assert lz4 is not None and (lz4.name, lz4.nvra) == ("lz4", "lz4-1.7.5-3.el7.x86_64")
    for path in ("/usr/lib64/liblz4.so.1.7.5", "/lib64/liblz4.so.1.7.5"):
        found = pkgdb.owner(db, path)
        assert found is not None and found.name == "lz4"
    sshd = pkgdb.owner(db, "/usr/sbin/sshd")
    assert sshd is not None and sshd.nvra == "openssh-server-7.4p1-21.el7.x86_64"
    assert pkgdb.owner(db, "libnothere.so.3") is None
    al3 = pkgdb.read_rpmdb(str(_root(tmp_path, "al3", kind)))
    libs = pkgdb.owner(al3, "liblz4.so.1")
    assert libs is not None and libs.nvra == "lz4-libs-1.9.3-5.al8.x86_64"


def test_a_big_endian_packages_file(tmp_path: Path) -> None:
    root = _root(tmp_path, "el7", "bdb-be")
    assert (root / "var/lib/rpm/Packages").read_bytes()[12:16] == b"\0\x06\x15\x61"
    db = pkgdb.read_rpmdb(str(root))
    assert (db.error, db.problems) == (None, [])
    assert len(db.packages) == len(rpmfixture.EL7)
    lz4 = pkgdb.owner(db, "liblz4.so.1")
    assert lz4 is not None and lz4.nvra == "lz4-1.7.5-3.el7.x86_64"


def test_a_versioned_file_answers_for_its_soname(tmp_path: Path) -> None:
    db = pkgdb.RpmDb(packages=[header.Package("lz4", "1", "1", "x86_64", None,
                                              ("/usr/lib64/liblz4.so.1.7.5",))])
    found = pkgdb.owner(db, "liblz4.so.1")
    assert found is not None and found.name == "lz4"


def test_headers_span_overflow_pages(tmp_path: Path) -> None:
    data = _db_file(_root(tmp_path, "el7", "bdb"), "bdb").read_bytes()
    types = [data[i * PAGE + 25] for i in range(1, len(data) // PAGE)]
    assert types.count(bdb.P_OVERFLOW) >= 3  # openssh-server's header alone takes several


def test_no_database(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    assert pkgdb.read_rpmdb(str(tmp_path)).path is None


def test_rpmdb_sqlite_wins_and_newer_location(tmp_path: Path) -> None:
    root = _root(tmp_path, "el7", "sqlite")
    shutil.move(str(root / "var/lib/rpm"), str(tmp_path / "moved"))
    (root / "usr/lib/sysimage").mkdir(parents=True)
    shutil.move(str(tmp_path / "moved"), str(root / "usr/lib/sysimage/rpm"))
    os.symlink("../../usr/lib/sysimage/rpm", root / "var/lib/rpm")
    db = pkgdb.read_rpmdb(str(root))
    assert db.path == "/var/lib/rpm/rpmdb.sqlite" and len(db.packages) == len(rpmfixture.EL7)


def test_the_original_is_not_written(tmp_path: Path) -> None:
    root = _root(tmp_path, "el7", "sqlite")
    before = sorted(os.listdir(root / "var/lib/rpm"))
    stat = (root / "var/lib/rpm/rpmdb.sqlite").stat()
    pkgdb.read_rpmdb(str(root))
    assert sorted(os.listdir(root / "var/lib/rpm")) == before  # no -shm, -wal, lock
    assert (root / "var/lib/rpm/rpmdb.sqlite").stat().st_mtime_ns == stat.st_mtime_ns


# --- damaged databases -----------------------------------------------------------------


def _hash_items(data: bytes) -> list[tuple[int, int]]:
    """(page, offset) of every H_OFFPAGE item on the hash pages of a little-endian file."""
    out = []
    for pg in range(1, len(data) // PAGE):
        page = data[pg * PAGE:(pg + 1) * PAGE]
        if page[25] not in (bdb.P_HASH, bdb.P_HASH_UNSORTED):
            continue
        n = struct.unpack_from("<H", page, 20)[0]
        for off in struct.unpack_from(f"<{n}H", page, 26):
            if page[off] == bdb.H_OFFPAGE:
                out.append((pg, off))
    return out


def _read(root: Path) -> pkgdb.RpmDb:
    db = pkgdb.read_rpmdb(str(root))  # never raises
    assert db.path is not None
    return db


@pytest.mark.parametrize("kind", ["bdb", "sqlite"])
def test_truncated(tmp_path: Path, kind: str) -> None:
    root = _root(tmp_path, "el7", kind)
    f = _db_file(root, kind)
    full = f.read_bytes()
    for cut in (len(full) // 2, len(full) - 100, 600, 100, 0):
        f.write_bytes(full[:cut])
        db = _read(root)
        assert db.error or db.problems or len(db.packages) == len(rpmfixture.EL7), cut
        assert len(db.packages) <= len(rpmfixture.EL7)
    f.write_bytes(full[:len(full) // 2])
    if kind == "bdb":
        db = _read(root)
        assert any("truncated" in p for p in db.problems)


@pytest.mark.parametrize("kind", ["bdb", "sqlite"])
def test_flipped_bytes_never_raise(tmp_path: Path, kind: str) -> None:
    root = _root(tmp_path, "el7", kind)
    f = _db_file(root, kind)
    full = f.read_bytes()
    rnd = random.Random(14)
    for _ in range(60):
        data = bytearray(full)
        for _ in range(rnd.choice((1, 8, 64))):
            data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
        f.write_bytes(bytes(data))
        db = _read(root)
        assert len(db.packages) <= len(rpmfixture.EL7) + 1


def test_every_page_header_damaged(tmp_path: Path) -> None:
    root = _root(tmp_path, "el7", "bdb")
    f = _db_file(root, "bdb")
    data = bytearray(f.read_bytes())
    for pg in range(1, len(data) // PAGE):
        data[pg * PAGE + 20:pg * PAGE + 24] = b"\xff\xff\xff\xff"  # item count, high free
    f.write_bytes(bytes(data))
    db = _read(root)
    assert db.packages == [] and db.problems


def test_overflow_chain_that_loops(tmp_path: Path) -> None:
    root = _root(tmp_path, "el7", "bdb")
    f = _db_file(root, "bdb")
    data = bytearray(f.read_bytes())
    looped = 0
    for pg, off in _hash_items(bytes(data)):
        first, total = struct.unpack_from("<II", data, pg * PAGE + off + 4)
        if total > 2 * (PAGE - 26):  # a chain of 3+ pages: point its first page at itself
            struct.pack_into("<I", data, first * PAGE + 16, first)
            looped += 1
    assert looped
    f.write_bytes(bytes(data))
    db = _read(root)
    assert any("loop" in p for p in db.problems)
    assert "openssh-server" not in {p.name for p in db.packages}
    assert "lz4" in {p.name for p in db.packages}  # the rest is still read


def test_huge_claimed_sizes(tmp_path: Path) -> None:
    root = _root(tmp_path, "el7", "bdb")
    f = _db_file(root, "bdb")
    data = bytearray(f.read_bytes())
    items = _hash_items(bytes(data))
    for pg, off in items:
        struct.pack_into("<I", data, pg * PAGE + off + 8, 0xFFFFFFF0)  # total length
    f.write_bytes(bytes(data))
    db = _read(root)
    assert any("claims 4294967280 bytes" in p for p in db.problems)


def test_header_blobs_that_lie() -> None:
    good = bytes(rpmfixture_blob())
    assert header.parse(good).name == "lz4"
    lies = [
        b"", good[:7], struct.pack(">II", 0xFFFFFFFF, 16) + good[8:],
        struct.pack(">II", 3, 0x7FFFFFFF) + good[8:], good[:len(good) // 2],
    ]
    il = struct.unpack_from(">I", good)[0]
    for i in range(il):  # every entry's offset pointing far past the data
        bad = bytearray(good)
        struct.pack_into(">i", bad, 8 + 16 * i + 8, 0x7FFFFFF0)
        lies.append(bytes(bad))
    for blob in lies[:5]:
        with pytest.raises(header.BadHeader):
            header.parse(blob)
    for blob in lies[5:]:  # an entry the reader does not need may point anywhere
        with contextlib.suppress(header.BadHeader):
            header.parse(blob)


def rpmfixture_blob() -> bytes:
    import sqlite3

    conn = sqlite3.connect(f"file:{rpmfixture.build('el7') / 'rpmdb.sqlite'}?mode=ro",
                           uri=True)
    try:
        for (blob,) in conn.execute("SELECT blob FROM Packages"):
            if header.parse(blob).name == "lz4":
                return bytes(blob)
    finally:
        conn.close()
    raise AssertionError("no lz4")


def test_sqlite_bad_rows_are_skipped(tmp_path: Path) -> None:
    import sqlite3

    root = _root(tmp_path, "el7", "sqlite")
    f = _db_file(root, "sqlite")
    conn = sqlite3.connect(str(f))
    conn.execute("INSERT INTO Packages (blob) VALUES (?)", (b"\0\0\0\x05garbage",))
    conn.execute("INSERT INTO Packages (blob) VALUES (?)", ("text, not a blob",))
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for extra in ("-wal", "-shm"):
        (f.parent / f"rpmdb.sqlite{extra}").unlink(missing_ok=True)
    db = _read(root)
    assert len(db.packages) == len(rpmfixture.EL7)
    assert len(db.problems) == 2 and all("skipped" in p for p in db.problems)


def test_not_a_database_at_all(tmp_path: Path) -> None:
    for name in ("rpmdb.sqlite", "Packages"):
        root = tmp_path / name
        (root / "var/lib/rpm").mkdir(parents=True)
        (root / "var/lib/rpm" / name).write_bytes(os.urandom(8192))
        db = _read(root)
        assert db.error and db.packages == []


def test_a_fifo_or_an_escaping_link_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "var/lib/rpm").mkdir(parents=True)
    os.mkfifo(root / "var/lib/rpm/Packages")
    db = _read(root)  # would hang if opened
    assert db.error and "FIFO" in db.error
    os.unlink(root / "var/lib/rpm/Packages")
    outside = tmp_path / "outside.sqlite"
    outside.write_bytes(b"x")
    os.symlink(str(outside), root / "var/lib/rpm/rpmdb.sqlite")  # resolved inside the root
    assert pkgdb.read_rpmdb(str(root)).path is None


def test_an_unreadable_sqlite_falls_back_to_packages(tmp_path: Path) -> None:
    root = _root(tmp_path, "el7", "bdb")
    (root / "var/lib/rpm/rpmdb.sqlite").write_bytes(b"not sqlite at all" * 300)
    db = _read(root)
    assert db.path == "/var/lib/rpm/Packages" and db.error is None
    assert len(db.packages) == len(rpmfixture.EL7)
    assert "read /var/lib/rpm/Packages instead" in db.problems[0]


def test_a_sqlite_blob_past_the_cap_is_skipped(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pkgdb, "MAX_BLOB", 100)
    db = _read(_root(tmp_path, "el7", "sqlite"))
    assert db.packages == [] and len(db.problems) == len(rpmfixture.EL7)
    assert all("too large" in p for p in db.problems)
