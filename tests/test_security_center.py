"""Method 3's finding: the Security Center agent, its AliNet plug-in, its install on a disk."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.fixture_root import build_root
from tests.helpers.recorded_cases import live_facts
from tui.core.clientip import ClientAddress
from tui.core.diagnosis import firewall
from tui.core.facts.local import collect
from tui.core.facts.model import AEGIS_PATHS


def finding(facts, ip: str | None = "203.0.113.9"):
    client = ClientAddress(ip, "--client-ip") if ip else None
    return firewall.security_center_finding(facts, client, firewall.check(facts, ip))


def test_agent_processes_as_comm_shows_them():
    # comm keeps 15 characters: AliYunDunMonitor is "AliYunDunMonito" in /proc/PID/comm
    names = ["systemd", "AliYunDun", "AliYunDunMonito", "AliYunDunUpdate", "AliNet",
             "AliYunDunMonitor", "aliyundun", "AliNetX", "sshd"]
    assert firewall.agent_processes(names) == [
        "AliNet", "AliYunDun", "AliYunDunMonito", "AliYunDunUpdate"]
    assert firewall.agent_processes(["sshd", "cron"]) == []


def test_live_agent_with_the_blocking_plugin():
    f = finding(live_facts(processes=["sshd", "AliYunDun", "AliYunDunMonito", "AliNet"]))
    ev = f.evidence
    assert (f.status, ev.agent_running, ev.blocking_plugin) == ("info", True, True)
    assert ev.agent_processes == ["AliNet", "AliYunDun", "AliYunDunMonito"]
    assert f.summary.startswith("the Security Center agent and its AliNet plug-in run here "
                                "(it blocks brute-force sources); ")
    assert ev.to_json()["blocking_plugin"] is True


def test_live_agent_without_the_plugin_and_no_agent():
    f = finding(live_facts(processes=["sshd", "AliYunDun", "AliYunDunUpdate"]))
    assert (f.evidence.agent_running, f.evidence.blocking_plugin) == (True, False)
    assert "its AliNet plug-in does not (a block is then likely a security-group rule)" \
        in f.summary
    f = finding(live_facts())
    assert (f.evidence.agent_running, f.evidence.blocking_plugin) == (False, False)
    assert f.summary.startswith("no Security Center agent runs here; ")


def test_root_with_the_agent_installed(tmp_path: Path):
    root = build_root(tmp_path / "sysimage")
    for part in ("aegis_client/aegis_12_01", "aegis_update"):
        (root / "usr/local/aegis" / part).mkdir(parents=True)
    (root / "usr/local/aegis/aegis_client/aegis_12_01/AliYunDun").write_bytes(b"\x7fELF")
    facts = collect(str(root))
    f = finding(facts)
    ev = f.evidence
    assert (ev.agent_running, ev.blocking_plugin) == (None, None)  # a disk runs nothing
    assert ev.agent_install == list(AEGIS_PATHS)
    assert f.summary.startswith("the Security Center agent is installed on this disk "
                                "(/usr/local/aegis); ")
    assert ev.to_json()["agent_install"] == ["/usr/local/aegis", "/usr/local/aegis/aegis_client",
                                             "/usr/local/aegis/aegis_update"]


def test_root_without_the_agent(tmp_path: Path):
    root = build_root(tmp_path / "sysimage")
    (root / "usr/local/aegis").mkdir(parents=True)  # a leftover directory, nothing in it
    f = finding(collect(str(root)))
    assert f.evidence.agent_install == ["/usr/local/aegis"]
    assert f.summary.startswith("if the Security Center")  # no aegis_client: not installed
    root2 = build_root(tmp_path / "other")
    f = finding(collect(str(root2)))
    assert f.evidence.agent_install == [] and f.summary.startswith("if the Security Center")


def test_agent_install_unknown_when_not_stat(tmp_path: Path):
    facts = live_facts()
    facts.paths = {}  # e.g. over SSH, where the paths are not collected
    ev = finding(facts).evidence
    assert "agent_install" not in ev.to_json()


def test_method3_screen_words_for_the_agent(tmp_path: Path):
    from tui.wizard.screens.method3 import agent_lines

    live = finding(live_facts(processes=["AliYunDun", "AliNet"])).evidence
    assert agent_lines(live) == ["the Security Center agent runs here (AliNet, AliYunDun)",
                                 "  AliNet plug-in: runs (it blocks brute-force sources)"]
    without = finding(live_facts(processes=["AliYunDun"])).evidence
    assert agent_lines(without)[1] == ("  AliNet plug-in: not running (a block is likely a "
                                       "security-group rule)")
    root = build_root(tmp_path / "sysimage")
    (root / "usr/local/aegis/aegis_client").mkdir(parents=True)
    disk = finding(collect(str(root))).evidence
    assert agent_lines(disk) == ["agent: not running (a disk)",
                                 "  installed: /usr/local/aegis, /usr/local/aegis/aegis_client"]
    assert all(len(line) <= 76 for ev in (live, without, disk) for line in agent_lines(ev))
