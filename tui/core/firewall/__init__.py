"""Host firewall rules (iptables, nftables) that drop, reject or reset the operator's address.

`evaluate(texts, ip, port)` takes the text of `iptables-save`, `ip6tables-save`,
`nft -a list ruleset` or their saved files (label -> text) and says, per source, what a new
TCP connection from `ip` to `port` meets on the input path, with the rules that block it and
the command lines that undo them.
"""

from tui.core.firewall.evaluate import evaluate, parse_all, source_kind
from tui.core.firewall.result import FirewallReport, FirewallVerdict

__all__ = ["FirewallReport", "FirewallVerdict", "evaluate", "parse_all", "source_kind"]
