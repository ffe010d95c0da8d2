"""The cyclic garbage collector, paused while the wizard starts.

Importing Textual and building the first screen makes a few hundred thousand objects that
all live as long as the process; the collector scanned them again and again meanwhile
(about 100 young and 8 middle collections, 14 ms of the 0.2 s to the first frame), and
again while the first check imported the core (0.1 s of imports). The wizard's command
pauses it before importing the app; the app resumes it when its first check ends (the
verdicts are in), or the command when the app ends first. Only the garbage in cycles
waits until then: reference counting frees the rest as always. Nothing here imports
Textual.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop collecting cycles until resume() (nothing happens if it is off already)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Collect again, if pause() stopped it."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()
