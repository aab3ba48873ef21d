#!/usr/bin/env bash
# As root: create (or refresh) an unprivileged user for moat's container tests, with subordinate
# ID ranges and delegated cgroup v1 subtrees for memory, pids, cpu and freezer (pause), what
# systemd's Delegate= does on cgroup v2 hosts. Usage: scripts/setup-test-user.sh [USER]
set -euo pipefail
user="${1:-moat-ci}"
[ "$(id -u)" = 0 ] || { echo "setup-test-user: run as root" >&2; exit 1; }
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
uid=$(id -u "$user")
# A supplementary group, so the tests can check what becomes of the caller's groups in a container.
getent group moat-extra >/dev/null || groupadd moat-extra
usermod -aG moat-extra "$user"
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  # root gets a range too: moat run by root maps container root there, never to host root.
  for who in root "$user"; do
    id_of=$(id -u "$who")
    if ! grep -qE "^(${who}|${id_of}):" "$f"; then
      # Pick a range above every existing one.
      start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' "$f")
      echo "${who}:${start}:65536" >> "$f"
    fi
  done
done
# cgroup delegation: v1 controllers get a subtree owned by the user; v2 (if that is all there is)
# gets a child of the root with the controllers enabled.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  d=/sys/fs/cgroup/moat-$user
  mkdir -p "$d"
  echo "+memory +pids +cpu" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
  chown -R "$user" "$d"
else
  for c in memory pids cpu freezer; do
    if [ -d "/sys/fs/cgroup/$c" ]; then
      mkdir -p "/sys/fs/cgroup/$c/$user"
      chown -R "$user:" "/sys/fs/cgroup/$c/$user"
    fi
  done
fi
echo "test user: $user (uid $uid); subuid: $(grep -E "^(${user}|${uid}):" /etc/subuid | head -1)"
