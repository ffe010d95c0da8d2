"""Method 3: which address the Security Center must whitelist, and the console steps."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tui.wizard.screens.base import WizardScreen
from tui.wizard.widgets.render import plain, status_word


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

    def show_session(self, session: Any) -> None:
        if session is None or session.report is None:
            self.query_one("#verdict", Static).update(plain("checking...", "italic"))
            return
        from tui.core.clientip import private_reason
        from tui.core.instructions import whitelist

        finding = session.finding("security-center")
        verdict = Text()
        verdict.append_text(status_word(finding.status))
        verdict.append(" ")
        verdict.append_text(plain(finding.summary, "bold"))
        self.query_one("#verdict", Static).update(verdict)
        addrs = addresses(session)
        text = Text()
        for ip, source in addrs:
            text.append(f"{ip:<20}", style="bold")
            text.append_text(plain(f" from {source}"))
            why = private_reason(ip)
            if why:
                text.append_text(plain(f"\n  WARNING: {why}: the Security Center sees your "
                                       "public address, not this one", "bold"))
            text.append("\n")
        if not addrs:
            text.append_text(plain("none known: type your public IP on the overview (0)",
                                   "italic"))
        text.rstrip()
        self.query_one("#addresses", Static).update(text)
        self.query_one("#firewall", Static).update(self._firewall(finding))
        self.steps = whitelist(addrs)
        self.query_one("#steps", Static).update(plain(self.steps))

    def _firewall(self, finding: Any) -> Text:
        ev = finding.evidence
        text = Text()
        running = ev.get("agent_running")
        agent = {True: "the Security Center agent runs here ("
                 + ", ".join(ev.get("agent_processes") or []) + ")",
                 False: "the Security Center agent does not run here",
                 None: "agent: unknown on a disk that is not running"}[running]
        text.append_text(plain(agent))
        fw = ev.get("firewall")
        if not fw:
            text.append_text(plain("\nhost firewall: not checked here", "italic"))
            return text
        for line in firewall_lines(fw):
            text.append("\n")
            text.append_text(plain(line))
        for line in finding.remedy:
            text.append("\n  ")
            text.append_text(plain(line, "bold"))
        return text

    def export(self) -> tuple[str, str] | None:
        return ("whitelist", self.steps) if self.steps else None


def addresses(session: Any) -> list[tuple[str, str]]:
    """The operator's address first, then every other one the instance logged."""
    seen: list[tuple[str, str]] = []
    if session.client:
        seen.append((session.client.ip, session.client.source))
    logged = session.finding("client-ip")
    for item in (logged.evidence.get("seen_in_logs") or []) if logged else []:
        if item["ip"] not in {ip for ip, _ in seen}:
            seen.append((item["ip"], item["source"]))
    return seen


def firewall_lines(fw: Any) -> list[str]:
    """The firewall evidence as lines; tolerant of its exact shape (dict or list)."""
    if isinstance(fw, dict):
        out = []
        for key, value in fw.items():
            if isinstance(value, list):
                out.append(f"{key}:" if value else f"{key}: none")
                out += [f"  {v if not isinstance(v, dict) else _rule(v)}" for v in value]
            elif isinstance(value, dict):
                out.append(f"{key}: {_rule(value)}")
            elif value not in (None, ""):
                out.append(f"{key}: {value}")
        return out
    return [str(fw)]


def _rule(d: dict) -> str:
    parts = [str(d.get(k)) for k in ("action", "source", "chain", "line") if d.get(k)]
    rule = d.get("rule")
    by = d.get("managed_by")
    return " ".join(parts) + (f": {rule}" if rule else "") + (f" (managed by {by})" if by else "")
