"""Report.likely_cause(): the overview's "Most likely" line, decided in the core."""

from __future__ import annotations

from tui.core.diagnosis import ids
from tui.core.diagnosis.finding import Finding
from tui.core.diagnosis.report import Report


def _report(*findings: tuple[str, str]) -> Report:
    return Report("t", None, [Finding(fid, None, status, fid) for fid, status in findings])


def test_the_first_problem_among_the_causes_is_sure() -> None:
    r = _report((ids.SSHD, "problem"), (ids.TCP_WRAPPERS, "ok"), (ids.LIBRARIES, "problem"),
                (ids.FIREWALL, "problem"))
    likely = r.likely_cause()
    assert likely is not None and likely.sure and likely.finding.id == ids.LIBRARIES


def test_a_problem_beyond_the_article_counts_and_beats_a_warning() -> None:
    r = _report((ids.TCP_WRAPPERS, "warning"), (ids.MAXSTARTUPS, "problem"))
    likely = r.likely_cause()
    assert likely is not None and likely.sure and likely.finding.id == ids.MAXSTARTUPS


def test_without_a_problem_the_first_warning_is_where_to_look() -> None:
    r = _report((ids.CLIENT_IP, "problem"), (ids.SSHD, "warning"), (ids.FIREWALL, "warning"),
                (ids.NETWORK, "unknown"))
    likely = r.likely_cause()
    assert likely is not None and not likely.sure and likely.finding.id == ids.FIREWALL


def test_nothing_to_explain_the_reset() -> None:
    # the operator's address and sshd's own facts are not causes, whatever their status
    assert _report((ids.CLIENT_IP, "problem"), (ids.SSHD, "warning"),
                   (ids.TCP_WRAPPERS, "ok")).likely_cause() is None
