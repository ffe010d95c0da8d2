"""`check` and `fix` print exactly what they printed when tests/recorded/ was written.

The cases and what is normalised (only what varies from run to run: the temporary root, the
time, the tool's version, change-set ids) are in tests/helpers/recorded_cases.py; regenerate with
`python -m tests.helpers.record_outputs` after an intended change of output. Cases built from this
machine's sshd (`host-*`) run everywhere: their OpenSSH release, library versions and counts
are normalised, and any other difference fails.
"""

from __future__ import annotations

import pytest

from tests.helpers.recorded_cases import CASES, RECORDED, render_case


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_is_the_recorded_one(name: str) -> None:
    case = CASES[name]
    want = (RECORDED / f"{name}.txt").read_text()
    assert render_case(case) == want


def test_every_case_is_recorded_and_every_recording_is_a_case() -> None:
    files = {p.stem for p in RECORDED.glob("*.txt")}
    assert files == set(CASES)
