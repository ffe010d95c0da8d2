"""SELinux: file_contexts lookups, wrong labels and port labels as causes, labels on what the
tool creates.

The file_contexts lines are as RHEL's targeted policy ships them (the ssh ones from
fedora-selinux/selinux-policy policy/modules/services/ssh.fc, gen_context() expanded), in the
order fc_sort gives them: least specific first.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tui.core import selinux
from tui.core.changes.apply import apply_plan
from tui.core.changes.plan import FileEdit, Plan, Symlink
from tui.core.diagnosis import registry
from tui.core.diagnosis import selinux as check
from tui.core.facts.model import Facts, FileBlob, PathInfo
from tui.core.targets.localops import LocalOps

FILE_CONTEXTS = b"""\
/.*\t\t\t\tsystem_u:object_r:default_t:s0
/[^/]+\t\t--\tsystem_u:object_r:etc_runtime_t:s0
/etc/.*\t\t\t\tsystem_u:object_r:etc_t:s0
/lib(/.*)?\t\t\tsystem_u:object_r:lib_t:s0
/usr/.*\t\t\t\tsystem_u:object_r:usr_t:s0
/usr/lib(/.*)?\t\t\tsystem_u:object_r:lib_t:s0
/usr/lib64(/.*)?\t\tsystem_u:object_r:lib_t:s0
/usr/sbin(/.*)?\t\t\tsystem_u:object_r:bin_t:s0
/root(/.*)?\t\t\tsystem_u:object_r:admin_home_t:s0
/etc/ssh/primes\t\t--\tsystem_u:object_r:sshd_key_t:s0
/etc/ssh/ssh_host.*_key\t--\tsystem_u:object_r:sshd_key_t:s0
/etc/ssh/ssh_host.*_key\\.pub\t--\tsystem_u:object_r:sshd_key_t:s0
/etc/rc\\.d/init\\.d/sshd\t--\tsystem_u:object_r:sshd_initrc_exec_t:s0
/root/\\.ssh(/.*)?\t\tsystem_u:object_r:ssh_home_t:s0
/usr/sbin/sshd\t\t--\tsystem_u:object_r:sshd_exec_t:s0
/usr/sbin/sshd-keygen\t--\tsystem_u:object_r:sshd_keygen_exec_t:s0
/etc/nologin\t\t<<none>>
"""
CONFIG = b"""\
# This file controls the state of SELinux on the system.
SELINUX=enforcing
SELINUXTYPE=targeted
"""
FC = "/etc/selinux/targeted/contexts/files/file_contexts"
REG, DIR, LNK = stat.S_IFREG | 0o600, stat.S_IFDIR | 0o755, stat.S_IFLNK | 0o777


def _contexts(local: bytes = b"") -> selinux.FileContexts:
    return selinux.FileContexts.parse((FC, FILE_CONTEXTS), (FC + ".local", local))


# -- file_contexts ----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "mode", "type_"), [
    ("/etc/ssh/ssh_host_ed25519_key", REG, "sshd_key_t"),
    ("/etc/ssh/ssh_host_rsa_key.pub", REG, "sshd_key_t"),
    ("/etc/ssh/sshd_config", REG, "etc_t"),
    ("/etc/ssh/ssh_host_ed25519_key", DIR, "etc_t"),  # `--`: regular files only
    ("/usr/sbin/sshd", REG, "sshd_exec_t"),  # exact: wins over /usr/sbin(/.*)?
    ("/usr/sbin/sshd-keygen", REG, "sshd_keygen_exec_t"),
    ("/usr/sbin/sshd.bak", REG, "bin_t"),
    ("/usr/lib64/liblz4.so.1", LNK, "lib_t"),
    ("/usr/share/doc", DIR, "usr_t"),
    ("/root/.ssh/authorized_keys", REG, "ssh_home_t"),
    ("/etc/rc.d/init.d/sshd", REG, "sshd_initrc_exec_t"),  # escaped dots: still exact
    ("/etc/rcXd/init.d/sshd", REG, "etc_t"),  # ... and they match only a dot
    ("/hello", REG, "etc_runtime_t"),
    ("/srv", DIR, "default_t"),
])
def test_lookup_as_libselinux(path: str, mode: int, type_: str) -> None:
    assert selinux.type_of(_contexts().lookup(path, mode)) == type_


def test_none_and_no_match() -> None:
    assert _contexts().lookup("/etc/nologin", REG) is None  # <<none>>: left as it is
    assert selinux.FileContexts.parse((FC, b"/etc/.*\tsystem_u:object_r:etc_t:s0\n")).lookup(
        "/usr/sbin/sshd", REG) is None


def test_local_customisations_come_last() -> None:
    # A regex of file_contexts.local beats the shipped regexes (read after them) ...
    local = b"/etc/ssh/ssh_host_.*_key\t--\tsystem_u:object_r:etc_t:s0\n"
    assert selinux.type_of(_contexts(local).lookup("/etc/ssh/ssh_host_rsa_key", REG)) == "etc_t"
    # ... but never a shipped exact path: exact specifications are tried first.
    local = b"/usr/sbin/ss.*\t--\tsystem_u:object_r:bin_t:s0\n"
    assert selinux.type_of(_contexts(local).lookup("/usr/sbin/sshd", REG)) == "sshd_exec_t"
    local = b"/usr/sbin/sshd\t--\tsystem_u:object_r:bin_t:s0\n"  # exact after exact: wins
    assert selinux.type_of(_contexts(local).lookup("/usr/sbin/sshd", REG)) == "bin_t"


def test_path_aliases() -> None:
    # RHEL's file_contexts.subs_dist: /lib64 is looked up as /usr/lib64, /run as /var/run.
    fc = _contexts()
    fc.subs = selinux.parse_subs(b"/lib64 /usr/lib64\n/run /var/run\n/sbin /usr/sbin\n")
    assert selinux.type_of(fc.lookup("/lib64/liblz4.so.1", LNK)) == "lib_t"
    assert selinux.type_of(fc.lookup("/sbin/sshd", REG)) == "sshd_exec_t"
    assert selinux.type_of(fc.lookup("/lib64x/a", REG)) == "default_t"  # a whole component


@pytest.mark.parametrize(("regex", "path"), [
    ("/usr/lib64?/x", "/usr/lib6/x"),  # the optional 4 is not part of the literal prefix
    ("/a|/b", "/b"),  # an alternation: no literal prefix is assumed
    ("/opt/x{0,1}y", "/opt/y"),
    ("/srv/\\.hidden", "/srv/.hidden"),
])
def test_literal_prefix_never_hides_a_match(regex: str, path: str) -> None:
    fc = selinux.FileContexts.parse((FC, f"{regex}\tsystem_u:object_r:x_t:s0\n".encode()))
    assert selinux.type_of(fc.lookup(path, REG)) == "x_t"


def test_bad_lines_are_skipped() -> None:
    fc = selinux.FileContexts.parse((FC, b"one\n/a -x system_u:object_r:a_t:s0\n/b(\tx:y:b_t\n"
                                         b"/.*\tsystem_u:object_r:default_t:s0\n"))
    assert len(fc.errors) == 2
    assert selinux.type_of(fc.lookup("/b(", REG)) == "default_t"  # the bad regex never matches


CRAFTED = r"""
import time
from tui.core import selinux
spec = b"/etc/ssh/ssh_host_(.|.|.|.)*_keyX\tsystem_u:object_r:x_t:s0\n"
fc = selinux.FileContexts.parse(("fc", spec))
t = time.monotonic()
print(fc.lookup("/etc/ssh/ssh_host_ed25519_ed25519_ed25519_key", 0), time.monotonic() - t < 1)
"""


def test_a_crafted_backtracking_spec_is_never_run() -> None:
    """A disk's policy may be crafted: (.|.|.|.)* over the rest of a key's path would take
    Python's re hours. Such a spec is skipped (a subprocess, so a regression is a timeout,
    not a hung suite)."""
    r = subprocess.run([sys.executable, "-c", CRAFTED], capture_output=True, text=True,
                       timeout=30)
    assert r.stdout.split() == ["None", "True"], r.stderr
    assert selinux._ambiguous_repeat("(a+)+") and selinux._ambiguous_repeat("((a|b)c)*")
    assert not selinux._ambiguous_repeat("/usr/lib(64)?/(.*/)?libfoo\\.so.*")


def test_config_and_ports_local() -> None:
    assert selinux.parse_config(CONFIG) == ("enforcing", "targeted")
    assert selinux.parse_config(b'SELINUX="Permissive"\nSELINUXTYPE=../x y\n') == (
        "permissive", None)
    local = selinux.parse_ports_local(
        b"portcon tcp 2222 system_u:object_r:ssh_port_t:s0\n"
        b"# This file is auto-generated by libsemanage\n"
        b"portcon tcp 8000 - 8100 system_u:object_r:http_port_t:s0\n"
        b"portcon TCP 8090-8091 system_u:object_r:ssh_port_t:s0\n"
        b"portcon udp 2223 system_u:object_r:ssh_port_t:s0\n")
    assert selinux.port_type(2222, local) == "ssh_port_t"
    assert selinux.port_type(8080, local) == "http_port_t"
    assert selinux.port_type(8091, local) == "ssh_port_t"  # the narrower range
    assert selinux.port_type(2223, local) is None  # udp
    assert selinux.encode_label("system_u:object_r:etc_t:s0") == b"system_u:object_r:etc_t:s0\0"


# -- the finding, on collected facts ------------------------------------------------------

KEY = "/etc/ssh/ssh_host_ed25519_key"
LABELS = {
    "/usr/sbin/sshd": (stat.S_IFREG | 0o755, "system_u:object_r:sshd_exec_t:s0"),
    KEY: (REG, "system_u:object_r:sshd_key_t:s0"),
    "/etc/ssh/sshd_config": (REG, "system_u:object_r:etc_t:s0"),
}


def _facts(labels: dict[str, tuple[int, str | None]] | None = None, *, config: bytes = CONFIG,
           sshd_config: bytes = b"HostKey " + KEY.encode() + b"\n",
           ports_local: bytes | None = None) -> Facts:
    files = {"/etc/selinux/config": FileBlob(config), FC: FileBlob(FILE_CONTEXTS),
             FC + ".local": FileBlob(None, errno.ENOENT),
             "/etc/ssh/sshd_config": FileBlob(sshd_config)}
    store = "/var/lib/selinux/targeted/active/ports.local"
    files[store] = FileBlob(ports_local, None if ports_local is not None else errno.ENOENT)
    paths = {p: PathInfo(m, 0, 0, label=lab) for p, (m, lab) in (labels or LABELS).items()}
    return Facts("/mnt/sysimage", "root", False, files=files, paths=paths)


def test_no_selinux_no_finding() -> None:
    assert check.finding(Facts("/mnt/d", "root", False)) is None
    f = check.finding(_facts(config=b"SELINUX=disabled\nSELINUXTYPE=targeted\n"))
    assert f is not None and f.status == "ok" and "disabled" in f.summary


def test_labels_as_wanted() -> None:
    f = check.finding(_facts())
    assert f is not None and f.status == "ok", f.summary
    assert "3 of sshd's files carry their policy labels" in f.summary
    assert "port 22 is ssh_port_t" in f.summary


def test_wrong_host_key_label_is_a_cause() -> None:
    # A key moved in from /root keeps admin_home_t: sshd_t cannot read it.
    labels = dict(LABELS, **{KEY: (REG, "unconfined_u:object_r:admin_home_t:s0"),
                             "/etc/ssh/sshd_config": (REG, None)})
    f = check.finding(_facts(labels))
    assert f is not None and f.status == "problem"
    assert f"{KEY} is admin_home_t, not sshd_key_t" in f.summary
    assert "/etc/ssh/sshd_config has no label (needs etc_t)" in f.summary
    assert f.remedy[0] == ("touch /mnt/sysimage/.autorelabel   # the disk's next boot relabels "
                           "every file (takes a while), then reboots")
    assert "restorecon -Rv /etc/ssh" in f.remedy[1]
    rows = {r["path"]: r for r in f.to_json()["evidence"]["labels"]}
    assert rows[KEY] == {"path": KEY, "label": "unconfined_u:object_r:admin_home_t:s0",
                         "wanted": "system_u:object_r:sshd_key_t:s0", "ok": False}
    assert rows["/usr/sbin/sshd"]["ok"] is True


def test_permissive_is_a_warning_and_live_uses_the_kernel() -> None:
    labels = dict(LABELS, **{"/usr/sbin/sshd": (REG, "system_u:object_r:bin_t:s0")})
    f = check.finding(_facts(labels, config=CONFIG.replace(b"enforcing", b"permissive")))
    assert f is not None and f.status == "warning" and "bites once it enforces" in f.summary
    live = _facts(labels)
    live.kind, live.live, live.target = "local", True, "this machine"
    live.files[selinux.ENFORCE] = FileBlob(b"1")
    f = check.finding(live)
    assert f is not None and f.status == "problem"
    assert f.remedy == ["restorecon -Rv /usr/sbin/sshd", "systemctl restart sshd"]
    live.files[selinux.ENFORCE] = FileBlob(b"0")
    assert check.finding(live).status == "warning"  # type: ignore[union-attr]


@pytest.mark.parametrize(("ports_local", "status", "words"), [
    (b"portcon tcp 2222 system_u:object_r:ssh_port_t:s0\n", "ok", "port 2222 is ssh_port_t"),
    (None, "problem", "port 2222 is not labelled ssh_port_t"),  # a store without local ports
    (b"portcon tcp 2222 system_u:object_r:http_port_t:s0\n", "problem",
     "port 2222 is labelled http_port_t"),
])
def test_port_labels(ports_local: bytes | None, status: str, words: str) -> None:
    f = check.finding(_facts(sshd_config=b"Port 2222\n", ports_local=ports_local))
    assert f is not None and f.status == status and words in f.summary, f.summary
    if status == "problem":
        flag = "-a" if ports_local is None else "-m"
        assert f.remedy[-2].startswith(f"chroot /mnt/sysimage semanage port -N {flag} -t "
                                       "ssh_port_t -p tcp 2222")


def test_port_label_cannot_tell_without_a_store() -> None:
    facts = _facts(sshd_config=b"Port 2222\n")
    del facts.files["/var/lib/selinux/targeted/active/ports.local"]
    f = check.finding(facts)
    assert f is not None and f.status == "unknown" and "not known: the label of port 2222" \
        in f.summary


# -- on a real file system: collected labels, labels set by `fix` ----------------------


def _xattrs_allowed(where: Path) -> bool:
    probe = where / ".probe"
    probe.write_bytes(b"")
    try:
        selinux.set_label(str(probe), "system_u:object_r:etc_t:s0")
        return selinux.get_label(str(probe)) == "system_u:object_r:etc_t:s0"
    except OSError:
        return False
    finally:
        probe.unlink()


def _selinux_disk(root: Path) -> None:
    (root / "etc/selinux/targeted/contexts/files").mkdir(parents=True, exist_ok=True)
    (root / "etc/selinux/config").write_bytes(CONFIG)
    (root / FC.lstrip("/")).write_bytes(FILE_CONTEXTS)
    (root / "var/lib/selinux/targeted/active").mkdir(parents=True)


@pytest.mark.integration
def test_collect_and_find_wrong_labels_on_a_root(tmp_path: Path) -> None:
    from tests.helpers.fixture_root import build_root
    from tui.core.facts import local

    # the integration tier runs as root, where this kernel keeps security.selinux on ext4
    # and tmpfs without an LSM: a refusal is a broken premise, never a skip
    assert _xattrs_allowed(tmp_path), "security.selinux refused here (the tier needs root)"
    root = build_root(tmp_path / "sysimage")
    _selinux_disk(root)
    key = root / KEY.lstrip("/")
    selinux.set_label(str(key), "unconfined_u:object_r:admin_home_t:s0")
    selinux.set_label(str(root / "usr/sbin/sshd"), "system_u:object_r:sshd_exec_t:s0")
    (root / "etc/ssh/sshd_config").write_bytes(b"Port 2222\n")  # and no semanage port -a
    facts = local.collect(str(root))
    assert facts.paths[KEY].label == "unconfined_u:object_r:admin_home_t:s0"
    assert facts.paths["/usr/sbin/sshd"].label == "system_u:object_r:sshd_exec_t:s0"
    f = registry.get(registry.SELINUX).finding(registry.Context(facts))
    assert f is not None and f.status == "problem"
    assert f"{KEY} is admin_home_t, not sshd_key_t" in f.summary
    assert "/etc/ssh/sshd_config has no label (needs etc_t)" in f.summary
    assert any(r.startswith(f"chroot {root} semanage port -N -a -t ssh_port_t -p tcp 2222 ")
               for r in f.remedy)
    assert f.to_json()["evidence"]["ports"] == [{
        "port": 2222, "type": None,
        "source": "/var/lib/selinux/targeted/active/ports.local (absent)"}]


@pytest.mark.integration
def test_fix_labels_what_it_creates_on_a_root(tmp_path: Path) -> None:
    # the integration tier runs as root, where this kernel keeps security.selinux on ext4
    # and tmpfs without an LSM: a refusal is a broken premise, never a skip
    assert _xattrs_allowed(tmp_path), "security.selinux refused here (the tier needs root)"
    root = tmp_path / "sysimage"
    (root / "usr/lib64").mkdir(parents=True)
    (root / "usr/lib64/liblz4.so.1.7.5").write_bytes(b"\x7fELF")
    (root / "lib64").symlink_to("usr/lib64")  # as on RHEL: labelled as where it leads
    (root / "etc").mkdir()
    deny = root / "etc/hosts.deny"
    deny.write_bytes(b"sshd: 203.0.113.9\n")
    selinux.set_label(str(deny), "system_u:object_r:net_conf_t:s0")  # kept, not the policy's
    _selinux_disk(root)
    plan = Plan("test", "test", [
        Symlink("/lib64/liblz4.so.1", "liblz4.so.1.7.5"),
        FileEdit("/etc/hosts.deny", b"sshd: 203.0.113.9\n", b"# sshd: 203.0.113.9\n"),
        FileEdit("/etc/hosts.allow", None, b"sshd: 198.51.100.7\n"),
    ])
    cs = apply_plan(LocalOps(str(root)), plan, target=str(root))
    assert cs.notes == []
    assert selinux.get_label(str(root / "usr/lib64/liblz4.so.1")) == \
        "system_u:object_r:lib_t:s0"  # the link itself (lsetxattr), not its target
    assert selinux.get_label(str(root / "usr/lib64/liblz4.so.1.7.5")) != \
        "system_u:object_r:lib_t:s0"
    assert selinux.get_label(str(deny)) == "system_u:object_r:net_conf_t:s0"
    assert selinux.get_label(str(root / "etc/hosts.allow")) == "system_u:object_r:etc_t:s0"
    assert os.readlink(root / "usr/lib64/liblz4.so.1") == "liblz4.so.1.7.5"


def test_fix_says_when_it_cannot_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No file_contexts on an SELinux disk, and a file system that refuses the attribute:
    the change is made and the result says how to get the labels."""
    root = tmp_path / "sysimage"
    (root / "usr/lib64").mkdir(parents=True)
    (root / "usr/lib64/liblz4.so.1.7.5").write_bytes(b"\x7fELF")
    (root / "etc/selinux").mkdir(parents=True)
    (root / "etc/selinux/config").write_bytes(CONFIG)
    cs = apply_plan(LocalOps(str(root)), Plan("t", "t", [
        Symlink("/usr/lib64/liblz4.so.1", "liblz4.so.1.7.5")]), target=str(root))
    assert cs.notes == [
        "/usr/lib64/liblz4.so.1: its SELinux label was not set: the policy's file_contexts "
        f"could not be read; run: touch {root}/.autorelabel (the disk's next boot relabels "
        "every file)"]
    _selinux_disk(root)

    def refuse(*a: object, **k: object) -> None:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(os, "setxattr", refuse)
    cs = apply_plan(LocalOps(str(root)), Plan("t", "t", [
        FileEdit("/etc/hosts.allow", None, b"sshd: ALL\n")]), target=str(root))
    assert cs.notes == [
        "/etc/hosts.allow: its SELinux label (etc_t) was not set: the file system keeps no such "
        f"labels; run: touch {root}/.autorelabel (the disk's next boot relabels every file)"]
    assert (root / "etc/hosts.allow").read_bytes() == b"sshd: ALL\n"


def test_no_selinux_no_labels_no_notes(tmp_path: Path) -> None:
    root = tmp_path / "sysimage"
    (root / "etc").mkdir(parents=True)
    cs = apply_plan(LocalOps(str(root)), Plan("t", "t", [
        FileEdit("/etc/hosts.allow", None, b"sshd: ALL\n")]), target=str(root))
    assert cs.notes == []


_RAMFS_SCRIPT = """
import sys
from tui.core.changes.apply import apply_plan
from tui.core.changes.plan import Plan, Symlink
from tui.core.targets.localops import LocalOps
root = sys.argv[1]
cs = apply_plan(LocalOps(root), Plan("t", "t", [Symlink("/usr/lib64/liblz4.so.1",
                "liblz4.so.1.7.5")]), target=root, journal_dir="/var/lib/srd-journal")
print("\\n".join(cs.notes))
"""


@pytest.mark.integration
def test_a_file_system_without_xattrs_for_real(tmp_path: Path) -> None:
    """ramfs keeps no extended attributes (EOPNOTSUPP): mounted in a private namespace."""
    from tests.helpers.mountns import MountNamespace

    (tmp_path / "ns").mkdir()
    ns = MountNamespace(tmp_path / "ns")
    try:
        root = tmp_path / "sysimage"
        root.mkdir()
        ns.sh(f"mount -t ramfs none {root}")
        setup = (f"mkdir -p {root}/usr/lib64 {root}/etc/selinux/targeted/contexts/files && "
                 f"printf 'x' > {root}/usr/lib64/liblz4.so.1.7.5 && "
                 f"printf 'SELINUX=enforcing\\nSELINUXTYPE=targeted\\n' > "
                 f"{root}/etc/selinux/config && "
                 f"printf '/usr/lib64(/.*)?\\tsystem_u:object_r:lib_t:s0\\n' > {root}{FC}")
        ns.sh(setup)
        out = subprocess.run([*ns.prefix, sys.executable, "-c", _RAMFS_SCRIPT, str(root)],
                             capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent.parent)
        assert out.stdout.strip() == (
            "/usr/lib64/liblz4.so.1: its SELinux label (lib_t) was not set: the file system "
            f"keeps no such labels; run: touch {root}/.autorelabel (the disk's next boot "
            "relabels every file)")
    finally:
        ns.close()


class _NoLabels(LocalOps):
    """Like SftpOps: no way to set an extended attribute."""

    label = None  # type: ignore[assignment]


@pytest.mark.parametrize("config", [CONFIG, None])
def test_over_sftp_restorecon_is_advised_where_selinux_is_on(tmp_path: Path,
                                                             config: bytes | None) -> None:
    root = tmp_path / "host"
    (root / "etc/selinux").mkdir(parents=True)
    if config:
        (root / "etc/selinux/config").write_bytes(config)
    cs = apply_plan(_NoLabels(str(root)), Plan("t", "t", [
        FileEdit("/etc/hosts.allow", None, b"sshd: ALL\n")]), target="root@web1")
    assert cs.notes == ([
        "SELinux labels cannot be set over SFTP: to be sure the files have theirs, run on the "
        "host: restorecon -v /etc/hosts.allow"] if config else [])


def test_live_enforcing_without_a_config() -> None:
    facts = Facts("this machine", "local", True, files={selinux.ENFORCE: FileBlob(b"1\n")})
    f = check.finding(facts)
    assert f is not None and f.status == "unknown"
    assert f.summary == ("SELinux is enforcing, but /etc/selinux/config is missing: which "
                         "policy's labels apply is not known")
    assert f.to_json()["evidence"]["mode_from"] == "/sys/fs/selinux/enforce"
