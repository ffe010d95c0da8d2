"""Trust an unknown SSH host key? Shows the SHA256 fingerprint; never decides by itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from tui.wizard.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from tui.core.targets.ssh.knownhosts import UnknownHostKey


class HostKeyScreen(ConfirmScreen):
    def __init__(self, error: UnknownHostKey) -> None:
        where = f"[{error.hostname}]:{error.port}" if error.port != 22 else error.hostname
        body = Text()
        body.append(f"The host key of {where} is not known.\n\n")
        body.append(f"  {error.key_type}\n  {error.fingerprint}\n\n", style="bold")
        body.append("Compare this fingerprint with the one the instance shows (on its console: "
                    "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub). Trust it and add it to "
                    f"{error.known_hosts or '~/.ssh/known_hosts'}?")
        super().__init__("Unknown host key", body, "y trust and continue  ·  n/Esc refuse")
