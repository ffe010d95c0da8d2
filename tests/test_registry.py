"""The registry of checks: one entry per finding id, and every check's work done once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.mountns import REPO
from tui.core.demo import build_sample
from tui.core.demo import system as S
from tui.core.diagnosis import libraries, maxstartups, penalties, registry, tcpwrappers
from tui.core.session import Session
from tui.core.targets.target import TargetSpec


def test_ids_are_unique_and_the_fixable_ones_are_the_cli_choices() -> None:
    ids = [c.id for c in registry.CHECKS]
    assert len(ids) == len(set(ids)) == len(registry.BY_ID)
    assert registry.FIXABLE == ("tcp-wrappers", "libraries", "maxstartups", "penalties")
    assert registry.NEEDS_ADDRESS == ("tcp-wrappers", "penalties")
    assert [c.method for c in registry.METHODS] == [1, 2, 3, 4]
    with pytest.raises(KeyError):
        registry.get("no-such-check")


def test_registry_imports_no_check() -> None:
    """The overview's first frame and the CLI may import it: the checks load on first use."""
    code = ("import sys, tui.core.diagnosis.registry; "
            "print(sorted(m for m in sys.modules if m.startswith('tui.core')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout
    assert eval(out) == ["tui.core", "tui.core.diagnosis", "tui.core.diagnosis.ids",
                         "tui.core.diagnosis.registry"]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls: dict[str, int] = {}
    for mod in (tcpwrappers, libraries, maxstartups, penalties):
        for name in ("finding", "plans"):
            real = getattr(mod, name)

            def wrapped(*a: object, _real=real, _key=f"{mod.__name__}.{name}",  # noqa: ANN001
                        **kw: object) -> object:
                calls[_key] = calls.get(_key, 0) + 1
                return _real(*a, **kw)

            monkeypatch.setattr(mod, name, wrapped)
    return calls


def test_session_check_and_apply_do_the_work_once(tmp_path: Path,
                                                   counted: dict[str, int]) -> None:
    build_sample(tmp_path / "sys")
    s = Session(TargetSpec(root=str(tmp_path / "sys")), S.CLIENT_IP)
    target = s.open()
    collects = 0
    real_collect = target.collect

    def collect():  # noqa: ANN202
        nonlocal collects
        collects += 1
        return real_collect()

    target.collect = collect  # type: ignore[method-assign]
    try:
        s.collect()
        report = s.check()
        # Silent here: a journal never written, SELinux not configured (a Debian sample).
        quiet = (registry.CHANGE_JOURNAL, registry.SELINUX)
        assert [f.id for f in report.findings] == [c.id for c in registry.CHECKS
                                                    if c.id not in quiet]
        # Each finding once (the report's), the plans of each fixable check once.
        assert {k: v for k, v in counted.items() if k.endswith(".finding")} == {
            f"tui.core.diagnosis.{m}.finding": 1
            for m in ("tcpwrappers", "libraries", "maxstartups", "penalties")}
        assert counted["tui.core.diagnosis.tcpwrappers.plans"] == 1
        assert counted["tui.core.diagnosis.libraries.plans"] == 1

        collects = 0
        counted.clear()
        _, plans = s.remedies(registry.TCP_WRAPPERS)
        s.apply(registry.TCP_WRAPPERS, plans[0])
        assert collects == 2  # the facts to plan again on, and the facts to verify
        # Planned again before writing (the preview must still hold); verifying works out
        # the finding only; the check after it finds nothing left to plan for.
        assert counted["tui.core.diagnosis.tcpwrappers.plans"] == 1
        assert counted["tui.core.diagnosis.tcpwrappers.finding"] == 3
        assert s.finding(registry.TCP_WRAPPERS).status == "ok"  # type: ignore[union-attr]
    finally:
        s.close()


def test_fix_yes_collects_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fix --yes`: the facts to plan on, and the facts to verify; nothing more."""
    import contextlib
    import io

    import tui.commands.session as cmd_session
    from tui.cli import main

    build_sample(tmp_path / "sys")
    collects = 0
    real_open = cmd_session.open_target

    def open_counted(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        target = real_open(*a, **kw)
        real_collect = target.collect

        def collect():  # noqa: ANN202
            nonlocal collects
            collects += 1
            return real_collect()

        target.collect = collect
        return target

    monkeypatch.setattr(cmd_session, "open_target", open_counted)
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["fix", "tcp-wrappers", "--yes", "--root", str(tmp_path / "sys"),
                     "--client-ip", S.CLIENT_IP])
    assert (code, collects) == (0, 2)


def test_each_checks_plans_carry_its_remedy_ids(tmp_path: Path) -> None:
    """The plans the demo's faults and the MaxStartups/penalties cases give are named as
    the registry says (`fix --remedy` takes exactly those)."""
    from tests.helpers.recorded_cases import healthy_demo, maxstartups_drops, penalties_recent

    build_sample(tmp_path / "a")
    build_sample(tmp_path / "b")
    healthy_demo(tmp_path / "b")
    maxstartups_drops(tmp_path / "b")
    penalties_recent(tmp_path / "b")
    seen: dict[str, set[str]] = {}
    from tests.helpers.recorded_cases import fixed_clock

    for root in ("a", "b"):
        s = Session(TargetSpec(root=str(tmp_path / root)), S.CLIENT_IP)
        s.open()
        try:
            with fixed_clock():
                s.collect()
                s.check()
            for c in registry.CHECKS:
                if c.fixable:
                    seen.setdefault(c.id, set()).update(p.remedy for p in s.remedies(c.id)[1])
        finally:
            s.close()
    assert {k: tuple(sorted(v)) for k, v in seen.items()} == {
        c.id: tuple(sorted(c.remedy_ids)) for c in registry.CHECKS if c.fixable}
