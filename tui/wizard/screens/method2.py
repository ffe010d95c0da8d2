"""Method 2: sshd's shared libraries, the missing sonames, and the symlink that fixes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tui.core.diagnosis import registry
from tui.core.diagnosis.evidence import LibrariesEvidence
from tui.wizard.screens.fixbase import FixScreen
from tui.wizard.widgets.render import Wrapped, plain

if TYPE_CHECKING:
    from tui.core.diagnosis.finding import Finding
    from tui.core.session import Session


class Method2Screen(FixScreen):
    SUB_TITLE = "Method 2: shared libraries"
    WHAT = registry.LIBRARIES

    def body(self) -> ComposeResult:
        yield from self.fix_widgets()
        yield Static(Text("Libraries", style="bold"), classes="heading")
        yield Static(id="libs")

    def verdict_details(self, session: Session, finding: Finding) -> list[Text]:
        ev = finding.evidence
        if not isinstance(ev, LibrariesEvidence):
            return []
        out = []
        for soname in ev.missing:
            cand = ev.candidates.get(soname)
            owner = ev.owners.get(soname) if ev.owners else None
            line = f"missing {soname}: " + (f"its real file {cand} is still there"
                                            if cand else "no file of it is left")
            if owner:
                line += f" (package {owner})"
            out.append(plain(line))
        if ev.missing:
            out.append(plain("sshd re-executes itself for every connection: the listener "
                             "keeps running while each new connection dies.", "italic"))
        return out

    def show_extra(self, session: Session, finding: Finding) -> None:
        text = Text()
        for b in session.facts.binaries if session.facts else []:
            if not b.exists:
                continue
            text.append_text(plain(f"{b.binary}", "bold"))
            if b.error:
                text.append_text(plain(f"  {b.error}\n"))
                continue
            text.append("\n")
            for lib in b.libraries:
                text.append_text(plain(f"  {lib.soname:<24} "))
                if lib.path is None:
                    text.append("MISSING", style="bold reverse")
                    if lib.needed_by != b.binary:
                        text.append_text(plain(f" (needed by {lib.needed_by})"))
                elif lib.error:
                    text.append_text(plain(f"{lib.path}: {lib.error}", "bold"))
                else:
                    text.append_text(plain(lib.path, "dim"))
                text.append("\n")
        text.rstrip()
        self.query_one("#libs", Static).update(Wrapped(text, hang=2) if text else
                                               plain("(no sshd found)", "italic"))
