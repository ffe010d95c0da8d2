"""A fleet: `check --json` on several targets, aggregated by the README's own snippet.

The targets are systems built from this machine's real sshd and libraries (one healthy, one
with the tcp wrappers fault, one with the missing library); each run is what one instance's
run-command agent or Ansible task would return. The aggregation code is taken from README.md,
so the documented recipe is what is tested.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers.fixture_root import break_library, build_root
from tests.helpers.mountns import REPO, run_tool

CLIENT = "203.0.113.45"


def _readme_block(marker: str) -> str:
    text = (REPO / "README.md").read_text()
    m = re.search(rf"<!-- {marker} -->\s*```\w*\n(.*?)```", text, re.S)
    assert m, f"README.md has no code block after <!-- {marker} -->"
    return m.group(1)


def _host(tmp: Path, name: str) -> Path:
    root = build_root(tmp / name)
    (root / "etc/hosts.allow").write_bytes(b"")
    (root / "etc/hosts.deny").write_bytes(b"")
    (root / "etc/ssh").mkdir(parents=True, exist_ok=True)
    (root / "etc/ssh/sshd_config").write_text("Port 22\n")
    return root


def test_check_json_across_a_fleet_is_aggregated_by_the_readme_recipe(tmp_path: Path) -> None:
    web1 = _host(tmp_path, "web1")
    web2 = _host(tmp_path, "web2")
    (web2 / "etc/hosts.deny").write_bytes(b"sshd: ALL\n")
    db1 = _host(tmp_path, "db1")
    break_library(db1)
    (db1 / "etc/hostname").write_text("db1.example.internal\n")
    root_host = {"db1": "db1.example.internal"}

    results = tmp_path / "results"
    results.mkdir()
    codes = {}
    for root in (web1, web2, db1):
        r = run_tool("check", "--root", str(root), "--client-ip", CLIENT, "--json")
        codes[root.name] = r.returncode
        (results / f"{root.name}.json").write_text(r.stdout)
    # An instance where the check could not run leaves no JSON: the recipe must say so.
    (results / "db2.json").write_text("")
    assert codes == {"web1": 0, "web2": 1, "db1": 1}

    for name in ("web1", "web2", "db1"):  # one JSON object per host, per the contract
        doc = json.loads((results / f"{name}.json").read_text())
        assert doc["client_ip"] == CLIENT
        # What tells a fleet's results apart, added to the keys above (which stay as they were).
        assert list(doc) == ["target", "client_ip", "findings", "host", "tool_version", "time"]
        assert doc["host"] == root_host.get(name)
        assert re.fullmatch(r"\S+ \(commit \S+, (checkout|pip|binary)\)", doc["tool_version"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["time"])
        assert all(f["method"] in (1, 2, 3, 4, None) for f in doc["findings"])

    out = subprocess.run(
        [sys.executable, "-c", _readme_block("fleet-aggregate"),
         *sorted(str(p) for p in results.iterdir())],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.splitlines()
    assert out == [
        "db1: libraries",
        "db2: no result (the check did not run)",
        "web1: no problem found",
        "web2: tcp-wrappers",
        "libraries: 1 host(s): db1",
        "tcp-wrappers: 1 host(s): web2",
    ]


def test_readme_playbook_runs_the_documented_command() -> None:
    playbook = _readme_block("fleet-ansible")
    assert "ssh-reset-doctor check --json" in playbook
    assert "failed_when: doctor.rc == 2" in playbook  # 1 means "problem found", not failure
