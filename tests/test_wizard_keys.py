"""after_escape(): which key an alt+key stands for (Esc typed with a key right behind it)."""

from __future__ import annotations

import pytest

from tui.wizard.keys import after_escape


@pytest.mark.parametrize(("key", "meant"), [
    ("alt+n", "n"), ("alt+0", "0"), ("alt+shift+a", "A"), ("alt+question_mark", "question_mark"),
    ("n", None), ("escape", None), ("ctrl+n", None), ("alt+ctrl+n", None), ("alt+shift+up", None),
])
def test_after_escape(key: str, meant: str | None) -> None:
    assert after_escape(key) == meant
