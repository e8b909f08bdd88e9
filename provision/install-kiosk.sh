#!/usr/bin/env bash
# Turn a Raspberry Pi OS (Bookworm) machine into a kiosk. Idempotent: run it again after every update.
# Usage: sudo provision/install-kiosk.sh        (from the project folder)
set -euo pipefail
[[ $(id -u) -eq 0 ]] || { echo "install-kiosk: run as root (sudo)" >&2; exit 1; }
src=$(cd "$(dirname "$0")/.." && pwd)
dest=/opt/kiosk

"$src/provision/apt-deps.sh" libzbar0 python3-venv rsync

id kiosk >/dev/null 2>&1 || useradd --system --home /var/lib/kiosk --shell /usr/sbin/nologin kiosk
for group in video gpio; do
  getent group "$group" >/dev/null && usermod -aG "$group" kiosk
done

install -d -o root -g root -m 0755 "$dest" /etc/kiosk
install -d -o kiosk -g kiosk -m 0750 /var/lib/kiosk
rsync -a --delete --exclude .venv --exclude var --exclude .git "$src/" "$dest/"
[[ -x $dest/.venv/bin/python ]] || python3 -m venv --system-site-packages "$dest/.venv"
"$dest/.venv/bin/python" -m pip install --quiet "$dest"

if [[ ! -f /etc/kiosk/kiosk.toml ]]; then
  cat > /etc/kiosk/kiosk.toml <<TOML
[kiosk]
id = "$(hostname)"
db = "/var/lib/kiosk/kiosk.db"

[camera]
source = "auto"
TOML
fi
[[ -f /etc/kiosk/secret-key ]] || (umask 077; head -c 32 /dev/urandom | base64 > /etc/kiosk/secret-key)

install -m 0644 "$dest/systemd/kiosk.service" /etc/systemd/system/kiosk.service
systemctl daemon-reload
systemctl enable --now kiosk.service
systemctl restart kiosk.service
echo "install-kiosk: done. Check it with: $dest/.venv/bin/kiosk --config /etc/kiosk/kiosk.toml doctor"
