"""The sshd_config planner: minimal edits sshd obeys, checked by the real sshd -t (9.2)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tui.core.changes.plan import CommandCheck, FileEdit, Plan
from tui.core.diagnosis import sshdconfig
from tui.core.facts.model import SSHD_CONFIG, CommandOutput, Facts, FileBlob

SSHD = "/usr/sbin/sshd"
D = "/etc/ssh/sshd_config.d"


def facts(main: bytes | None, **included: bytes) -> Facts:
    f = Facts("test", "root", False)
    if main is not None:
        f.files[SSHD_CONFIG] = FileBlob(main)
    for name, data in included.items():
        f.files[f"{D}/{name}"] = FileBlob(data)
    return f


def plan(f: Facts, value: str = "30:30:200", keyword: str = "MaxStartups") -> Plan:
    """MaxStartups: sshd keeps its last value. LoginGraceTime: its first."""
    p = sshdconfig.plan_set(f, keyword, value, remedy="raise-maxstartups", title="raise it")
    assert p is not None
    return p


def edit(p: Plan) -> FileEdit:
    (op,) = p.ops
    assert isinstance(op, FileEdit)
    return op


def apply(f: Facts, p: Plan) -> Facts:
    """The facts as they would be collected after writing the plan."""
    out = Facts("test", "root", False, files=dict(f.files))
    e = edit(p)
    out.files[e.path] = FileBlob(e.after)
    return out


def run_check(check: CommandCheck) -> subprocess.CompletedProcess:
    return subprocess.run(check.argv, input=check.stdin, capture_output=True, timeout=20)


# --- where the line goes -----------------------------------------------------------------


def test_commented_default_gets_the_new_line_right_after_it() -> None:
    main = b"# head\nInclude /etc/ssh/sshd_config.d/*.conf\n#PidFile x\n#MaxStartups 10:30:100\n" \
           b"#PermitTunnel no\n"
    p = plan(facts(main))
    assert edit(p).after == main.replace(b"10:30:100\n", b"10:30:100\nMaxStartups 30:30:200\n")
    assert p.remedy == "raise-maxstartups" and p.checks[0].stdin == edit(p).after
    assert p.checks[0].argv == ("/usr/sbin/sshd", "-t", "-f", "/dev/stdin")
    # a disk: nothing to reload (a reload on the rescue machine would reload its own sshd)
    assert any("when the instance boots from this disk" in n for n in p.notes)
    assert not any("systemctl" in n for n in p.notes)
    f = facts(main)
    f.kind, f.live = "local", True  # a running system: reload it
    live = sshdconfig.plan_set(f, "MaxStartups", "30:30:200", remedy="raise-maxstartups",
                               title="raise")
    assert live is not None
    assert any("systemctl reload ssh " in n and "systemctl reload sshd " in n
               and "existing sessions survive" in n for n in live.notes)


def test_first_wins_keyword_goes_after_the_header_and_before_include() -> None:
    main = b"# header\n# more\n\nInclude /etc/ssh/sshd_config.d/*.conf\nPort 22\n"
    after = edit(plan(facts(main), "30", "LoginGraceTime")).after
    assert after == b"# header\n# more\nLoginGraceTime 30\n\nInclude " \
                    b"/etc/ssh/sshd_config.d/*.conf\nPort 22\n"


def test_first_wins_keyword_with_include_first_inserts_above_it() -> None:
    main = b"Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n"
    assert edit(plan(facts(main), "30", "LoginGraceTime")).after == b"LoginGraceTime 30\n" + main


def test_last_wins_keyword_goes_to_the_end_of_the_global_part() -> None:
    main = b"Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n# per user\nMatch User bob\n" \
           b"  X11Forwarding no\n"
    after = edit(plan(facts(main))).after
    assert after == main.replace(b"# per user", b"MaxStartups 30:30:200\n# per user")
    assert edit(plan(facts(b"Port 22\n"))).after == b"Port 22\nMaxStartups 30:30:200\n"


def test_commented_default_after_match_is_not_used() -> None:
    main = b"Port 22\nMatch User bob\n#MaxStartups 10:30:100\n  X11Forwarding no\n"
    after = edit(plan(facts(main))).after
    # a Match block would not accept it
    assert after == main.replace(b"Match", b"MaxStartups 30:30:200\nMatch")


def test_existing_value_is_replaced_keeping_style() -> None:
    main = b"Port 22\n\tlogingracetime = 5m   # slow links\nLoginGraceTime 99\n"
    after = edit(plan(facts(main), "30", "LoginGraceTime")).after
    assert after == b"Port 22\n\tlogingracetime = 30   # slow links\nLoginGraceTime 99\n"
    main = b"MaxStartups 5 # old\n  maxstartups=7\n"  # sshd obeys the last one
    assert edit(plan(facts(main))).after == b"MaxStartups 5 # old\n  maxstartups=30:30:200\n"


def test_crlf_and_odd_bytes_are_kept_and_final_newline_added() -> None:
    main = b"# caf\xe9\r\nPort 22\r\n#MaxStartups 10:30:100\r\nBanner /etc/issue\xff"
    after = edit(plan(facts(main))).after
    assert after == (b"# caf\xe9\r\nPort 22\r\n#MaxStartups 10:30:100\r\n"
                     b"MaxStartups 30:30:200\r\nBanner /etc/issue\xff\r\n")


def test_value_in_an_included_file_is_edited_there() -> None:
    main = b"# head\nInclude /etc/ssh/sshd_config.d/*.conf\nSubsystem sftp /bin/true\n"
    inc = b"# ours\nMaxStartups 5\nSubsystem sftp /usr/lib/openssh/sftp-server\nMatch User x\n" \
          b"  PasswordAuthentication yes\n"
    f = facts(main, **{"10-a.conf": b"Port 22\n", "50-tune.conf": inc})
    p = plan(f)
    e = edit(p)
    assert e.path == f"{D}/50-tune.conf" and e.before == inc
    assert e.after == inc.replace(b"MaxStartups 5\n", b"MaxStartups 30:30:200\n")
    # The check's main file carries only the new line, after the Include that reads the file
    # (sshd keeps the last MaxStartups); nothing sshd refuses twice (Subsystem) is duplicated.
    assert p.checks[0].stdin == main.replace(b"*.conf\n", b"*.conf\nMaxStartups 30:30:200\n")
    assert f"{D}/50-tune.conf" in p.checks[0].what


def test_match_in_included_file_ends_with_that_file() -> None:
    main = b"Include /etc/ssh/sshd_config.d/*.conf\nMaxStartups 7\n"
    f = facts(main, **{"a.conf": b"Match User x\n  MaxStartups 3\n"})
    assert sshdconfig.effective(f)["maxstartups"] == ["7"]
    assert edit(plan(f)).after == main.replace(b"7", b"30:30:200")


def test_which_occurrence_sshd_obeys_across_includes() -> None:
    main = b"Include /etc/ssh/sshd_config.d/*.conf\nMaxStartups 7\nLoginGraceTime 9\n"
    f = facts(main, **{"b.conf": b"MaxStartups 4\nLoginGraceTime 4\n",
                       "a.conf": b"MaxStartups 3\nLoginGraceTime 3\n"})
    assert sshdconfig.effective(f)["maxstartups"] == ["3", "4", "7"]
    assert sshdconfig.get(f, "maxstartups") == "7" and sshdconfig.get(f, "logingracetime") == "3"
    assert edit(plan(f)).path == SSHD_CONFIG
    assert edit(plan(f, "30", "LoginGraceTime")).path == f"{D}/a.conf"


def test_idempotent_second_plan_is_none() -> None:
    f = facts(b"Include /etc/ssh/sshd_config.d/*.conf\n#MaxStartups 10:30:100\n")
    again = apply(f, plan(f))
    assert sshdconfig.effective(again)["maxstartups"] == ["30:30:200"]
    assert sshdconfig.plan_set(again, "MaxStartups", "30:30:200", remedy="r", title="t") is None


def test_unreadable_main_gives_no_plan() -> None:
    f = facts(None)
    f.files[SSHD_CONFIG] = FileBlob(None, 13)
    assert sshdconfig.plan_set(f, "MaxStartups", "30", remedy="r", title="t") is None


def test_effective_prefers_sshd_T() -> None:
    f = facts(b"MaxStartups 5\n")
    f.commands["sshd -T"] = CommandOutput(0, "port 22\nmaxstartups 10:30:100\nport 2222\n", "")
    assert sshdconfig.effective(f) == {"port": ["22", "2222"], "maxstartups": ["10:30:100"]}
    f.commands["sshd -T"] = CommandOutput(255, "", "bad config")
    assert sshdconfig.effective(f) == {"maxstartups": ["5"]}


# --- the check, through the real sshd 9.2 ------------------------------------------------


@pytest.fixture
def lab_main(tmp_path: Path) -> bytes:
    if not Path(SSHD).exists():
        raise RuntimeError(f"{SSHD} is missing: install openssh-server (tests/run.sh does)")
    key = tmp_path / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return (f"# lab\r\nHostKey {key}\r\nUsePAM no\r\n#MaxStartups 10:30:100\r\n"
            "Include /etc/ssh/sshd_config.d/*.conf\r\nPort 2222").encode()


def test_real_sshd_keeps_the_values_the_planner_assumes(lab_main: bytes) -> None:
    conf = lab_main + b"\nMaxStartups 3\nMaxStartups 4\nLoginGraceTime 5\nLoginGraceTime 6\n" \
        b"PerSourceMaxStartups 5\nPerSourceMaxStartups 6\n"
    r = subprocess.run([SSHD, "-T", "-f", "/dev/stdin"], input=conf, capture_output=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode().splitlines()
    assert "maxstartups 4:30:4" in out and "logingracetime 5" in out  # last / first wins
    assert "persourcemaxstartups 6" in out  # last wins before 9.8 (first from 9.8 on)
    f = facts(conf)
    f.sshd_version = "OpenSSH_9.2"
    assert sshdconfig.get(f, "maxstartups") == "4" and sshdconfig.get(f, "logingracetime") == "5"
    assert sshdconfig.get(f, "persourcemaxstartups") == "6"


def test_check_accepts_the_candidate_and_rejects_a_bad_value(lab_main: bytes) -> None:
    p = plan(facts(lab_main))
    r = run_check(p.checks[0])
    assert r.returncode == 0, r.stderr
    bad = plan(facts(lab_main), value="30:30")
    r = run_check(bad.checks[0])
    assert r.returncode != 0 and b"Invalid MaxStartups spec" in r.stderr


def test_check_of_an_included_file_edit_sees_the_new_value(lab_main: bytes,
                                                          tmp_path: Path) -> None:
    # Include from a real directory (sshd -t reads included files from disk).
    inc_dir = tmp_path / "inc"
    inc_dir.mkdir()
    (inc_dir / "tune.conf").write_bytes(b"MaxStartups 5\n")
    main = lab_main.replace(b"/etc/ssh/sshd_config.d/*.conf", f"{inc_dir}/*.conf".encode())
    f = facts(main)
    f.files[f"{inc_dir}/tune.conf"] = FileBlob(b"MaxStartups 5\n")
    p = plan(f)
    assert edit(p).path == f"{inc_dir}/tune.conf"
    check = p.checks[0]
    r = subprocess.run([*check.argv[:2], "-T", *check.argv[2:]], input=check.stdin,
                       capture_output=True, timeout=20)  # -T: what sshd makes of it
    assert r.returncode == 0, r.stderr
    assert b"maxstartups 30:30:200\n" in r.stdout
    assert run_check(check).returncode == 0
    bad = plan(f, value="x:y:z")
    assert run_check(bad.checks[0]).returncode != 0
    # a keyword whose first value wins: the inlined line goes before the Include
    (inc_dir / "tune.conf").write_bytes(b"LoginGraceTime 50\n")
    f.files[f"{inc_dir}/tune.conf"] = FileBlob(b"LoginGraceTime 50\n")
    check = plan(f, "30", "LoginGraceTime").checks[0]
    r = subprocess.run([*check.argv[:2], "-T", *check.argv[2:]], input=check.stdin,
                       capture_output=True, timeout=20)
    assert r.returncode == 0 and b"logingracetime 30\n" in r.stdout, r.stderr


def test_a_lone_cr_does_not_end_a_line() -> None:
    main = b"Banner /etc/is\rsue\nMaxStartups 5\n"  # sshd reads two lines, not three
    after = edit(plan(facts(main))).after
    assert after == b"Banner /etc/is\rsue\nMaxStartups 30:30:200\n"


# --- Include loops and depth (issue 11) -----------------------------------------------------


def _real_config(tmp_path: Path, main: bytes, files: dict[str, bytes]) -> Facts:
    """Write the files for the real sshd and build the same Facts from them."""
    f = facts(main)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        f.files[str(tmp_path / name)] = FileBlob(data)
    return f


def test_drop_ins_that_include_each_other_are_read_once(lab_main: bytes, tmp_path: Path) -> None:
    """Six drop-ins, each including all of them: sshd refuses it at once; we read each once
    (it took 60 s and 750 MB: every chain of includes up to the depth limit was walked)."""
    glob = f"{tmp_path}/*.conf".encode()
    main = lab_main.replace(b"/etc/ssh/sshd_config.d/*.conf", glob)
    f = _real_config(tmp_path, main, {f"0{i}.conf": b"Include " + glob + b"\nPort 22%d\n" % i
                                      for i in range(1, 7)})
    r = subprocess.run([SSHD, "-t", "-f", "/dev/stdin"], input=main, capture_output=True,
                       timeout=20)
    assert r.returncode != 0 and b"Too many recursive configuration includes" in r.stderr
    ports = [d for d in sshdconfig.directives(f) if d.key == "port"]
    assert sorted(d.args[0] for d in ports) == sorted(["2222"] + [f"22{i}" for i in range(1, 7)])


def test_include_depth_is_sshds(lab_main: bytes, tmp_path: Path) -> None:
    """A chain of includes: sshd reads 16 levels and refuses a 17th; so do we."""
    for depth, accepted in ((16, True), (17, False)):
        files = {f"c{n}.conf": f"Include {tmp_path}/c{n + 1}.conf\n".encode()
                 for n in range(1, depth)}
        files[f"c{depth}.conf"] = b"Port 2299\n"
        main = lab_main.replace(b"/etc/ssh/sshd_config.d/*.conf", f"{tmp_path}/c1.conf".encode())
        f = _real_config(tmp_path, main, files)
        r = subprocess.run([SSHD, "-T", "-f", "/dev/stdin"], input=main, capture_output=True,
                           timeout=20)
        assert (r.returncode == 0) == accepted, r.stderr
        assert ("port 2299" in r.stdout.decode().splitlines()) == accepted
        assert ("2299" in sshdconfig.effective(f).get("port", [])) == accepted


def test_includes_that_multiply_are_bounded() -> None:
    """No loop, but each level includes the next 40 times: 2.5 million lines for sshd to
    read; we stop at a bound and keep the first values, which are the ones sshd uses."""
    f = facts(b"Include /etc/ssh/sshd_config.d/a.conf\nPort 2222\n",
              **{"a.conf": b"LoginGraceTime 9\n" + b"Include /etc/ssh/sshd_config.d/b.conf\n" * 40,
                 "b.conf": b"Include /etc/ssh/sshd_config.d/c.conf\n" * 40,
                 "c.conf": b"Include /etc/ssh/sshd_config.d/d.conf\n" * 40,
                 "d.conf": b"MaxAuthTries 3\n" * 40})
    found = sshdconfig.directives(f)
    assert len(found) <= 50_000
    assert sshdconfig.get(f, "logingracetime") == "9" and sshdconfig.get(f, "maxauthtries") == "3"
