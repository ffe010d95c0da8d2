"""Which change set undo may restore, and what it would restore (the undo dialog and the
list of change sets show exactly this): real files under a temporary root, no root needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.changes.apply import ChangeError, apply_plan
from tui.core.changes.plan import FileEdit, Plan
from tui.core.changes.undo import inspect, undo
from tui.core.diagnosis.finding import Finding
from tui.core.session import Session
from tui.core.targets.localops import LocalOps
from tui.core.targets.target import TargetSpec

DENY = b"# hosts.deny\nsshd: 203.0.113.0/24\n"


def _root(tmp_path: Path) -> tuple[Path, LocalOps]:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts.deny").write_bytes(DENY)
    (tmp_path / "etc/hosts.allow").write_bytes(b"# hosts.allow\n")
    return tmp_path, LocalOps(str(tmp_path))


def _edit(path: str, before: bytes, after: bytes) -> Plan:
    return Plan("comment-out", "t", [FileEdit(path, before, after)])


def test_an_older_set_under_a_newer_one_on_the_same_file_is_refused(tmp_path: Path) -> None:
    root, ops = _root(tmp_path)
    deny = root / "etc/hosts.deny"
    one = DENY.replace(b"\nsshd", b"\n#sshd")
    two = one + b"ALL: 192.0.2.7\n"
    older = apply_plan(ops, _edit("/etc/hosts.deny", DENY, one), target="t")
    newer = apply_plan(ops, _edit("/etc/hosts.deny", one, two), target="t")

    # Undoing the older set first would throw away the newer one's line: refused.
    with pytest.raises(ChangeError, match=f"the newer change set {newer.id} "
                       r"\(comment-out\) changed /etc/hosts.deny after it .* undo that one"):
        undo(ops, target="t", set_id=older.id)
    assert deny.read_bytes() == two
    views, problems = inspect(ops)
    assert problems == [] and [v.change_set.id for v in views] == [newer.id, older.id]
    assert views[0].can_undo and "undo that one first" in (views[1].refusal or "")
    [f] = views[0].files
    assert f.action.startswith("restore /etc/hosts.deny from /var/lib/ssh-reset-doctor/")
    assert f.diff.splitlines()[:2] == ["--- /etc/hosts.deny (now)",
                                       "+++ /etc/hosts.deny (after undo: its backup)"]
    assert "-ALL: 192.0.2.7" in f.diff.splitlines()

    undo(ops, target="t")  # the newest first, then the older one may go
    views, _ = inspect(ops)
    assert "undone already" in (views[0].refusal or "") and views[1].can_undo
    assert "+sshd: 203.0.113.0/24" in views[1].files[0].diff.splitlines()
    undo(ops, target="t", set_id=older.id)
    assert deny.read_bytes() == DENY


def test_sets_on_other_files_are_undone_in_any_order_and_changed_files_refused(
    tmp_path: Path
) -> None:
    root, ops = _root(tmp_path)
    allow = root / "etc/hosts.allow"
    older = apply_plan(ops, _edit("/etc/hosts.deny", DENY, b"# emptied\n"), target="t")
    apply_plan(ops, _edit("/etc/hosts.allow", b"# hosts.allow\n",
                          b"# hosts.allow\nsshd: 203.0.113.45\n"), target="t")
    allow.write_bytes(b"# hosts.allow\nsshd: 203.0.113.45\nsshd: 10.0.0.1\n")  # someone
    views, _ = inspect(ops)
    assert "changed by someone else since: /etc/hosts.allow" in (views[0].refusal or "")
    assert views[0].files[0].state == "changed+"
    assert views[1].can_undo  # a different file: its order does not matter
    undo(ops, target="t", set_id=older.id)
    assert (root / "etc/hosts.deny").read_bytes() == DENY
    assert allow.read_bytes().endswith(b"sshd: 10.0.0.1\n")  # theirs, untouched


def test_apply_all_takes_the_same_edit_when_an_earlier_fix_moved_its_lines() -> None:
    """Two edits of one file (sshd_config): after the first, the second's preview has other
    context and line numbers; the same lines added and removed, on exactly the bytes the
    first wrote, are the same fix. Anything else is someone else's change: refused."""
    confirmed = _edit("/etc/ssh/sshd_config", b"a\nMaxStartups 3\nz\n",
                      b"a\nMaxStartups 10:30:100\nz\n")
    moved = _edit("/etc/ssh/sshd_config", b"PerSourcePenalties no\na\nMaxStartups 3\nz\n",
                  b"PerSourcePenalties no\na\nMaxStartups 10:30:100\nz\n")
    other = _edit("/etc/ssh/sshd_config", b"a\nMaxStartups 3\nz\n", b"a\nMaxStartups 9\nz\n")
    s = Session(TargetSpec())
    found = Finding("maxstartups", None, "problem", "drops")
    s._plans = {"maxstartups": (found, [other, moved])}
    by_the_fix_before = {"/etc/ssh/sshd_config": moved.ops[0].before}
    assert s.same_fix("maxstartups", confirmed, by_the_fix_before) is moved
    # The same lines, but the file changed by someone else, not by a fix before: refused.
    assert s.same_fix("maxstartups", confirmed, {}) is None
    assert s.same_fix("maxstartups", confirmed, {"/etc/ssh/sshd_config": b"x\n"}) is None
    s._plans = {"maxstartups": (found, [other, confirmed])}
    assert s.same_fix("maxstartups", confirmed, {}) is confirmed  # nothing moved
    s._plans = {"maxstartups": (found, [other])}
    assert s.same_fix("maxstartups", confirmed, by_the_fix_before) is None
    assert s.recommended() == [("maxstartups", other)]


@pytest.mark.parametrize(("config", "sshd_t", "expected"), [
    (b"", None, ("127.0.0.1", 22)),
    (b"Port 2222\n", None, ("127.0.0.1", 2222)),
    (b"", "port 22\nlistenaddress [::]:22\nlistenaddress 0.0.0.0:22\n", ("127.0.0.1", 22)),
    (b"", "port 2022\nlistenaddress [::]:2022\n", ("::1", 2022)),
    (b"", "port 22\nlistenaddress 10.0.0.5:22\n", ("10.0.0.5", 22)),
])
def test_the_proof_after_a_fix_probes_where_sshd_listens(
    config: bytes, sshd_t: str | None, expected: tuple[str, int]
) -> None:
    from tui.core.facts.model import CommandOutput, Facts, FileBlob

    facts = Facts("this machine", "local", True,
                  files={"/etc/ssh/sshd_config": FileBlob(config)},
                  commands={"sshd -T": CommandOutput(0, sshd_t, "")} if sshd_t else {})
    s = Session(TargetSpec())
    assert s.local_endpoint() == ("127.0.0.1", 22)  # before the facts are in
    s.facts = facts
    assert s.local_endpoint() == expected
    assert Session(TargetSpec(root="/mnt/sysimage")).local_endpoint() is None  # a disk


def test_apply_all_applies_each_fix_in_turn_and_stops_before_the_next_when_told(
        tmp_path: Path) -> None:
    """The demo disk (both faults of the article): every recommended fix applied, each with
    its own change set; told to stop, it applies none and names every fix as not tried."""
    from tui.core.demo import build_sample

    for stop_now in (False, True):
        sample = build_sample(tmp_path / f"disk-{stop_now}")
        s = Session(TargetSpec(root=str(sample.root)), sample.client_ip)
        s.open()
        s.collect()
        s.check()
        items = s.recommended()
        assert [what for what, _ in items] == ["tcp-wrappers", "libraries"]
        said: list[str] = []
        result = s.apply_all(items, said.append, lambda stop=stop_now: stop)
        s.close()
        if stop_now:
            assert (result.applied, result.failed, said) == ([], None, [])
            assert result.not_tried == [p.title for _, p in items]
            continue
        assert [t for t, _ in result.applied] == [p.title for _, p in items]
        assert (result.failed, result.skipped, result.not_tried) == (None, [], [])
        assert said == [f"applying {n} of 2: {p.title}" for n, (_, p) in enumerate(items, 1)]
        assert len({cs.id for _, cs in result.applied}) == 2
        assert s.report and not [f for f in s.report.findings if f.status == "problem"]
