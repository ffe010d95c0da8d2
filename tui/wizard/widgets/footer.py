"""Textual's footer, recomposed once per burst of binding changes.

Textual's Footer recomposes (every key a new widget, restyled) after each change of the
bindings: the focus moving, a dialog, `refresh_bindings()`. While the first screen settles
five changes came in a row (the list's focus, the highlighted row, the session, ...), and the
five recomposes ran back to back, 30-40 ms each with the first check's worker starting: the
keys showed 0.2 s after the rest of the screen. One recompose shows every change made before
it runs (it reads the bindings then), so a change waits for the one already scheduled; and
a change that leaves every key as it was (focus moving inside a screen, a new session with
the same problems) recomposes nothing: the verdicts' frame waited for one such recompose.

The first time its keys are composed it posts KeysShown: the wizard starts its first check
then, so that the check's imports do not compete with the last part of the first screen.
"""

from __future__ import annotations

from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer


class WizardFooter(Footer):
    _recompose_pending = False
    _shown = False
    _keys: tuple[object, ...] | None = None  # what the keys showed when last composed

    class KeysShown(Message):
        """The footer's keys are composed (once per footer); they show with the next frame."""

    def bindings_changed(self, screen: Screen) -> None:
        if self._recompose_pending:
            return  # the recompose already scheduled reads the bindings as they are then
        super().bindings_changed(screen)
        # Textual's footer schedules a recompose only in these cases (else it just notes
        # that the bindings are ready for its next compose).
        self._recompose_pending = (screen.app.app_focus and self.is_attached
                                   and screen is self.screen)

    def _shown_keys(self) -> tuple[object, ...]:
        """What Footer.compose makes of the bindings: each shown key, its text, enabled."""
        return tuple((b.key, b.key_display, b.description, b.action, b.group, enabled,
                      tooltip) for _, b, enabled, tooltip in
                     self.screen.active_bindings.values() if b.show)

    async def recompose(self) -> None:
        self._recompose_pending = False  # a change from now on needs another one
        keys = self._shown_keys()
        if self.children and keys == self._keys:
            return  # every key as it is shown
        self._keys = keys
        await super().recompose()
        if not self._shown and self.children:
            self._shown = True
            self.post_message(self.KeysShown())
