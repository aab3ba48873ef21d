#!/usr/bin/env bash
# moat quickstart: set up, build, make the default image locally (no registry, no network) and run
# a hardened container that prints its own view of its isolation.
#
#   As root on a fresh Debian/Ubuntu machine: installs runc, uidmap, busybox-static, tini, and
#   runs moat as the unprivileged user "moat-demo" (created with subordinate ID ranges): moat is
#   a rootless runtime, and root gets no special path through it.
#   As an ordinary user: checks the tools are there, builds, and runs as you.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  need=()
  for p in runc uidmap busybox-static tini seccomp rsync; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}"
  fi
  [ -d node_modules ] || npm ci --no-audit --no-fund
  npm run build --silent
  bash scripts/setup-test-user.sh moat-demo >/dev/null
  home=$(getent passwd moat-demo | cut -d: -f6)
  rsync -a --delete --exclude .git "$repo/" "$home/moat/"
  chown -R moat-demo: "$home/moat"
  exec runuser -u moat-demo -- env -i PATH="$PATH" HOME="$home" USER=moat-demo LANG=C.UTF-8 \
    bash "$home/moat/scripts/quickstart.sh"
fi

missing=()
for b in runc newuidmap newgidmap unshare nsenter; do command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || missing+=("$b"); done
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  echo "moat quickstart: missing: ${missing[*]}" >&2
  echo "hint: as root, apt-get install -y runc uidmap busybox-static tini (or run this script as root)" >&2
  exit 1
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/cli/index.js ] || npm run build --silent
if ! node bin/moat.js images --format json | grep -q '"localhost/moat/busybox:latest"'; then
  node scripts/build-default-image.mjs >/dev/null
fi
echo "+ moat run --rm moat/busybox" >&2
exec node bin/moat.js run --rm moat/busybox
