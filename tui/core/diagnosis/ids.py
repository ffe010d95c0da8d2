"""Finding ids: what `check --json` prints as "id" (the contract) and `fix` takes as WHAT.

A leaf module: the checks name their findings with these, and tui.core.diagnosis.registry
(which imports the checks) re-exports them.
"""

CLIENT_IP = "client-ip"
SSHD = "sshd"
TCP_WRAPPERS = "tcp-wrappers"
LIBRARIES = "libraries"
SECURITY_CENTER = "security-center"
NETWORK = "network"
SSHD_SERVE = "sshd-serve"
SSHD_LOG = "sshd-log"
MAXSTARTUPS = "maxstartups"
PENALTIES = "penalties"
FIREWALL = "firewall"
DENY_LISTS = "deny-lists"
CHANGE_JOURNAL = "change-journal"
SELINUX = "selinux"
