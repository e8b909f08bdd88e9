#!/usr/bin/env bash
# Turn a Raspberry Pi OS (Bookworm) machine into a kiosk. Idempotent: run it again after every update.
# Usage: sudo provision/install-kiosk.sh [--display]        (from the project folder)
#   --display   also show the citizen screen full-screen on the Pi's own display (Chromium in kiosk mode,
#               for the desktop image with autologin); see docs/production.md
set -euo pipefail
display=no
for arg in "$@"; do
  case $arg in
    --display) display=yes ;;
    -h|--help) sed -n '2,5s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "install-kiosk: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "install-kiosk: run as root (sudo)" >&2; exit 1; }
src=$(cd "$(dirname "$0")/.." && pwd)
dest=/opt/kiosk
credentials=/etc/kiosk/credentials
units=(kiosk.target kiosk-scan.service kiosk-web.service kiosk-publish.service)

"$src/provision/apt-deps.sh" libzbar0 python3-venv rsync

id kiosk >/dev/null 2>&1 || useradd --system --home /var/lib/kiosk --shell /usr/sbin/nologin kiosk
for group in video gpio; do
  getent group "$group" >/dev/null && usermod -aG "$group" kiosk
done

install -d -o root -g root -m 0755 "$dest" /etc/kiosk
install -d -o root -g root -m 0700 "$credentials"
install -d -o kiosk -g kiosk -m 0750 /var/lib/kiosk
rsync -a --delete --exclude .venv --exclude var --exclude .git "$src/" "$dest/"
[[ -x $dest/.venv/bin/python ]] || python3 -m venv --system-site-packages "$dest/.venv"
"$dest/.venv/bin/python" -m pip install --quiet "$dest[kiosk]"

if [[ ! -f /etc/kiosk/kiosk.toml ]]; then
  cat > /etc/kiosk/kiosk.toml <<TOML
[kiosk]
id = "$(hostname)"
db = "/var/lib/kiosk/kiosk.db"

[camera]
source = "auto"

[hub]
# From \`hub enroll $(hostname) --site SITE --csr ...\` at the hub (the CSR is printed below):
# broker = "mqtts://hub.example.vn:8883"
# ca_file = "/etc/kiosk/district-ca.crt"
# cert_file = "/etc/kiosk/kiosk.crt"
# The kiosk's key stays in /etc/kiosk/credentials/kiosk-key (the credential kiosk-key), never here.
TOML
fi

# Secrets: systemd hands them to kiosk-web and kiosk-publish (LoadCredential=); never in kiosk.toml or the environment.
# The session key from before the split lived in /etc/kiosk/secret-key: keep it, so sessions survive.
if [[ -f /etc/kiosk/secret-key && ! -f $credentials/kiosk-secret-key ]]; then
  mv /etc/kiosk/secret-key "$credentials/kiosk-secret-key"
fi
for name in kiosk-secret-key kiosk-api-token; do
  [[ -s $credentials/$name ]] || (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$credentials/$name")
  chown root:root "$credentials/$name"
  chmod 0600 "$credentials/$name"
done
# The kiosk's identity: its P-256 key, made here once and never copied anywhere (kiosk-publish gets it as the
# credential kiosk-key), and the CSR for `hub enroll`, printed at the end of every run. The district broker
# lets the kiosk in with the certificate the hub sends back (hub.cert_file); no password any more. An MQTT
# password is only for a broker without mutual TLS: the file stays empty on a district kiosk.
kiosk_cli=("$dest/.venv/bin/kiosk" --log-level WARNING --config /etc/kiosk/kiosk.toml)
[[ -s $credentials/kiosk-key ]] || "${kiosk_cli[@]}" identity new --key "$credentials/kiosk-key" --csr /etc/kiosk/kiosk.csr
chown root:root "$credentials/kiosk-key"
chmod 0600 "$credentials/kiosk-key"
"${kiosk_cli[@]}" identity csr --key "$credentials/kiosk-key" --csr /etc/kiosk/kiosk.csr
[[ -f $credentials/kiosk-hub-password ]] || install -o root -g root -m 0600 /dev/null "$credentials/kiosk-hub-password"

# One process per unit since the split: the old all-in-one kiosk.service goes.
if [[ -f /etc/systemd/system/kiosk.service ]]; then
  systemctl disable --now kiosk.service 2>/dev/null || true
  rm -f /etc/systemd/system/kiosk.service
fi
for unit in "${units[@]}"; do
  install -m 0644 "$dest/systemd/$unit" "/etc/systemd/system/$unit"
done
systemctl daemon-reload
# kiosk.target wants kiosk-scan, kiosk-web and kiosk-publish.
systemctl enable kiosk.target
systemctl restart kiosk.target

if [[ $display == yes ]]; then
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null || {
    if apt-cache show chromium-browser >/dev/null 2>&1; then browser=chromium-browser; else browser=chromium; fi
    "$src/provision/apt-deps.sh" "$browser"
  }
  "$src/provision/apt-deps.sh" curl
  install -D -m 0644 "$dest/systemd/kiosk-display.service" /etc/systemd/user/kiosk-display.service
  install -D -m 0644 "$dest/systemd/kiosk-display.desktop" /etc/xdg/autostart/kiosk-display.desktop
  echo "install-kiosk: the display starts at the next desktop login (autologin: raspi-config > System > Boot / Auto Login)"
fi

cli="sudo -u kiosk $dest/.venv/bin/kiosk --config /etc/kiosk/kiosk.toml"
kiosk_id=$("${kiosk_cli[@]}" check-config | sed -n 's/^kiosk\.id = "\(.*\)"$/\1/p' || true)
cat <<NEXT
install-kiosk: done; kiosk.target is running ($(systemctl is-active kiosk-scan.service) scanner, $(systemctl is-active kiosk-web.service) screens, $(systemctl is-active kiosk-publish.service) publisher).
Next steps:
  1. Create the first supervisor (asks for a PIN):  $cli staff add NAME --role supervisor
  2. Check the kiosk (stop kiosk-scan first to free the camera):
       systemctl stop kiosk-scan; $cli doctor; systemctl start kiosk-scan
  3. Connect it to the district hub. Copy this certificate signing request (also in /etc/kiosk/kiosk.csr) to the hub
     as $kiosk_id.csr and enroll it there (install-hub.sh shows the command); it holds no secret:

$(sed 's/^/       /' /etc/kiosk/kiosk.csr)

     Put the certificate the hub gives back in /etc/kiosk/kiosk.crt and the district CA (/etc/hub/ca/ca.crt at the hub)
     in /etc/kiosk/district-ca.crt, set hub.broker, hub.ca_file and hub.cert_file in /etc/kiosk/kiosk.toml (the hub
     prints the lines), then: systemctl restart kiosk-publish; $dest/.venv/bin/kiosk identity show --key $credentials/kiosk-key
  4. Follow the logs:                               journalctl -u 'kiosk-*' -f
Operating it (start, stop, logs, watchdog, credentials, identity, upgrading): $dest/docs/production.md
NEXT
