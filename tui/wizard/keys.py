"""Keys as the terminal delivers them."""

from __future__ import annotations


def after_escape(key: str) -> str | None:
    """The key an alt+key stands for when it is Esc with a key typed right behind it
    (within the terminal's escape delay, as on a slow VNC console: the terminal sends the
    same bytes for both): `alt+n` -> `n`, `alt+shift+a` -> `A`, `alt+question_mark` ->
    `question_mark`. None for any other key: the wizard binds no alt+key of its own."""
    if not key.startswith("alt+"):
        return None
    rest = key[len("alt+"):]
    if rest.startswith("shift+") and len(rest) == len("shift+") + 1:
        return rest[-1].upper()
    return rest if "+" not in rest else None
