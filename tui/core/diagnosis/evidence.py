"""The evidence of each check, typed: the screens and the CLI read attributes, not dict keys.

Field order is the order of the keys in `check --json` (a contract: tests/recorded holds it);
a field left ABSENT is a key that check did not reach on that path and is not printed. Nested
parts that only travel to the JSON (a fail2ban jail's details, sshd's host key rows) stay
plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.core.diagnosis.finding import ABSENT, Evidence


@dataclass
class SeenAddress(Evidence):
    """An address sshd's logs name (newest first)."""

    ip: str
    source: str
    line: str | None
    count: int
    last_seen: str | None


@dataclass
class ClientIpEvidence(Evidence):
    seen_in_logs: list[SeenAddress]
    # The operator's address, when known (given, picked, or the only one in the logs).
    ip: str = ABSENT
    source: str = ABSENT
    line: str | None = ABSENT
    private: str | None = ABSENT


@dataclass
class SshdEvidence(Evidence):
    version: str | None
    binaries: list[str]
    uses_libwrap: bool | None
    notes: list[str]  # what could not be collected


@dataclass
class TcpWrappersEvidence(Evidence):
    uses_libwrap: bool | None
    binary: str | None
    diagnostics: list[str]  # tcpdchk's remarks on both files
    # The verdict for `client` (the operator, or an address nobody lists); absent when
    # sshd does not use libwrap or no address was checked.
    client: str = ABSENT
    access: str = ABSENT  # "granted" | "denied" | "unknown"
    file: str | None = ABSENT
    line: int | None = ABSENT
    rule: str | None = ABSENT
    reason: str = ABSENT
    warnings: list[str] = ABSENT
    managed_by: list[str] = ABSENT  # tools that write hosts.deny themselves
    # Whether sshd consults the rules could not be told (its binary or loader unreadable):
    # the verdict holds only if it does. Present (true) only then.
    conditional: bool = ABSENT


@dataclass
class BinaryState(Evidence):
    missing: list[str]  # sonames the loader finds nowhere
    error: str | None  # the binary could not be read
    libraries: int  # how many were resolved


@dataclass
class PackageOwner(Evidence):
    """The package that ships a missing library, from the disk's own package database."""

    name: str
    nvra: str | None  # RPM: name-version-release.arch
    db: str | None  # read from: "/var/lib/rpm/Packages", ".../rpmdb.sqlite" or "dpkg"
    manager: str | None  # the target's front end: "yum" | "dnf" | "apt-get"
    cached: list[str]  # its package file in the local cache
    manager_needs: bool | None  # the front end needs the missing library too (null: unknown)
    installer_needs: bool | None  # so does rpm / dpkg


@dataclass
class LibrariesEvidence(Evidence):
    binary: str
    missing: list[str]  # sonames
    candidates: dict[str, str | None]  # soname -> an existing file of it
    needed_by: dict[str, str | None] = ABSENT
    owners: dict[str, str | None] = ABSENT  # soname -> package
    binaries: dict[str, BinaryState] = ABSENT  # sshd, sshd-session
    packages: dict[str, PackageOwner] = ABSENT  # soname -> owner, when the disk's DB was read


@dataclass
class FirewallRule(Evidence):
    """A rule (or policy) of the host firewall, as the verdict names it."""

    action: str
    rule: str | None
    source: str
    chain: str | None
    line: int | None
    managed_by: str | None
    table: str | None
    index: int | None
    handle: int | None
    detail: str | None
    stage: str
    blocks: bool | None
    decides: bool
    caveats: list[str]
    remedy: list[str]


@dataclass
class FirewallEvidence(Evidence):
    collected: bool
    sources: list[str] = ABSENT
    port: int = ABSENT
    ports: list[int] = ABSENT
    verdict: str | None = ABSENT
    symptom: str | None = ABSENT
    deciding: FirewallRule | None = ABSENT
    blocking: list[FirewallRule] = ABSENT
    notes: list[str] = field(default_factory=list)


@dataclass
class SecurityCenterEvidence(Evidence):
    agent_running: bool | None  # None: not a running system
    agent_processes: list[str]
    # Whether the AliNet plug-in (it blocks brute-force sources on the host) runs; None: a disk.
    blocking_plugin: bool | None = ABSENT
    # The agent's install found on the target (/usr/local/aegis and its parts), when stat'd.
    agent_install: list[str] = ABSENT
    whitelist: str = ABSENT  # the operator's address
    warning: str = ABSENT  # why that address is no use in a whitelist
    firewall: FirewallEvidence = ABSENT  # the host's rules, shown beside the console steps


@dataclass
class Listener(Evidence):
    address: str
    port: int | None
    processes: list[str]  # "sshd[7]"


@dataclass
class ConfigTest(Evidence):
    command: str
    rc: int
    errors: list[str]
    output: list[str]


@dataclass
class PrivsepDir(Evidence):
    path: str
    chosen_by: str  # "sshd", "package manager", "guess (upstream default)", "present"
    mode: str | None = ABSENT  # octal, when it could be stat'd
    uid: int | None = ABSENT
    gid: int | None = ABSENT
    state: str = ABSENT  # "ok", "missing", "not collected", ...


@dataclass
class HostKeyRow(Evidence):
    path: str
    usable: bool | None  # None: could not be checked
    reason: str | None
    mode: str | None = ABSENT
    uid: int | None = ABSENT
    gid: int | None = ABSENT


@dataclass
class SessionHelper(Evidence):
    name: str  # "sshd-session" | "sshd-auth"
    path: str
    state: str  # "ok", "missing", "not executable (mode 0644)", ...


@dataclass
class CheckState(Evidence):
    status: str
    reason: str


@dataclass
class SshdServeEvidence(Evidence):
    port: int
    port_source: str
    configured_ports: list[int]
    live: bool
    sshd_running: bool | None = ABSENT
    listeners: list[Listener] | None = ABSENT
    config_test: ConfigTest | None = ABSENT
    privsep_dir: PrivsepDir = ABSENT
    host_keys: list[HostKeyRow] = ABSENT
    host_keys_from: str = ABSENT
    host_key_rule: str = ABSENT  # how this sshd judges a key's permissions, and why
    sshd_session: list[SessionHelper] | None = ABSENT
    checks: dict[str, CheckState] = ABSENT  # config, privsep_dir, host_keys, sshd_session, ...
    log: list[str] = ABSENT
    offline_note: str = ABSENT


@dataclass
class SshdLogKind(Evidence):
    kind: str  # "fork-failed", "bind-failed", "selinux-denied", ... (sshdlog.KINDS)
    status: str  # what this kind alone makes of the finding
    meaning: str  # for people, from its newest line
    count: int  # lines of this kind in the logs read
    current: int  # of them, recent and (failures to start) not followed by a start
    newest: str | None  # its newest line's time, when logged
    line: str  # its newest line: "source: text" (bounded)
    see: str | None  # the finding that owns this cause


@dataclass
class SshdLogEvidence(Evidence):
    window: str  # what "recent" means here
    kinds: list[SshdLogKind]  # worst first
    lines: list[str]  # the newest classified lines, newest first (bounded)
    lines_total: int  # fatal/error lines of sshd itself (client-side errors excluded)
    other: int  # of them, of no kind this tool knows
    client_errors: int  # a client's own errors ([preauth], kex_exchange_identification ...)
    starts_logged: int  # "Server listening on" lines


@dataclass
class MaxStartupsEvidence(Evidence):
    maxstartups: str
    persourcemaxstartups: str | None
    source: str
    drops_logged: int
    drops_recent: int
    dropped_total_reported: int | None
    highest_pending: int | None
    newest_lines: list[str]
    throttling_lines: list[str]
    client: str | None
    client_dropped: bool


@dataclass
class PenaltiesEvidence(Evidence):
    sshd_version: str | None
    client: str | None
    drops_logged: int
    newest_lines: list[str]
    persourcepenalties: str | None = ABSENT
    settings: dict[str, int] | None = ABSENT
    exempt_list: list[str] = ABSENT
    netblock: str | None = ABSENT
    drops_recent: int = ABSENT
    refused_addresses: list[str] = ABSENT
    reasons: list[str] = ABSENT
    client_exempt: bool = ABSENT
    client_refused: bool = ABSENT
    client_penalised: bool = ABSENT
    wait_seconds: int | None = ABSENT


@dataclass
class DenyListsEvidence(Evidence):
    client: str | None
    managers: list[str]
    fail2ban: Fail2banEvidence | None
    denyhosts: DenyHostsEvidence | None
    notes: list[str]
    commands: list[str] = ABSENT  # the remedy's lines that are commands to run


@dataclass
class ChangeSetState(Evidence):
    id: str
    state: str  # "applied", "applying", "undone", ...
    remedy: str
    files: list[str]
    plan_id: str | None


@dataclass
class ChangeJournalEvidence(Evidence):
    change_sets: list[ChangeSetState]  # newest first
    unreadable: list[str]


@dataclass
class JailState(Evidence):
    actions: list[str]
    ignoreip: list[str]
    bantime: str | None
    port: str | None


@dataclass
class BanState(Evidence):
    jail: str
    ip: str
    timeofban: int | None
    bantime: int | None
    banned_at: str | None
    until: str | None
    permanent: bool
    actions: list[str]
    affects_ssh: bool | None


@dataclass
class Fail2banEvidence(Evidence):
    """fail2ban's part of the deny-lists evidence."""

    config_files: list[str]
    database: str | None
    running: bool | None
    source: str  # where the bans in force come from: the server, or its database
    jails: dict[str, JailState]  # the enabled ones
    banned_count: int
    banned_by_jail: dict[str, int]
    ignored_in: list[str] = ABSENT  # jails that never ban the operator
    bans: list[BanState] = ABSENT  # the operator's


@dataclass
class DenyHostsEntry(Evidence):
    """A line naming the operator: in hosts.deny, or a failure counter in the work dir."""

    file: str
    line: int
    text: str
    count: int | None = None
    date: str | None = None


@dataclass
class DenyHostsEvidence(Evidence):
    """DenyHosts' part of the deny-lists evidence."""

    config: str | None
    work_dir: str
    work_files: list[str]
    hosts_deny: str
    block_service: str | None
    purge_deny: str | None
    marked_entries: int  # hosts.deny lines DenyHosts marked as its own
    note: str = ABSENT
    entries: list[DenyHostsEntry] = ABSENT  # the operator's, in hosts.deny and the counters
    purge_at: str | None = ABSENT


@dataclass
class LabelRow(Evidence):
    """One of sshd's files: its SELinux label and the one the policy gives it."""

    path: str
    label: str | None  # None: the file has none (unlabeled_t once the system boots)
    wanted: str  # what file_contexts gives it
    ok: bool  # the types agree


@dataclass
class PortLabel(Evidence):
    port: int
    type: str | None  # None: not known
    source: str  # "base policy", the ports.local file, or "not known"


@dataclass
class SelinuxEvidence(Evidence):
    mode: str | None  # "enforcing" | "permissive" | "disabled"
    mode_from: str  # the file the mode comes from
    policy: str | None  # SELINUXTYPE, e.g. "targeted"
    file_contexts: list[str]  # the files the wanted labels come from
    labels: list[LabelRow] = ABSENT
    ports: list[PortLabel] = ABSENT
    notes: list[str] = field(default_factory=list)
