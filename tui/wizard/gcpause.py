"""The cyclic garbage collector, paused while the wizard starts.

Importing Textual and building the first screen makes a few hundred thousand objects that
all live as long as the process; the collector scanned them again and again meanwhile
(about 100 young and 8 middle collections, 14 ms of the 0.2 s to the first frame). The
wizard's command pauses it before the import, the app resumes it when its first check
starts (or when it ends, whichever comes first). Nothing here imports Textual.
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
