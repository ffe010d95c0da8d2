"""Login by public key only: identity files, agent keys, the default key files."""

from __future__ import annotations

import os

import paramiko

from tui.core.targets.base import TargetError
from tui.core.targets.hostspec import hostport
from tui.core.targets.ssh.knownhosts import fingerprint
from tui.core.targets.ssh.options import Endpoint

_DEFAULT_KEY_FILES = ["~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519"]


class KeyAuth:
    """Public-key authentication only (duck-typed paramiko AuthStrategy).

    Never falls back to password or keyboard-interactive: those would prompt on the terminal
    of a headless tool. Order as in OpenSSH: identity files, agent keys, default key files.
    """

    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep
        self.tried: list[str] = []
        self.skipped: list[str] = []
        self.agent: paramiko.Agent | None = None

    def _candidates(self) -> list[tuple[str, paramiko.PKey]]:
        out = [k for path in self.ep.key_files for k in self._load(path)]
        if not (self.ep.identities_only and self.ep.key_files):
            try:
                self.agent = paramiko.Agent()
                out += [(f"agent key {fingerprint(k)}", k) for k in self.agent.get_keys()]
            except paramiko.SSHException:
                pass  # no usable agent
            for path in map(os.path.expanduser, _DEFAULT_KEY_FILES):
                if os.path.isfile(path) and path not in self.ep.key_files:
                    out += self._load(path)
        seen: set[bytes] = set()
        unique = []
        for name, key in out:  # each key once: servers allow only MaxAuthTries attempts
            if key.asbytes() not in seen:
                seen.add(key.asbytes())
                unique.append((name, key))
        return unique

    def _load(self, path: str) -> list[tuple[str, paramiko.PKey]]:
        try:
            return [(path, paramiko.PKey.from_path(path))]
        except paramiko.PasswordRequiredException:
            self.skipped.append(f"{path} is encrypted (load it into ssh-agent)")
        except (paramiko.SSHException, OSError, ValueError) as e:
            self.skipped.append(f"{path}: {e}")
        return []

    def authenticate(self, transport: paramiko.Transport) -> list[str]:
        try:
            for name, key in self._candidates():
                self.tried.append(name)
                try:
                    remaining = transport.auth_publickey(self.ep.user, key)
                except paramiko.BadAuthenticationType as e:
                    raise TargetError(
                        f"{self.ep.what}{self.ep.label} does not accept key login "
                        f"(allowed: {', '.join(e.allowed_types) or 'nothing'}); this tool "
                        "logs in with keys only: add your public key to authorized_keys"
                    ) from e
                except paramiko.AuthenticationException as e:
                    where = f"{self.ep.what}{hostport(self.ep.host, self.ep.port)}"
                    if not transport.is_active():
                        raise TargetError(
                            f"{where} closed the connection during authentication as "
                            f"{self.ep.user} after {len(self.tried)} key(s) (MaxAuthTries?); "
                            "pass the right key with -i"
                        ) from e
                    if "timeout" in str(e).lower():
                        raise TargetError(
                            f"{where} did not answer authentication within "
                            f"{transport.auth_timeout:g} s"
                        ) from e
                    continue
                if remaining:
                    raise TargetError(
                        f"{self.ep.what}{self.ep.label} wants a second factor "
                        f"({', '.join(remaining)}) after the key; this tool cannot answer it"
                    )
                return []
        finally:
            if self.agent is not None:
                self.agent.close()
        tried = ", ".join(self.tried) or "no keys found"
        skipped = f"; skipped {', '.join(self.skipped)}" if self.skipped else ""
        raise TargetError(
            f"{self.ep.what}authentication failed for {self.ep.label} (tried: {tried}{skipped}); "
            "pass the right key with -i or add yours to the user's authorized_keys"
        )
