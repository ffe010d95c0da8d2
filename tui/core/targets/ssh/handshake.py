"""One hop's connection: TCP, the SSH handshake with host key checks, key login.

Every failure becomes one TargetError line an operator can act on (a reset before the
banner is the very fault this tool diagnoses).
"""

from __future__ import annotations

import errno
import socket
from typing import Union

import paramiko

from tui.core.targets.base import TargetError
from tui.core.targets.hostspec import hostport, known_hosts_name
from tui.core.targets.ssh.auth import KeyAuth
from tui.core.targets.ssh.knownhosts import (
    SYSTEM_KNOWN_HOSTS,
    HostKeyMismatch,
    RejectUnknownKey,
    fingerprint,
    load_known_hosts,
)
from tui.core.targets.ssh.options import Endpoint

# What the next hop runs over: a TCP socket, or a jump host's direct-tcpip channel.
Sock = Union[socket.socket, paramiko.Channel]


def _chain(e: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _reset_before_banner(where: str) -> TargetError:
    return TargetError(
        f"{where} reset the connection before the SSH banner — that is the fault this tool "
        "diagnoses; reach the instance another way (-J jump host, another address or port, "
        "or the cloud's VNC console)"
    )


def _handshake_error(
    e: BaseException, ep: Endpoint, t: paramiko.Transport | None, timeout: float
) -> TargetError:
    """One actionable line for a failure after TCP connected, before authentication."""
    where = f"{ep.what}{hostport(ep.host, ep.port)}"
    chain = _chain(e)
    before_banner = t is None or not t.remote_version
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    if any(isinstance(x, (ConnectionResetError, EOFError, BrokenPipeError)) for x in chain):
        if before_banner:
            return _reset_before_banner(where)
        return TargetError(f"{where} closed the connection during the SSH handshake ({msg})")
    if any(isinstance(x, TimeoutError) for x in chain) or ("No existing session" in str(e)):
        if before_banner:
            return TargetError(
                f"{where} accepted TCP but sent no SSH banner within {timeout:g} s — not sshd, "
                "or sshd is overloaded (MaxStartups) or hung"
            )
        return TargetError(f"SSH key exchange with {where} timed out after {timeout:g} s")
    if "Indecipherable protocol version" in msg:
        return TargetError(f"{where} is not an SSH server ({msg})")
    return TargetError(f"SSH handshake with {where} failed: {msg}")


def tcp_connect(ep: Endpoint, timeout: float) -> socket.socket:
    where = f"{ep.what}{hostport(ep.host, ep.port)}"
    try:
        return socket.create_connection((ep.host, ep.port), timeout=timeout)
    except socket.gaierror as e:
        raise TargetError(
            f"cannot resolve {ep.what}host {ep.host!r}: {e.strerror}; check the name, "
            "or use an IP address"
        ) from e
    except ConnectionRefusedError as e:
        raise TargetError(
            f"{where} refused the connection — nothing listens on that port or a firewall "
            "REJECTs it; check the port and that sshd runs"
        ) from e
    except (ConnectionResetError, ConnectionAbortedError) as e:
        raise _reset_before_banner(where) from e  # accepted, then reset during connect()
    except TimeoutError as e:  # socket.timeout too
        raise TargetError(
            f"connecting to {where} timed out after {timeout:g} s — packets are dropped "
            "(firewall DROP, cloud security group / network ACL) or the address is wrong"
        ) from e
    except OSError as e:
        if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            raise TargetError(f"no route to {where}: {e.strerror}; check the address") from e
        raise TargetError(f"cannot connect to {where}: {e.strerror or e}") from e


def open_client(ep: Endpoint, sock: Sock, timeout: float) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    try:
        revoked = load_known_hosts(client.get_host_keys(), ep.known_hosts)
    except BaseException:
        sock.close()  # nothing owns the socket yet
        raise
    user_kh = next((p for p in ep.known_hosts if p != SYSTEM_KNOWN_HOSTS), None)
    # Never AutoAdd/Warning: an unknown key stops here with its fingerprint.
    client.set_missing_host_key_policy(RejectUnknownKey(ep.host, ep.port, ep.what, user_kh))
    auth = KeyAuth(ep)
    where = f"{ep.what}{hostport(ep.host, ep.port)}"
    try:
        client.connect(
            ep.host,
            port=ep.port,
            username=ep.user,
            sock=sock,
            # start_client() gets `timeout` as the budget of banner + key exchange; keep it
            # above banner_timeout so a silent server reports the banner, not "No session".
            timeout=2 * timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
            auth_strategy=auth,  # type: ignore[arg-type]
        )
    except TargetError:
        client.close()
        raise
    except paramiko.BadHostKeyException as e:
        client.close()
        name = known_hosts_name(ep.host, ep.port)
        raise HostKeyMismatch(
            f"{where} presents {e.key.get_name()} key {fingerprint(e.key)} but known_hosts has "
            f"{fingerprint(e.expected_key)} — possible man-in-the-middle, or the host was "
            f"reinstalled; verify out of band, then `ssh-keygen -R '{name}'`"
        ) from e
    except paramiko.AuthenticationException as e:
        client.close()
        raise TargetError(f"{where}: authentication failed for {ep.label}: {e}") from e
    except (paramiko.SSHException, OSError, EOFError) as e:
        t = client.get_transport()
        client.close()
        raise _handshake_error(e, ep, t, timeout) from e
    t = client.get_transport()
    assert t is not None
    server_key = t.get_remote_server_key()
    if server_key.get_base64() in revoked:
        client.close()
        raise HostKeyMismatch(f"{where} presents a host key marked @revoked in known_hosts")
    t.set_keepalive(30)
    return client

