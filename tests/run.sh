#!/usr/bin/env bash
# The one test command (README, .ci/run): on a fresh Debian/Ubuntu machine, as root, install
# what the tests need, install the package with its test extra into .venv, lint, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# tcpd: the real tcpdmatch, the oracle of the rule engine's parity tests.
# openssh-server/-client: the real sshd on 127.0.0.1 the integration tests break and repair.
# sudo: the --sudo paths of remote mode. util-linux (unshare, nsenter, mount): namespaces.
# gcc/libc6-dev: the library resolver's tests build tiny ELF objects with RUNPATH/$ORIGIN.
# binutils/file: readelf and file judge the demo system's synthesized ELF files.
# tmux: the wizard's console script is driven in a real terminal.
# iptables/nftables/iproute2: host firewall rules loaded in private network namespaces.
# fail2ban: a real fail2ban-server bans the test client (managed deny lists).
# curl: fetches the single file the way the README's install line does (from a local server).
# rpm/db5.3-util: rpmbuild, rpm and db_load make the real RPM databases of the RHEL-family
# disks (tests/helpers/rpmfixture.py).
# busybox: a target whose sh and core tools are busybox's (the facts transport runs there).
# strace: kills a change with SIGKILL at every system call (crash-consistency tests), and
# shows which libraries the commands the built binary runs load.
# console-setup-linux: Lat15-Fixed16.psf.gz, the console font the VNC console renders use.
# time: GNU time, the exec'd program's own peak RSS in tests/bench/bench_match.py.
apt_packages=(tcpd openssh-server openssh-client sudo util-linux gcc libc6-dev binutils file
              rpm db5.3-util tmux iptables nftables iproute2 fail2ban strace curl busybox
              console-setup-linux time)
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_packages+=(python3 python3-venv)

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No service starts on install: the tests run their own sshd and fail2ban-server, and a
  # system fail2ban would watch (and ban on) this machine while they run.
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$own_policy" ] || rm -f "$policy"
fi

# OpenSSH >= 9.8 (per-source penalties, sshd-session) from bookworm-backports, unpacked
# beside the system's 9.2 for the tests that need it; nothing is installed.
sh tests/helpers/fetch_openssh_backports.sh /var/cache/ssh-reset-doctor-tests/openssh-bpo

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check '.[test]'
.venv/bin/ruff check tui tests
# The Python floor (requires-python) checked statically: no older interpreter is needed.
.venv/bin/vermin -q --no-tips --violations --eval-annotations --target=3.9- tui
# Types ([tool.mypy] in pyproject.toml: Python 3.9, every module of tui/).
.venv/bin/mypy tui
# The single-file binary, built fresh from this tree into dist/ (tests/test_binary.py runs
# that file in an empty chroot; it fails, never skips, without it).
.ci/build-binary
# The unit tier first (no root, namespaces or network needed; under a minute, in two
# processes: pytest-xdist), then the integration tier (if the unit tier passed; one process:
# its tests share ports, tmux and namespaces); extra arguments go to both. pytest exits 5 when
# it selects no test: fine for one tier (e.g. a test file of the other tier), not for both.
unit=0
.venv/bin/python -m pytest -m "not integration" -n 2 "$@" || unit=$?
[ "$unit" -eq 0 ] || [ "$unit" -eq 5 ] || exit "$unit"
integration=0
.venv/bin/python -m pytest -m integration "$@" || integration=$?
[ "$integration" -ne 5 ] || integration=$unit
exit "$integration"
