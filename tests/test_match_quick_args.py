"""`match` reads its usual arguments without argparse: exactly as argparse would, or not at all."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.cli import build_parser
from tui.commands.match import parse_quickly

WORDS = ["--root", "--allow", "--deny", "--daemon", "--json", "-v", "--verbose", "--root=/r",
         "--allow=a", "--deny=d", "--daemon=vsftpd@10.0.0.1", "--daemon=", "--allow=x=y",
         "10.0.0.3", "203.0.113.7", "root@10.0.0.3", "host.example.com", "/r", "a", "d",
         "-", "--", "-h", "--help", "--all", "--js", "-1", "--json=1", "-vv", "sshd", ""]
FIELDS = ("root", "allow", "deny", "daemon", "json", "clients")


def _argparse(argv: list[str]):
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return build_parser().parse_args(["match", *argv])
        except SystemExit:
            return None


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(WORDS), max_size=7))
def test_quick_reading_is_argparses_or_nothing(argv: list[str]):
    quick = parse_quickly(argv)
    if quick is None:
        return
    full = _argparse(argv)
    assert full is not None, argv
    assert {f: getattr(quick, f) for f in FIELDS} == {f: getattr(full, f) for f in FIELDS}


def test_usual_forms_are_read_quickly():
    for argv in (["10.0.0.3"], ["--root", "/r", "10.0.0.3", "203.0.113.7"],
                 ["--allow", "a", "--deny", "d", "--json", "10.0.0.3"],
                 ["10.0.0.3", "--daemon", "vsftpd", "-v"]):
        assert parse_quickly(argv) is not None, argv


def test_match_starts_without_argparse_dataclasses_or_typing(tmp_path):
    (tmp_path / "allow").write_bytes(b"")
    (tmp_path / "deny").write_bytes(b"sshd: 10.0.0.3\n")
    code = ("import sys\nfrom tui.cli import main\n"
            f"rc = main(['match', '--allow', {str(tmp_path / 'allow')!r}, '--deny', "
            f"{str(tmp_path / 'deny')!r}, '10.0.0.3'])\n"
            "print(rc, sorted(m for m in ('argparse', 'dataclasses', 'typing', 'inspect') "
            "if m in sys.modules), file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "access:   denied" in r.stdout
    assert r.stderr.strip().splitlines()[-1] == "1 []"
