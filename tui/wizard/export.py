"""Copy and save what the current screen offers (its `export()`: a name and the text), for
the app's `c` and `s`. The ways to copy and to save are tui.core.export's."""

from __future__ import annotations

import os
from pathlib import Path

from tui.wizard.base import WizardBase


def copy_shown(app: WizardBase) -> None:
    item = _export(app)
    if not item:
        return
    from tui.core.export import copy_text

    name, text = item
    r = copy_text(text, name, osc52=app.copy_to_clipboard, term=os.environ.get("TERM"),
                  directory=app.config.copies_dir, suffix=_suffix(name))
    # One line; what did not work, and why, only in the help screen's list (`?`).
    app.say("\n".join([r.message(), *r.details()]), timeout=10,
            severity="information" if r.ways else "error")


def save_shown(app: WizardBase) -> None:
    item = _export(app)
    if not item:
        return
    from tui.core.export import default_name, save_text
    from tui.wizard.screens.save import SaveScreen

    name, text = item
    directory = app.config.save_dir or Path.cwd()
    suffix = _suffix(name)

    def chosen(path: str | None) -> None:
        if not path:
            return
        try:
            where = save_text(path, text, suffix=suffix)
        except FileExistsError:
            app.say(f"{path} exists; nothing was overwritten (press s again)",
                    severity="error")
            return
        except OSError as e:
            app.say(f"could not save {path}: {e.strerror or e}", severity="error")
            return
        app.say(f"saved {name} to {where} (only you can read it)", timeout=10)

    default = str(directory / default_name(name, suffix))
    app.push_screen(SaveScreen(name, default), chosen)


def _export(app: WizardBase) -> tuple[str, str] | None:
    export = getattr(app.screen, "export", None)
    item = export() if export else None
    if not item:
        app.say("nothing to copy or save on this screen yet", severity="warning")
    return item


def _suffix(name: str) -> str:
    """The report is Markdown: saved and copied as .md; everything else is plain text."""
    return ".md" if name == "report" else ".txt"
