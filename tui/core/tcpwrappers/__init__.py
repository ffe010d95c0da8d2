"""TCP wrappers (libwrap) rules: parse, evaluate and diagnose, exactly as Debian's libwrap.

Entry points:

* ``load_pair(allow, deny)`` then ``Evaluator.check(request)`` for verdicts;
* ``HostsFile`` for a byte-preserving view of a rules file;
* ``tcpdchk.diagnose(table)`` for tcpdchk-style diagnostics.
"""

from tui.core.tcpwrappers.access import Evaluator, RuleHit, Verdict
from tui.core.tcpwrappers.hostmatch import HostInfo, Request
from tui.core.tcpwrappers.table import HostsFile, Record, Table, load_table

__all__ = [
    "Evaluator",
    "HostInfo",
    "HostsFile",
    "Record",
    "Request",
    "RuleHit",
    "Table",
    "Verdict",
    "load_table",
]
