#!/bin/sh
# Fetch OpenSSH >= 9.8 (bookworm-backports openssh-server, 10.0 today) and unpack it into DEST
# for the PerSourcePenalties tests. Nothing is installed and /etc/apt is not touched: apt reads
# a private sources list and keeps its lists and cache in a private directory under DEST.
# Idempotent: a second run with the same DEST does nothing once the binaries are there.
#
#   sh tests/helpers/fetch_openssh_backports.sh /var/cache/ssh-reset-doctor-tests/openssh-bpo
set -eu

dest=${1:?usage: fetch_openssh_backports.sh DEST}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
stamp="$dest/.fetched"

if [ -f "$stamp" ] && [ -x "$dest/usr/sbin/sshd" ] && [ -x "$dest/usr/lib/openssh/sshd-session" ]
then
    exit 0
fi
[ -r "$keyring" ] || { echo "missing $keyring: apt-get install debian-archive-keyring" >&2; exit 1; }
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || { echo "apt-get and dpkg-deb are needed (Debian/Ubuntu)" >&2; exit 1; }

apt_dir="$dest.apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$dest"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian bookworm-backports main" \
    > "$apt_dir/bpo.list"

# Only the private list: Dir::Etc::SourceParts=/dev/null hides /etc/apt/sources.list.d.
set -- -q -o "Dir::Etc::SourceList=$apt_dir/bpo.list" -o Dir::Etc::SourceParts=/dev/null \
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" \
    -o APT::Sandbox::User=root
apt-get "$@" update >/dev/null
# `apt-get download` writes into the current directory.
rm -f "$apt_dir"/debs/*.deb
(cd "$apt_dir/debs" && apt-get "$@" download openssh-server/bookworm-backports >/dev/null)
deb=$(ls "$apt_dir"/debs/openssh-server_*.deb)
dpkg-deb -x "$deb" "$dest"
basename "$deb" > "$stamp"
echo "unpacked $(basename "$deb") into $dest"
