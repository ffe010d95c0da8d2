"""hosts_access(): the verdict for one request across hosts.allow then hosts.deny."""

from __future__ import annotations

from collections.abc import Callable

from tui.core.tcpwrappers import clib
from tui.core.tcpwrappers.hostmatch import FileLoopError, Matcher, Request
from tui.core.tcpwrappers.prefilter import safe_run
from tui.core.tcpwrappers.table import (
    BUFLEN,
    Record,
    Table,
    Window,
    is_skipped,
    split_rule,
    xgets,
)
from tui.core.tcpwrappers.values import Frozen, Value

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `match` avoids importing typing
if TYPE_CHECKING:
    from typing import Literal

    from tui.core.tcpwrappers.options import Accounts

    # "unknown": a rules file we could not read whole (too big to collect), which libwrap
    # does read: neither a grant nor a denial can be claimed.
    Access = Literal["granted", "denied", "delegated", "unknown"]


class RuleHit(Frozen):
    """A rule whose daemon and client lists both matched."""

    __slots__ = ("file", "record", "options")

    def __init__(self, file: str, record: Record, options: bytes | None) -> None:
        self.file = file
        self.record = record
        self.options = options

    @property
    def line(self) -> int:
        return self.record.first_line

    @property
    def rule(self) -> str:
        return self.record.rule_text


class Verdict(Value):
    __slots__ = ("access", "file", "line", "rule", "reason", "hits", "warnings", "stop")
    _uncompared = ("stop",)

    def __init__(self, access: Access, file: str | None = None, line: int | None = None,
                 rule: str | None = None, reason: str = "", hits: list[RuleHit] | None = None,
                 warnings: list[str] | None = None,
                 stop: tuple[int, int, int, int] | None = None) -> None:
        self.access = access
        self.file = file  # the file that decided (None: no rule, default grant)
        self.line = line  # 1-based first physical line of the deciding rule
        self.rule = rule  # the deciding logical rule, continuations joined
        self.reason = reason  # plain words
        self.hits: list[RuleHit] = [] if hits is None else hits  # rules matched on the way
        # "file, line N: ..." as tcpd_warn
        self.warnings: list[str] = [] if warnings is None else warnings
        # The deciding record: (0 allow / 1 deny, start and end byte offsets, its last
        # physical line); a check may resume after it (Evaluator.check's `start`) once it
        # is edited.
        self.stop = stop

    @property
    def granted(self) -> bool:
        return self.access == "granted"


class _Scan:
    """Outcome of table_match(): a hit, nothing, or an error that fails closed."""

    __slots__ = ("hit", "error", "error_record", "fatal", "unknown", "stop")

    def __init__(self, hit: RuleHit | None = None, error: str | None = None,
                 error_record: Record | None = None, fatal: bool = False,
                 unknown: bool = False, stop: tuple[int, int, int] | None = None) -> None:
        self.hit = hit
        self.error = error
        self.error_record = error_record
        self.fatal = fatal  # libwrap would crash: the connection dies whichever file it is
        self.unknown = unknown  # we cannot tell what libwrap reads (too big to collect)
        self.stop = stop  # the hit or error record: (start, end, line)


class Evaluator:
    """Evaluates requests against a pair of tables (hosts.allow, hosts.deny)."""

    def __init__(
        self,
        allow: Table,
        deny: Table,
        read_file: Callable[[str], bytes],
        accounts: Accounts | None = None,
    ) -> None:
        self.allow, self.deny = allow, deny
        self.read_file = read_file
        self._accounts = accounts

    @property
    def accounts(self) -> Accounts:
        """Whose users and groups options name (this machine's by default). The options
        module loads only when a rule matched: `match` of an unlisted client never needs it."""
        if self._accounts is None:
            from tui.core.tcpwrappers.options import LOCAL_ACCOUNTS

            self._accounts = LOCAL_ACCOUNTS
        return self._accounts

    def check(self, request: Request, start: tuple[int, int, int] = (0, 0, 0)) -> Verdict:
        """The verdict for `request`. `start` (a Verdict's `stop`, the deciding record since
        edited out) resumes there: the records before it are known not to decide."""
        v = Verdict("granted", reason="no rule matched: access is granted by default")
        for k, (table, is_allow) in enumerate(((self.allow, True), (self.deny, False))):
            if k < start[0]:
                continue
            m = Matcher(request, self.read_file)
            at = start[1:] if k == start[0] and table.file is None else (0, 0)
            scan = self._table_match(table, m, v, *at)
            v.stop = None if scan.stop is None else (k, *scan.stop)
            v.warnings.extend(m.notes)
            if scan.unknown:
                return self._decide(v, "unknown", table, None, scan.error or "")
            if scan.error is not None:
                rec = scan.error_record
                if not is_allow or scan.fatal:
                    return self._decide(v, "denied", table, rec, f"{scan.error}: libwrap denies")
                v.warnings.append(f"{table.path}: {scan.error}; its remaining rules are ignored")
                continue
            if scan.hit is None:
                continue
            v.hits.append(scan.hit)
            from tui.core.tcpwrappers.options import Outcome, process_options

            res = process_options(scan.hit.options or b"", self.accounts)
            rec = scan.hit.record
            if res.outcome is Outcome.TWIST:
                why = f"option '{res.option}' hands the connection to a command instead of sshd"
                return self._decide(v, "delegated", table, rec, why)
            if res.outcome is Outcome.ALLOW:
                return self._decide(v, "granted", table, rec, "granted by option 'allow'")
            if res.outcome is Outcome.DENY:
                denied = (f"bad option ({res.error}): libwrap denies" if res.error
                          else "denied by option 'deny'")
                return self._decide(v, "denied", table, rec, denied)
            if is_allow:
                return self._decide(v, "granted", table, rec, "granted by a hosts.allow rule")
            return self._decide(v, "denied", table, rec, "denied by a hosts.deny rule")
        return v

    def matching_rules(self, table: Table, request: Request) -> list[RuleHit]:
        """Every rule of `table` that matches, not only the first (for remedies)."""
        m = Matcher(request, self.read_file)
        hits: list[RuleHit] = []
        if table.open_errno is not None or table.too_big is not None:
            return hits
        w, pos, line = table.reader(), 0, 0
        run = safe_run(request)
        while True:
            pos, line = _skip_safe(w, pos, line, run)  # lines that cannot match
            got = xgets(w, pos, line)
            if got is None or not got[0].complete:
                return hits
            rec, pos, line = got
            hit = self._record_match(table, rec, m, None)
            if hit is not None:
                hits.append(hit)

    # -- internals ----------------------------------------------------------------------

    @staticmethod
    def _decide(v: Verdict, access: Access, table: Table, rec: Record | None, why: str) -> Verdict:
        v.access, v.file, v.reason = access, table.path, why
        if rec is not None:
            v.line, v.rule = rec.first_line, rec.rule_text
        return v

    def _table_match(self, table: Table, m: Matcher, v: Verdict, pos: int = 0,
                     line: int = 0) -> _Scan:
        if table.too_big is not None:
            size = f"{table.too_big} bytes" if table.too_big >= 0 else "size unknown"
            return _Scan(error=f"{table.path}: too large to read ({size})", unknown=True)
        if table.open_errno is not None:
            if table.missing:
                return _Scan()
            return _Scan(error=f"cannot open {table.path}: {table.note or 'error'}")
        if table.note:
            v.warnings.append(f"{table.path}: {table.note}")
        w = table.reader()
        run = safe_run(m.request)
        while True:
            pos, line = _skip_safe(w, pos, line, run)
            got = xgets(w, pos, line)
            if got is None:
                return _Scan()
            rec, pos, line = got
            if not rec.complete:
                what = "missing newline" if w.at_end(pos) else "line too long"
                return _Scan(error=f"line {rec.first_line}: {what}", error_record=rec,
                             stop=(rec.start, rec.end, rec.last_line))
            try:
                hit = self._record_match(table, rec, m, v)
            except FileLoopError as e:
                why = f"line {rec.first_line}: pattern file {e} includes itself"
                return _Scan(error=why, error_record=rec, fatal=True,
                             stop=(rec.start, rec.end, rec.last_line))
            if hit is not None:
                return _Scan(hit=hit, stop=(rec.start, rec.end, rec.last_line))

    @staticmethod
    def _record_match(table: Table, rec: Record, m: Matcher, v: Verdict | None) -> RuleHit | None:
        if is_skipped(rec.text):
            return None
        parts = split_rule(rec.text)
        if parts is None:
            if v is not None:
                v.warnings.append(f'{table.path}, line {rec.first_line}: missing ":" separator')
            return None
        daemons, clients, options = parts
        if m.list_match(clib.strtok(daemons), m.server_match) and m.list_match(
            clib.strtok(clients), m.client_match
        ):
            return RuleHit(table.path, rec, options)
        return None


def _skip_safe(w: Window, pos: int, line: int, run: Callable[[bytes, int], int]
               ) -> tuple[int, int]:
    """Skip the lines `run` finds safe (prefilter.py) from `pos`, a line start in w.buf.

    Stops at the first line that is not, or at the end of the file (where the line count
    it returns is not kept up to date: no record follows). A safe line fits in
    libwrap's buffer, so a run that stops further than that from the end of a window
    stopped at a line that is not safe, not at the window's edge."""
    while True:
        data = w.buf
        end = run(data, pos)
        if w.eof and end >= len(data):
            return end, line  # the end of the file: no line number needed any more
        line += data.count(b"\n", pos, end)
        if w.eof or len(data) - end > BUFLEN:
            return end, line
        pos = end - w.more(end)  # the run may go on past the window: read on, then retry
