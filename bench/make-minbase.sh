#!/bin/sh
# A Debian minbase root for bench/scan.mjs --minbase-tar, as a tar readable by the bench's user.
# Run as root (debootstrap creates device nodes and root-owned files); fetches from the mirror apt
# uses.   bench/make-minbase.sh OUT.tar [SUITE] [MIRROR]
set -eu
out=${1:?usage: bench/make-minbase.sh OUT.tar [SUITE] [MIRROR]}
suite=${2:-bookworm}
mirror=${3:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || { echo "debootstrap is needed: apt-get install -y debootstrap" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
debootstrap --variant=minbase "$suite" "$dir/root" "$mirror" >&2
tar -C "$dir/root" --numeric-owner -cf "$out.part" .
mv "$out.part" "$out"
chmod 0644 "$out"
echo "$out: $(du -h "$out" | cut -f1) minbase $suite" >&2
