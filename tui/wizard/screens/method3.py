"""Method 3: which address the Security Center must whitelist, and the console steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tui.core.diagnosis import registry
from tui.core.diagnosis.evidence import FirewallEvidence, SecurityCenterEvidence
from tui.wizard.screens.base import WizardScreen
from tui.wizard.widgets.render import Wrapped, plain, status_word

if TYPE_CHECKING:
    from tui.core.diagnosis.finding import Finding
    from tui.core.session import Session


class Method3Screen(WizardScreen):
    SUB_TITLE = "Method 3: Security Center"

    def __init__(self) -> None:
        super().__init__()
        self.steps: str | None = None

    def body(self) -> ComposeResult:
        yield Static(id="verdict")
        yield Static(Text("Addresses to whitelist", style="bold"), classes="heading")
        yield Static(id="addresses")
        yield Static(Text("Host firewall and agent on the instance", style="bold"),
                     classes="heading")
        yield Static(id="firewall")
        yield Static(Text("Steps (c copies them, s saves them)", style="bold"),
                     classes="heading")
        yield Static(id="steps")

    def show_session(self, session: Session | None) -> None:
        if session is None or session.report is None:
            self.query_one("#verdict", Static).update(plain("checking...", "italic"))
            return
        from tui.core.clientip import private_meaning, private_reason
        from tui.core.instructions import plain as plain_text
        from tui.core.instructions import whitelist

        finding = session.finding(registry.SECURITY_CENTER)
        if finding is None:  # every report has it
            return
        verdict = Text()
        verdict.append_text(status_word(finding.status))
        verdict.append(" ")
        verdict.append_text(plain(plain_text(finding.summary), "bold"))
        self.query_one("#verdict", Static).update(Wrapped(verdict, indent=9))
        addrs = session.addresses()
        text = Text()
        for ip, source in addrs:
            text.append(f"{ip:<20}", style="bold")
            how = source if source.startswith(("picked ", "typed ", "from ")) else \
                f"from {source}"
            text.append_text(plain(f" {how}"))
            why = private_reason(ip)
            if why:
                text.append_text(plain(f"\n  WARNING: {why}: {private_meaning(ip)}", "bold"))
            text.append("\n")
        if not addrs:
            text.append_text(plain("none known: type your public IP on the overview (0)",
                                   "italic"))
        text.rstrip()
        # Wrapped lines stay under their text (a warning under its WARNING).
        self.query_one("#addresses", Static).update(Wrapped(text, hang=2))
        self.query_one("#firewall", Static).update(Wrapped(self._firewall(finding), hang=2))
        # On screen and when copied: the text without Markdown's code marks (the report keeps
        # them); the commands are indented blocks that copy as they stand.
        self.steps = plain_text(whitelist(addrs))
        self.query_one("#steps", Static).update(plain(self.steps))

    def _firewall(self, finding: Finding) -> Text:
        ev = finding.evidence
        text = Text()
        if not isinstance(ev, SecurityCenterEvidence):
            return text
        for line in agent_lines(ev):
            text.append_text(plain(line))
            text.append("\n")
        text.rstrip()
        for line in firewall_lines(ev.firewall, session_ip=ev.whitelist or None):
            text.append("\n")
            text.append_text(plain(line))
        from tui.core.instructions import plain as plain_text

        for line in finding.remedy:  # the advice, without Markdown's code marks
            text.append("\n  ")
            text.append_text(plain(plain_text(line), "bold"))
        return text

    def export(self) -> tuple[str, str] | None:
        return ("whitelist", self.steps) if self.steps else None


def agent_lines(ev: SecurityCenterEvidence) -> list[str]:
    """The Security Center agent, its AliNet plug-in (it blocks brute-force sources) and, on a
    disk, its install under /usr/local/aegis, in words."""
    out = [{True: "the Security Center agent runs here (" + ", ".join(ev.agent_processes) + ")",
            False: "the Security Center agent does not run here",
            None: "agent: not running (a disk)"}[ev.agent_running]]
    if ev.agent_running:
        out.append("  AliNet plug-in: " + ("runs (it blocks brute-force sources)"
                                           if ev.blocking_plugin else
                                           "not running (a block is likely a security-group "
                                           "rule)"))
    if ev.has("agent_install") and not ev.agent_running:
        out.append("  installed: " + (", ".join(ev.agent_install) if ev.agent_install
                                      else "no /usr/local/aegis"))
    return out


def firewall_lines(fw: FirewallEvidence, session_ip: str | None) -> list[str]:
    """The host firewall evidence (tui.core.diagnosis.firewall) in words."""
    if not fw.collected:
        out = ["host firewall: no rules could be read here"]
        return out + [f"  {n}" for n in fw.notes]
    who = session_ip or "a client"
    verdict = fw.verdict or "accept (no rule blocks)"
    out = [f"host firewall ({', '.join(fw.sources)}), port {fw.port}: {verdict} for {who}"]
    if fw.symptom:
        out.append(f"  the ssh client would show: {fw.symptom}")
    for rule in fw.blocking:
        where = rule.source + (f" line {rule.line}" if rule.line else "")
        by = f" (managed by {rule.managed_by})" if rule.managed_by else ""
        out.append(f"  {rule.action}: {rule.rule or 'default policy'}")
        out.append(f"    in {where}{by}")
    out += [f"  note: {n}" for n in fw.notes]
    return out
