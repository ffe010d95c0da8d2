"""Every check of a target, once: its finding id, titles, method, finding and remedies.

`check`, `fix`, the wizard's overview and other-causes screens and the Markdown report all
iterate CHECKS (in this order, the order of `check`'s findings). A check's module is imported
only when its finding or plans are asked for, so the overview's first frame and the CLI's
argument parser may import this module freely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.core.changes.plan import Plan
    from tui.core.clientip import ClientAddress
    from tui.core.diagnosis.finding import Finding
    from tui.core.diagnosis.firewall import FirewallCheck
    from tui.core.facts.model import Facts

from tui.core.diagnosis.ids import (  # the finding ids are the registry's constants too
    CHANGE_JOURNAL,
    CLIENT_IP,
    DENY_LISTS,
    FIREWALL,
    LIBRARIES,
    MAXSTARTUPS,
    NETWORK,
    PENALTIES,
    SECURITY_CENTER,
    SELINUX,
    SSHD,
    SSHD_LOG,
    SSHD_SERVE,
    TCP_WRAPPERS,
)

__all__ = [
    "CAUSES", "CHANGE_JOURNAL", "CHECKS", "CLIENT_IP", "DENY_LISTS", "FIREWALL", "FIXABLE",
    "LIBRARIES", "MAXSTARTUPS", "METHODS", "NEEDS_ADDRESS", "NETWORK", "PENALTIES", "REMEDY_IDS",
    "SECURITY_CENTER", "SELINUX", "SSHD", "SSHD_LOG", "SSHD_SERVE", "TCP_WRAPPERS", "Check",
    "Context", "get", "title",
]


@dataclass
class Context:
    """What a check looks at: the facts, the operator's address, the port they connect to
    (None: sshd's configured one). The host firewall verdict is worked out once and shared
    by the Security Center and the firewall findings."""

    facts: Facts
    client: ClientAddress | None = None
    port: int | None = None
    _firewall: FirewallCheck | None = field(default=None, repr=False)

    @classmethod
    def for_ip(cls, facts: Facts, ip: str | None) -> Context:
        from tui.core.clientip import ClientAddress

        return cls(facts, ClientAddress(ip, "--client-ip") if ip else None)

    @property
    def ip(self) -> str | None:
        return self.client.ip if self.client else None

    def firewall(self) -> FirewallCheck:
        if self._firewall is None:
            from tui.core.diagnosis import firewall

            self._firewall = firewall.check(self.facts, self.ip)
        return self._firewall


FindingOf = Callable[[Context], "Finding | None"]
PlansOf = Callable[["Facts", "str | None", "Finding"], "list[Plan]"]


@dataclass(frozen=True)
class Check:
    id: str
    title: str  # the Markdown report's and the summary screen's name for it
    short: str  # the overview's row (16 columns)
    method: int | None  # the article's method 1-4; None: a cause beyond them
    finding: FindingOf  # gives None when it has nothing to say (a journal never written)
    plans: PlansOf | None = None  # previewed edits `fix` and the wizard offer, default first
    needs_address: bool = False  # its plans write the operator's address: never a guess
    remedy_ids: tuple[str, ...] = ()  # its plans' `remedy` ids (fix --remedy choices)
    cause: bool = True  # False: context for the others (the address, sshd itself)
    long: str | None = None  # the other-causes screen's name when it differs from `short`

    @property
    def fixable(self) -> bool:
        return self.plans is not None

    @property
    def label(self) -> str:
        return self.long or self.short

    def offers_fix(self, facts: Facts, ip: str | None, found: Finding) -> bool:
        """Whether `fix` would offer an edit for `found`. Plans that need the operator's
        address not yet given count as yes: `fix` then asks for it."""
        if self.plans is None:
            return False
        return (self.needs_address and not ip) or bool(self.plans(facts, ip, found))

    def remedies(self, facts: Facts, ip: str | None) -> tuple[Finding, list[Plan]]:
        """The finding with the operator's address `ip` and its plans, default first."""
        found = self.finding(Context.for_ip(facts, ip))
        if found is None or self.plans is None:
            raise ValueError(f"{self.id}: not a check `fix` can remedy")
        return found, self.plans(facts, ip, found)


# --- the checks' findings and plans (their modules imported on first use) -------------


def _client_ip(ctx: Context) -> Finding:
    from tui.core.diagnosis import basics

    return basics.client_finding(ctx.facts, ctx.client)


def _sshd(ctx: Context) -> Finding:
    from tui.core.diagnosis import basics

    return basics.sshd_finding(ctx.facts)


def _tcp_wrappers(ctx: Context) -> Finding:
    from tui.core.diagnosis import tcpwrappers

    return tcpwrappers.finding(ctx.facts, ctx.ip)


def _tcp_wrappers_plans(facts: Facts, ip: str | None, found: Finding) -> list[Plan]:
    from tui.core.diagnosis import tcpwrappers

    return tcpwrappers.remedies(facts, ip, found)


def _libraries(ctx: Context) -> Finding:
    from tui.core.diagnosis import libraries

    return libraries.finding(ctx.facts)


def _libraries_plans(facts: Facts, ip: str | None, found: Finding) -> list[Plan]:
    from tui.core.diagnosis import libraries

    return libraries.plans(facts)


def _security_center(ctx: Context) -> Finding:
    from tui.core.diagnosis import firewall

    return firewall.security_center_finding(ctx.facts, ctx.client, ctx.firewall())


def _network(ctx: Context) -> Finding:
    from tui.core.diagnosis import basics

    return basics.network_finding(ctx.client)


def _sshd_serve(ctx: Context) -> Finding:
    from tui.core.diagnosis import sshdserve

    return sshdserve.finding(ctx.facts, ctx.ip, ctx.port)


def _sshd_log(ctx: Context) -> Finding:
    from tui.core.diagnosis import sshdlog

    return sshdlog.finding(ctx.facts)


def _selinux(ctx: Context) -> Finding | None:
    from tui.core.diagnosis import selinux

    return selinux.finding(ctx.facts)  # only where SELinux is configured


def _maxstartups(ctx: Context) -> Finding:
    from tui.core.diagnosis import maxstartups

    return maxstartups.finding(ctx.facts, ctx.ip)


def _maxstartups_plans(facts: Facts, ip: str | None, found: Finding) -> list[Plan]:
    from tui.core.diagnosis import maxstartups

    return maxstartups.plans(facts, ip, found=found) if found.status == "problem" else []


def _penalties(ctx: Context) -> Finding:
    from tui.core.diagnosis import penalties

    return penalties.finding(ctx.facts, ctx.ip)


def _penalties_plans(facts: Facts, ip: str | None, found: Finding) -> list[Plan]:
    from tui.core.diagnosis import penalties

    return penalties.plans(facts, ip, found=found) if found.status == "problem" else []


def _firewall(ctx: Context) -> Finding:
    from tui.core.diagnosis import firewall

    return firewall.firewall_finding(ctx.firewall())


def _deny_lists(ctx: Context) -> Finding:
    from tui.core.diagnosis import denylists

    return denylists.finding(ctx.facts, ctx.ip)


def _change_journal(ctx: Context) -> Finding | None:
    from tui.core.diagnosis import changes

    return changes.finding(ctx.facts)  # only when this tool has changed the target before


CHECKS: tuple[Check, ...] = (
    Check(CLIENT_IP, "Operator address", "Your address", None, _client_ip, cause=False),
    Check(SSHD, "sshd", "sshd", None, _sshd, cause=False),
    Check(TCP_WRAPPERS, "Method 1: TCP wrappers", "TCP wrappers", 1, _tcp_wrappers,
          _tcp_wrappers_plans, needs_address=True, remedy_ids=("allow-client", "comment-out")),
    Check(LIBRARIES, "Method 2: shared libraries", "Shared libraries", 2, _libraries,
          _libraries_plans, remedy_ids=("soname-symlink",)),
    Check(SECURITY_CENTER, "Method 3: Security Center", "Security Center", 3, _security_center),
    Check(NETWORK, "Method 4: your network", "Your network", 4, _network),
    Check(SSHD_SERVE, "sshd itself", "sshd itself", None, _sshd_serve),
    Check(SSHD_LOG, "Errors in sshd's log", "sshd's log", None, _sshd_log),
    Check(SELINUX, "SELinux labels", "SELinux", None, _selinux),
    Check(MAXSTARTUPS, "MaxStartups", "MaxStartups", None, _maxstartups, _maxstartups_plans,
          remedy_ids=("raise-maxstartups",)),
    Check(PENALTIES, "Per-source penalties", "Penalties", None, _penalties, _penalties_plans,
          needs_address=True, remedy_ids=("exempt-client",), long="Per-source penalties"),
    Check(FIREWALL, "Host firewall", "Host firewall", None, _firewall),
    Check(DENY_LISTS, "Managed deny lists", "Deny lists", None, _deny_lists),
    Check(CHANGE_JOURNAL, "Earlier changes of this tool", "Earlier changes", None,
          _change_journal),
)
BY_ID = {c.id: c for c in CHECKS}
# What `fix` and the wizard can change by a previewed edit; everything else gets commands.
FIXABLE = tuple(c.id for c in CHECKS if c.fixable)
# Remedies that may write the operator's address: only one given or picked, never a guess.
NEEDS_ADDRESS = tuple(c.id for c in CHECKS if c.needs_address)
REMEDY_IDS = tuple(r for c in CHECKS for r in c.remedy_ids)  # `fix --remedy` choices
METHODS = tuple(c for c in CHECKS if c.method is not None)  # the article's four, in order
CAUSES = tuple(c for c in CHECKS if c.method is None and c.cause)  # beyond the article


def get(fid: str) -> Check:
    """The check of finding id `fid`; KeyError for an id no check has."""
    return BY_ID[fid]


def title(fid: str) -> str:
    c = BY_ID.get(fid)
    return c.title if c else fid
