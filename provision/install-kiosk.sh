#!/usr/bin/env bash
# Turn a Raspberry Pi OS (Bookworm) machine into a kiosk. Idempotent: run it again after every update.
# Usage: sudo provision/install-kiosk.sh [--display [--display-user USER]]        (from the project folder)
#   --display        also show the citizen screen full-screen on the Pi's own display (Chromium in kiosk mode,
#                    for the desktop image with autologin); see docs/production.md
#   --display-user   the desktop user whose session shows it (default: the autologin user, else $SUDO_USER)
# Without a running systemd (a chroot, an image being built) it installs and enables everything and starts nothing.
set -euo pipefail
display=no
display_user=
while [[ $# -gt 0 ]]; do
  case $1 in
    --display) display=yes ;;
    --display-user) display_user=${2:?--display-user needs a user name}; shift ;;
    -h|--help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "install-kiosk: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $(id -u) -eq 0 ]] || { echo "install-kiosk: run as root (sudo)" >&2; exit 1; }
src=$(cd "$(dirname "$0")/.." && pwd)
dest=/opt/kiosk
credentials=/etc/kiosk/credentials
units=(kiosk.target kiosk-scan.service kiosk-web.service kiosk-publish.service)

"$src/provision/apt-deps.sh" libzbar0 python3-venv rsync
# On Raspberry Pi OS: the camera library and the GPIO library Pi 5 needs, from apt (built for the system's numpy).
# Elsewhere (plain Debian) apt has neither; `kiosk doctor` says what is missing.
# (a candidate version, not merely a name: Debian knows chromium-browser as a purely virtual package)
available() { apt-cache policy "$1" 2>/dev/null | grep -q '^ *Candidate: [0-9]'; }
for pkg in python3-picamera2 python3-lgpio; do
  if available "$pkg"; then "$src/provision/apt-deps.sh" "$pkg"; else echo "install-kiosk: $pkg is not in apt here (not Raspberry Pi OS): skipped" >&2; fi
done
# systemd running as PID 1 (sd_booted): not in a chroot or while an image is being built
booted() { [[ -d /run/systemd/system ]]; }

id kiosk >/dev/null 2>&1 || useradd --system --home /var/lib/kiosk --shell /usr/sbin/nologin kiosk
for group in video gpio; do
  getent group "$group" >/dev/null && usermod -aG "$group" kiosk
done

install -d -o root -g root -m 0755 "$dest" /etc/kiosk
install -d -o root -g root -m 0700 "$credentials"
install -d -o kiosk -g kiosk -m 0750 /var/lib/kiosk
rsync -a --delete --exclude .venv --exclude var --exclude .git "$src/" "$dest/"
[[ -x $dest/.venv/bin/python ]] || python3 -m venv --system-site-packages "$dest/.venv"
# Keep apt's numpy: picamera2 and simplejpeg from apt are built against it, and numpy 2 from pip breaks them.
# provision/pi-constraints.txt holds back what would pull numpy 2 in; a venv that already has a numpy of its own
# (an older install) loses it, so the system's is found again.
pins=$(mktemp)
trap 'rm -f "$pins"' EXIT
apt_numpy=$(dpkg-query -W -f='${Status} ${Version}' python3-numpy 2>/dev/null | sed -n 's/^install ok installed \([0-9]*:\)\{0,1\}\([0-9.]*\).*/\2/p')
if [[ -n $apt_numpy ]]; then
  echo "numpy==$apt_numpy" > "$pins"
  if "$dest/.venv/bin/python" -c 'import numpy, sys; sys.exit(0 if numpy.__file__.startswith(sys.prefix) else 1)' 2>/dev/null; then
    echo "install-kiosk: removing the venv's own numpy, apt's numpy $apt_numpy is the one picamera2 needs" >&2
    "$dest/.venv/bin/python" -m pip uninstall --quiet --yes numpy
  fi
fi
"$dest/.venv/bin/python" -m pip install --quiet -c "$dest/provision/pi-constraints.txt" -c "$pins" "$dest[kiosk]"

if [[ ! -f /etc/kiosk/kiosk.toml ]]; then
  cat > /etc/kiosk/kiosk.toml <<TOML
[kiosk]
id = "$(hostname)"
db = "/var/lib/kiosk/kiosk.db"

[camera]
source = "auto"

[feedback]
# lgpio drives the GPIO header on every Pi from the 3 to the 5 (the only library that does on a Pi 5)
pin_factory = "lgpio"

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
# kiosk.target wants kiosk-scan, kiosk-web and kiosk-publish. `enable` works without a running systemd (it only
# makes links); reloading and starting need one.
systemctl enable kiosk.target
if booted; then
  systemctl daemon-reload
  systemctl restart kiosk.target
else
  echo "install-kiosk: systemd is not running here: kiosk.target is enabled and starts at the next boot" >&2
fi

if [[ $display == yes ]]; then
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null || {
    if available chromium-browser; then browser=chromium-browser; else browser=chromium; fi
    "$src/provision/apt-deps.sh" "$browser"
  }
  "$src/provision/apt-deps.sh" curl
  install -D -m 0644 "$dest/systemd/kiosk-display.service" /etc/systemd/user/kiosk-display.service
  install -D -m 0644 "$dest/systemd/kiosk-display.desktop" /etc/xdg/autostart/kiosk-display.desktop
  # labwc (the Bookworm desktop since late 2024) reads only the user's autostart when there is one: give the
  # desktop user one that starts the display (and nothing of the desktop: no panel, no screen blanking).
  [[ -n $display_user ]] || display_user=$(sed -n 's/^autologin-user=//p' /etc/lightdm/lightdm.conf 2>/dev/null | tail -n 1)
  [[ -n $display_user ]] || display_user=${SUDO_USER:-}
  if [[ -n $display_user ]] && getent passwd "$display_user" >/dev/null; then
    "$src/provision/labwc-autostart.sh" "$(getent passwd "$display_user" | cut -d: -f6)" "$display_user"
  else
    echo "install-kiosk: no desktop user (--display-user USER): no labwc autostart written" >&2
  fi
  echo "install-kiosk: the display starts at the next desktop login (autologin: raspi-config > System > Boot / Auto Login)"
fi

cli="sudo -u kiosk $dest/.venv/bin/kiosk --config /etc/kiosk/kiosk.toml"
kiosk_id=$("${kiosk_cli[@]}" check-config | sed -n 's/^kiosk\.id = "\(.*\)"$/\1/p' || true)
if booted; then
  state="kiosk.target is running ($(systemctl is-active kiosk-scan.service) scanner, $(systemctl is-active kiosk-web.service) screens, $(systemctl is-active kiosk-publish.service) publisher)"
else
  state="kiosk.target is enabled, not started (no running systemd here)"
fi
cat <<NEXT
install-kiosk: done; $state.
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
