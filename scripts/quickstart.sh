#!/usr/bin/env bash
# moat quickstart: set up, build, make the default image locally (no registry, no network) and run
# a hardened container that prints its own view of its isolation.
#
#   As root on a fresh Debian/Ubuntu machine: installs runc, uidmap, busybox-static, tini and
#   seccomp, gives root a subordinate ID range (container root is never host root: it is the
#   start of that range), builds, and runs.
#   As an ordinary user: checks the tools and your /etc/subuid range are there, builds, and runs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  need=()
  for p in runc uidmap busybox-static tini seccomp; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}"
  fi
  for f in /etc/subuid /etc/subgid; do
    touch "$f"
    if ! grep -qE '^(root|0):' "$f"; then
      start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' "$f")
      echo "root:${start}:65536" >> "$f"
    fi
  done
fi

missing=()
for b in runc newuidmap newgidmap unshare nsenter; do
  command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || [ -x "/usr/bin/$b" ] || missing+=("$b")
done
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  echo "moat quickstart: missing: ${missing[*]}" >&2
  echo "hint: as root, apt-get install -y runc uidmap busybox-static tini seccomp (or run this script as root)" >&2
  exit 1
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent >/dev/null
if ! node bin/moat.js images --format json | grep -q '"localhost/moat/busybox:latest"'; then
  node scripts/build-default-image.mjs >/dev/null
fi
echo "+ moat run --rm moat/busybox" >&2
status=0
node bin/moat.js run --rm moat/busybox || status=$?
if ! command -v moat >/dev/null 2>&1; then
  here=$(pwd)
  if [ "$(id -u)" = 0 ]; then
    echo "moat is not on your PATH yet: 'npm link' (in $here) puts it in $(npm prefix -g)/bin" >&2
  else
    echo "moat is not on your PATH yet: mkdir -p ~/.local/bin && ln -sf $here/bin/moat.js ~/.local/bin/moat" >&2
    echo "  (~/.local/bin must be on PATH; or 'npm link' with a user-writable npm prefix)" >&2
  fi
fi
exit "$status"
