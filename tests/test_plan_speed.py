"""Issue 16 item 3: the comment-out plan, its guard, proof and preview stay exact when fast.

Each shortcut is checked against the plain computation it replaces (the walk that starts
over on the edited files, the whole-list compare, the regex, difflib on the whole file);
linearity is checked by counting Python calls, never by timing.
"""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import rulegen
from tests.test_plan_proof import _same_as_full, pair
from tests.test_remedies_tcpwrappers import facts
from tests.test_sizes import _python_calls, _reference_preview
from tui.core.bytescmp import common_prefix, common_suffix, differing
from tui.core.changes.plan import FileEdit, preview_op
from tui.core.diagnosis import tcpwrappers
from tui.core.facts.model import ALLOW, DENY
from tui.core.tcpwrappers.hostmatch import HostInfo, Request, read_file_under
from tui.core.tcpwrappers.proof import (
    _long_line,
    hunks,
    prove,
    record_texts,
)
from tui.core.tcpwrappers.table import BUFLEN

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(SETTINGS, max_examples=60)  # each example builds plans or proof sets
READ = read_file_under(None)


# --- the comment-out walk ------------------------------------------------------------------


def _reference_walk(f, ip: str) -> dict[str, bytes] | None:
    """The walk as it was first written: from the top of the edited files every time."""
    data = {p: f.files[p].data for p in (ALLOW, DENY)}
    edited: dict[str, bytes] = {}
    request = Request(daemon=b"sshd", client=HostInfo(addr=ip.encode()))
    for _ in range(100):
        cur = {p: edited.get(p, data[p]) for p in data}
        v = tcpwrappers.evaluator(f, allow=cur[ALLOW], deny=cur[DENY]).check(request)
        if v.granted:
            return edited
        text = cur.get(v.file) if v.file is not None else None
        if text is None:
            return None
        new = tcpwrappers._comment_out(text, v.line, v.file == ALLOW)
        if new is None or new == text:
            return None
        edited[v.file] = new
    return None


def _listed(data: bytes, token: str, times: int, rnd: random.Random) -> bytes:
    """`data` with `times` rules naming the client put in at line starts."""
    lines = data.split(b"\n")
    for _ in range(times):
        rule = rnd.choice([b"sshd: %s", b"ALL: %s", b"sshd: 10.0.0.1 %s", b"sshd: %s\0x",
                           b"sshd: %s \\", b"sshd: %s\r", b"#sshd: %s", b"ALL: %s: deny"])
        lines.insert(rnd.randrange(len(lines) + 1), rule % token.encode())
    return b"\n".join(lines)


@FEW
@given(case=rulegen.plan_case(), times=st.integers(0, 6), seed=st.integers(0, 2**16))
def test_comment_out_walk_equals_the_walk_from_the_top(case, times: int, seed: int) -> None:
    allow, deny, op = case
    rnd = random.Random(seed)
    token = f"[{op}]" if ":" in op else op
    if rnd.random() < 0.3:
        allow = _listed(allow, token, times // 2, rnd)
    deny = _listed(deny, token, times, rnd)
    f = facts(allow, deny)
    plan = tcpwrappers._plan_comment(f, op)
    want = _reference_walk(f, op)
    got = None if plan is None else {o.path: o.after for o in plan.ops}
    assert got == want, (allow, deny, op)
    if got:  # and the operator is granted, read from the top
        v = tcpwrappers.verdict_for(tcpwrappers.evaluator(f, allow=got.get(ALLOW),
                                                          deny=got.get(DENY)), op)
        assert v.granted, (allow, deny, op, got)


def test_comment_out_walk_takes_the_verdict_it_is_given() -> None:
    f = facts(b"", b"sshd: 203.0.113.9\n" * 3)
    first = tcpwrappers.verdict_for(tcpwrappers.evaluator(f), "203.0.113.9")
    plan = tcpwrappers._plan_comment(f, "203.0.113.9", first)
    assert plan is not None and plan.ops[0].after == b"#sshd: 203.0.113.9\n" * 3


def _denyhosts(n: int, listed: int, op: bytes = b"198.51.100.77") -> bytes:
    rng = random.Random(n)
    at = {n * (k + 1) // (listed + 1) for k in range(listed)}
    out = [b"# DenyHosts\n"]
    for i in range(n):
        ip = op if i in at else b"%d.%d.%d.%d" % (rng.randint(1, 197), rng.randint(0, 255),
                                                 rng.randint(0, 255), rng.randint(1, 254))
        out += [b"# DenyHosts: Sat Nov 21 10:00:00 2026 | sshd: %s\n" % ip, b"sshd: %s\n" % ip]
    return b"".join(out)


def test_plans_cost_does_not_grow_with_each_listing() -> None:
    """Listed 40 times instead of once: a bounded number of Python calls more per listing
    (it was a pass over the whole file per listing, in the walk, the guard and the proof)."""
    op = "198.51.100.77"

    def run(listed: int) -> int:
        f = facts(b"# hosts.allow\n", _denyhosts(20_000, listed))

        def work():
            plans = tcpwrappers.plans(f, op)
            for p in plans:
                p.preview()
            return plans

        plans, calls = _python_calls(work)
        assert sorted(p.remedy for p in plans) == ["allow-client", "comment-out"]
        comment = next(p for p in plans if p.remedy == "comment-out").ops[0].after
        assert comment.count(b"\n#sshd: %s\n" % op.encode()) == listed
        return calls

    once, many = run(1), run(40)
    assert many - once < 40 * 1000, (once, many)


# --- the guard and the proof's alignment ---------------------------------------------------


@SETTINGS
@given(a=st.lists(st.sampled_from([b"x", b"y", b"z", b"w"]), max_size=3000),
       data=st.data())
def test_differing_is_the_plain_compare(a: list[bytes], data) -> None:
    b = list(a)
    for _ in range(data.draw(st.integers(0, 8))):
        if b:
            b[data.draw(st.integers(0, len(b) - 1))] = data.draw(st.sampled_from([b"x", b"q"]))
    want = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    assert differing(a, b, 0, 0, len(a)) == want
    assert differing([b"-"] + a, b, 1, 0, len(a)) == want
    limit = data.draw(st.integers(0, 8))
    assert differing(a, b, 0, 0, len(a), limit) == (want if len(want) <= limit else None)


def _in_place(n: int, edits: int, seed: int) -> tuple[bytes, bytes]:
    rnd = random.Random(seed)
    rows = [rnd.choice([b"sshd: 10.0.%d.%d\n" % (i // 250, i % 250), b"ALL: 10.0.0.1\n",
                        b"# c\n", b"sshd: ALL: allow\n", b"sshd: 10.0.0.0/8\n"])
            for i in range(n)]
    new = list(rows)
    for i in rnd.sample(range(n), edits):
        new[i] = b"#" + new[i]
    return b"".join(rows), b"".join(new)


@pytest.mark.parametrize("seed", range(3))
def test_in_place_edits_align_by_position_and_prove_as_evaluating_everyone(seed: int) -> None:
    before, after = _in_place(120, 1 + seed * 4, seed)
    hs = hunks(record_texts(before), record_texts(after))
    assert all(len(h.removed) == len(h.added) and h.added == [b"#" + x for x in h.removed]
               for h in hs)
    assert sum(len(h.added) for h in hs) == 1 + seed * 4
    _same_as_full(pair(b"", before), pair(b"", after), "203.0.113.9")
    _same_as_full(pair(before, b"ALL: ALL\n"), pair(after, b"ALL: ALL\n"), "203.0.113.9")


def test_proof_of_a_plan_listed_many_times_evaluates_nobody() -> None:
    deny = _denyhosts(5_000, 30)
    f = facts(b"", deny)
    plan = tcpwrappers._plan_comment(f, "198.51.100.77")
    assert plan is not None
    proof = prove(pair(b"", deny), pair(b"", plan.ops[0].after), "198.51.100.77", READ)
    assert proof.ok and proof.evaluated == 0 and proof.checked > 5_000


_LONG_REF = re.compile(rb"\n[^\n]{%d}" % (BUFLEN - 1))


def _long_line_ref(data: bytes) -> bool:
    first = data.find(b"\n")
    return (first if first >= 0 else len(data)) >= BUFLEN - 1 or bool(_LONG_REF.search(data))


@SETTINGS
@given(lens=st.lists(st.one_of(st.integers(0, 40), st.integers(1000, 1030),
                               st.integers(2040, 2050), st.integers(3060, 3075)), max_size=8),
       end=st.booleans())
def test_long_line_is_the_regex(lens: list[int], end: bool) -> None:
    data = b"\n".join(b"x" * k for k in lens) + (b"\n" if end else b"")
    assert _long_line(data) == _long_line_ref(data)
    assert _long_line(bytearray(data)) == _long_line_ref(data)


@SETTINGS
@given(data=st.lists(st.sampled_from([b"a\n", b"b\r\n", b"\r", b"x", b"\n", b"c \\\n"]),
                     max_size=30).map(b"".join), cut=st.data())
def test_region_lines_are_the_physical_lines(data: bytes, cut) -> None:
    starts = [0] + [i + 1 for i, c in enumerate(data) if c == 0x0A]
    if data and data[-1:] != b"\n":
        starts.append(len(data))
    start = cut.draw(st.sampled_from(starts))
    end = cut.draw(st.sampled_from([s for s in starts if s >= start] + [len(data)]))
    assert (tcpwrappers._region_lines(data, start, end)
            == tcpwrappers.phys_lines(data[start:end]))


# --- the preview ---------------------------------------------------------------------------


@pytest.mark.parametrize("popular", [False, True])
def test_preview_of_many_in_place_edits_is_the_whole_file_diff(popular: bool) -> None:
    """Windows of a 30,000-line file commented out in 50 places, with lines difflib finds
    popular (one in a hundred or more), as in the whole-file diff."""
    rnd = random.Random(5)
    lines = [b"# c\n" if popular and rnd.random() < 0.3 else
             b"sshd: 10.%d.%d.%d\n" % (rnd.randrange(256), rnd.randrange(256), i % 256)
             for i in range(30_000)]
    before = b"".join(lines)
    for i in rnd.sample(range(30_000), 50):
        lines[i] = b"#" + lines[i]
    after = b"".join(lines)
    assert preview_op(FileEdit("/etc/hosts.deny", before, after)) == _reference_preview(
        before, after)


@SETTINGS
@given(a=st.lists(st.sampled_from([b"a", b"b"]), max_size=12).map(b"".join),
       b=st.lists(st.sampled_from([b"a", b"b"]), max_size=12).map(b"".join),
       a_max=st.none() | st.integers(0, 12), b_max=st.none() | st.integers(0, 12),
       chunk=st.sampled_from([1, 2, 3, 5, 64]))
def test_common_prefix_and_suffix_are_the_plain_walk(a: bytes, b: bytes, a_max, b_max,
                                                     chunk: int) -> None:
    def walk(x: bytes, y: bytes, n: int) -> int:
        i = 0
        while i < n and x[i] == y[i]:
            i += 1
        return i

    n = min(len(a), len(b), len(a) if a_max is None else a_max,
            len(b) if b_max is None else b_max)
    assert common_prefix(a, b, n, chunk) == walk(a, b, n)
    assert common_suffix(a, b, n, chunk) == walk(a[::-1], b[::-1], n)


@FEW
@given(words=st.lists(st.sampled_from(["10.0.0.1", "255.255.255.255", "0.0.0.0", "300.1.2.3",
                                       "1.2.3", "01.2.3.4", "1.2.3.4.5", "7", "10.0.0.1,10.0.0.2",
                                       "# 9.9.9.9", "::1"]), max_size=20))
def test_proof_set_of_plain_rules_whether_all_words_are_addresses(words: list[str]) -> None:
    from tui.core.tcpwrappers import proof

    data = "".join(f"sshd: {w}\n" for w in words).encode()
    fast = proof.ProofSet.build([data], READ)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(proof, "_ALL_V4", None)
        slow = proof.ProofSet.build([data], READ)
    assert (fast.bulk, fast.probes) == (slow.bulk, slow.probes)


def test_preview_and_plan_id_are_made_once_for_the_same_ops() -> None:
    from tui.core.changes.plan import Plan

    edit = FileEdit("/etc/hosts.deny", b"a\n", b"#a\n")
    plan = Plan("comment-out", "t", [edit])
    first_id, first_preview = plan.plan_id, plan.preview()
    assert plan.plan_id is first_id and plan.preview() is first_preview  # kept
    plan.ops[0] = FileEdit("/etc/hosts.deny", b"a\n", b"#a\nb\n")  # other ops: made again
    assert plan.plan_id != first_id and "+b" in plan.preview()
    assert plan.plan_id == Plan("comment-out", "x", list(plan.ops)).plan_id
    plan.remedy = "allow-client"
    assert plan.plan_id == Plan("allow-client", "x", list(plan.ops)).plan_id


@SETTINGS
@given(before=st.lists(st.sampled_from([b"a\n", b"sshd: 1\n", b"#c\n", b"\n", b"b \\\n", b"x\0\n",
                                        b"y" * 2050 + b"\n", b"z"]), max_size=12),
       data=st.data())
def test_records_of_an_edit_are_those_read_from_the_edited_file(before: list[bytes],
                                                                data) -> None:
    from tui.core.tcpwrappers import proof

    after = list(before)
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(after)))
        new = data.draw(st.sampled_from([[b"#" + after[i]] if i < len(after) else [],
                                         [], [b"q\n"], [b"r \\\n"], [b"s\0\n"]]))
        after[i:i + data.draw(st.integers(0, 1))] = new
    old, new_ = b"".join(before), b"".join(after)
    start, old_end, new_end = tcpwrappers._changed_lines(old, new_)
    proof._record_texts.cache_clear()
    proof._simple.cache_clear()
    proof.note_edit(old, new_, start, old_end, new_end)
    noted = proof.record_texts(new_), proof.simple_lines(new_)
    proof._record_texts.cache_clear()
    proof._simple.cache_clear()
    assert noted == (proof.record_texts(new_), proof.simple_lines(new_))
