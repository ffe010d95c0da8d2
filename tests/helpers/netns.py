"""A private network namespace (`unshare -n`) with real firewall rules and real connections.

The rules are loaded with the real iptables-restore / nft, read back with iptables-save and
`nft -a list ruleset` (what the tool collects on a live machine), and then probed: a listener
on the server address, and a TCP connect from each client address (all on lo), classified as
the operator's ssh would see it. Nothing here touches the machine's own network or rules.

Deliberately independent of ``tui.core``: it is the kernel's side of the tests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SERVER = "192.0.2.1"

# Runs inside the namespace: a listener that sends an SSH banner, then one connect per client.
_PROBE = r"""
import errno, json, socket, sys, threading
server, ports, clients = sys.argv[1], [int(p) for p in sys.argv[2].split(",")], sys.argv[3:]

def serve(ls):
    while True:
        c, _ = ls.accept()
        try:
            c.sendall(b"SSH-2.0-probe\r\n")
        except OSError:
            pass

for p in ports:
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", p))
    ls.listen(16)
    threading.Thread(target=serve, args=(ls,), daemon=True).start()

out = {}
for spec in clients:
    src, port = spec.rsplit(":", 1)
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(1.5)
    try:
        s.connect((server, int(port)))
    except socket.timeout:
        out[spec] = "timeout"; continue
    except OSError as e:
        # On lo the handshake's last ACK is judged before connect() returns, so a reset of
        # established packets shows up here rather than at the first read.
        out[spec] = {errno.ECONNREFUSED: "refused", errno.EHOSTUNREACH: "unreachable",
                     errno.ENETUNREACH: "unreachable", errno.ECONNRESET: "reset after connect",
                     }.get(e.errno, errno.errorcode[e.errno])
        continue
    try:
        data = s.recv(100)
        out[spec] = "banner" if data.startswith(b"SSH-") else "closed"
    except socket.timeout:
        out[spec] = "timeout after connect"
    except ConnectionResetError:
        out[spec] = "reset after connect"
    finally:
        s.close()
print(json.dumps(out))
"""

_SCRIPT = r"""
set -e
ip link set lo up
for a in $ADDRS; do ip addr add "$a/32" dev lo; done
$LOAD
for c in iptables-save ip6tables-save "nft -a list ruleset"; do
  echo "@@section $c"; $c
done
echo "@@section probe"
"$PY" "$PROBE" "$SERVER" "$PORTS" $CLIENTS
"""


@dataclass
class NetnsResult:
    texts: dict[str, str]  # "iptables-save", "ip6tables-save", "nft -a list ruleset"
    outcomes: dict[str, str]  # "addr:port" -> banner | refused | unreachable | timeout | ...


class KernelError(RuntimeError):
    """The kernel or the tools cannot do what the test needs: say exactly what failed."""


def run(tmp: Path, *, iptables: str | None = None, ip6tables: str | None = None,
        nft: str | None = None, clients: list[str] = (), ports: tuple[int, ...] = (22,),
        ) -> NetnsResult:
    """Load the rules in a fresh netns, dump them back, and probe `clients` ("addr:port")."""
    from tests.helpers.mountns import needs_integration

    needs_integration("a network namespace")
    for tool in ("unshare", "ip", "iptables-restore", "nft"):
        if shutil.which(tool) is None:
            raise KernelError(f"{tool} not found: install util-linux, iproute2, iptables, "
                              "nftables")
    load = []
    for name, text, cmd in (("v4.rules", iptables, "iptables-restore"),
                            ("v6.rules", ip6tables, "ip6tables-restore"),
                            ("rules.nft", nft, "nft -f")):
        if text is not None:
            (tmp / name).write_text(text)
            load.append(f"{cmd} {tmp / name}")
    (tmp / "probe.py").write_text(_PROBE)
    addrs = sorted({SERVER, *(c.rsplit(":", 1)[0] for c in clients)})
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ADDRS": " ".join(addrs),
        "LOAD": "\n".join(load) or ":", "PY": sys.executable, "PROBE": str(tmp / "probe.py"),
        "SERVER": SERVER, "PORTS": ",".join(map(str, ports)), "CLIENTS": " ".join(clients),
    }
    script = _SCRIPT.replace("$LOAD", env["LOAD"])
    r = subprocess.run(["unshare", "-n", "sh", "-c", script], env=env, capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        raise KernelError(f"netns run failed (exit {r.returncode}): {r.stderr.strip()[-800:]}")
    sections: dict[str, str] = {}
    for part in r.stdout.split("@@section ")[1:]:
        head, _, body = part.partition("\n")
        sections[head] = body
    outcomes = json.loads(sections.pop("probe"))
    return NetnsResult(sections, outcomes)


def ipt(*rules: str, policy: str = "ACCEPT", chains: tuple[str, ...] = ()) -> str:
    """An iptables-save style filter table (what rules.v4 holds)."""
    decl = "".join(f":{c} - [0:0]\n" for c in chains)
    body = "".join(r + "\n" for r in rules)
    return (f"*filter\n:INPUT {policy} [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            f"{decl}{body}COMMIT\n")
