#!/usr/bin/env bash
# Installs Kehu as a system service on a systemd Linux server. Safe to run again (upgrades):
#   sudo scripts/install.sh [path/to/kehu]     (default: target/release/kehu)
# Creates the 'kehu' system user, /var/lib/kehu (data), /var/backups/kehu (nightly backups),
# /etc/kehu/config.toml (from config.example.toml, only if absent), installs the binary and the
# units, and starts the server and the backup timer. On upgrade the server restarts on the new
# binary, which backs up the database before migrating it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
binary="${1:-$root/target/release/kehu}"

[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
[ -x "$binary" ] || { echo "install.sh: no binary at $binary (build with: cargo build --release)" >&2; exit 1; }
command -v systemctl >/dev/null || { echo "install.sh: systemd is required" >&2; exit 1; }

if ! id kehu >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/kehu --shell /usr/sbin/nologin kehu
  echo "created system user kehu"
fi
install -d -o kehu -g kehu -m 0750 /var/lib/kehu /var/lib/kehu/data /var/backups/kehu
install -d -m 0755 /etc/kehu
if [ ! -f /etc/kehu/config.toml ]; then
  install -m 0640 -g kehu "$root/config.example.toml" /etc/kehu/config.toml
  echo "wrote /etc/kehu/config.toml (edit it, then: systemctl restart kehu)"
fi
install -m 0755 "$binary" /usr/local/bin/kehu.new
mv -f /usr/local/bin/kehu.new /usr/local/bin/kehu
for unit in kehu.service kehu-backup.service kehu-backup.timer; do
  install -m 0644 "$here/$unit" "/etc/systemd/system/$unit"
done
systemctl daemon-reload
systemctl enable kehu.service kehu-backup.timer >/dev/null
systemctl restart kehu.service
systemctl start kehu-backup.timer
echo "Kehu is running: open http://$(hostname -f 2>/dev/null || hostname):8080 (status: systemctl status kehu)"
