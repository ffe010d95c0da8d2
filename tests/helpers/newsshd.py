"""OpenSSH 10.0 (bookworm-backports, unpacked by tests/helpers/fetch_openssh_backports.sh, never
installed) as a lab sshd, and running the real collector plus one finding inside a namespace.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import tests.helpers.sshlab as sshlab
from tests.helpers.mountns import REPO, MountNamespace
from tests.helpers.sshlab import SshLab

BPO = Path(os.environ.get("SRD_OPENSSH_BPO", "/var/cache/ssh-reset-doctor-tests/openssh-bpo"))
BPO_SSHD = BPO / "usr/sbin/sshd"
BPO_LIBEXEC = BPO / "usr/lib/openssh"  # sshd-session, sshd-auth


def require_bpo() -> Path:
    """Fail (never skip) with the command that provides OpenSSH >= 9.8."""
    missing = [p for p in (BPO_SSHD, BPO_LIBEXEC / "sshd-session", BPO_LIBEXEC / "sshd-auth")
               if not p.is_file()]
    if missing:
        raise RuntimeError(f"OpenSSH >= 9.8 is missing ({missing[0]}): run "
                           f"sh tests/helpers/fetch_openssh_backports.sh {BPO} (tests/run.sh does)")
    return BPO


class NewSshLab(SshLab):
    """SshLab on the unpacked 10.0 sshd, its sshd-session and sshd-auth named in the config."""

    def __init__(self, workdir: Path, *, extra_config: str = "", **kw) -> None:
        require_bpo()
        extra = (f"SshdSessionPath {BPO_LIBEXEC}/sshd-session\n"
                 f"SshdAuthPath {BPO_LIBEXEC}/sshd-auth\n{extra_config}")
        super().__init__(workdir, extra_config=extra, **kw)

    def start(self) -> None:
        # SshLab runs the module's SSHD; swap it for this start only.
        saved = sshlab.SSHD
        sshlab.SSHD = str(BPO_SSHD)
        try:
            super().start()
        finally:
            sshlab.SSHD = saved


_SCRIPT = r"""
import base64, json, sys
from tui.core.facts.local import collect
from tui.core.diagnosis import maxstartups, penalties
mod = {"maxstartups": maxstartups, "penalties": penalties}[sys.argv[1]]
ip = sys.argv[2] or None
facts = collect("/")
f = mod.finding(facts, ip)
out = {"finding": {**f.to_json(), "remedy": f.remedy}, "sshd_version": facts.sshd_version,
       "commands": sorted(facts.commands), "plans": []}
for p in mod.plans(facts, ip):
    out["plans"].append({
        "remedy": p.remedy, "title": p.title, "preview": p.preview(), "notes": p.notes,
        "default": p.default,
        "ops": [{"path": o.path, "before": base64.b64encode(o.before or b"").decode(),
                 "after": base64.b64encode(o.after).decode()} for o in p.ops],
        "checks": [{"argv": list(c.argv), "stdin": base64.b64encode(c.stdin).decode(),
                    "what": c.what} for c in p.checks]})
print(json.dumps(out))
"""


def diagnose(ns: MountNamespace, module: str, ip: str | None) -> dict:
    """The real collector on the namespace's files and logs, then `module`'s finding and
    plans (bytes base64-encoded), as the tool would see this machine."""
    r = subprocess.run([*ns.prefix, sys.executable, "-c", _SCRIPT, module, ip or ""],
                       capture_output=True, text=True, timeout=120, cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def run_check(ns: MountNamespace, check: dict, argv0: str | None = None
              ) -> subprocess.CompletedProcess:
    """A plan's CommandCheck run inside the namespace (optionally with another sshd)."""
    argv = check["argv"] if argv0 is None else [argv0, *check["argv"][1:]]
    return subprocess.run([*ns.prefix, *argv], input=b64(check["stdin"]), capture_output=True,
                          timeout=30)
