#!/usr/bin/env bash
# Turn a Debian 12 machine into the district hub: the district CA, Mosquitto (mutual TLS, ACL, CRL), hub.service and
# the district workspace hub-web.service (HTTPS on port 8443 with the certificate made for --tls-name).
# Idempotent: run it again after every update. Usage: sudo provision/install-hub.sh [--tls-name NAME ...]
#   --tls-name NAME   a host name or IP address kiosks use to reach this broker, for the broker's certificate
#                     (repeat for several; default: hostname -f, or the names it already has); see docs/hub.md
set -euo pipefail
tls_names=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --tls-name) tls_names+=(--tls-name "${2:?--tls-name needs a value}"); shift 2 ;;
    -h|--help) sed -n '2,5s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "install-hub: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "install-hub: run as root (sudo)" >&2; exit 1; }
src=$(cd "$(dirname "$0")/.." && pwd)
dest=/opt/hub
credentials=/etc/hub/credentials
ca=/etc/hub/ca
broker=/etc/mosquitto/vax
db=/var/lib/hub/hub.db
units=(hub.service hub-broker-reload.path hub-broker-reload.service hub-web.service)

source "$src/provision/hub-base.sh"
install_hub_software mosquitto
install_broker_folder

# The district CA, and the broker's certificate for the names kiosks use.
install_ca "${tls_names[@]}"
if [[ -f $broker/certs/ca.key ]]; then  # an older install's RSA CA, which signed nothing a kiosk still uses
  rm -f "$broker/certs/ca.key" "$broker/certs/ca.srl"
  echo "install-hub: removed the old RSA CA key from $broker/certs; kiosks need the new ca.crt (re-enroll them)"
fi

# The ACL and CRL from the hub's database (an empty fleet on the first run).
"${hub[@]}" broker-files --db "$db" --ca-dir "$ca" --broker-dir "$broker"

# The hub's own broker password: a systemd credential of hub.service, its hash in the password file.
make_secret hub-mqtt-password 24
"$dest/.venv/bin/hub" --log-level WARNING passwd hub --passwd-file "$broker/passwd" < "$credentials/hub-mqtt-password" >/dev/null

install_broker_config "$dest/provision/mosquitto-hub.conf"

# The workspace's cookie key: a systemd credential of hub-web.service, made once (a new one signs everybody out).
make_secret hub-web-secret 32

for unit in "${units[@]}"; do
  install -m 0644 "$dest/systemd/$unit" "/etc/systemd/system/$unit"
done
systemctl daemon-reload
systemctl enable --now hub-broker-reload.path  # `hub enroll` / `hub revoke` rewrite the ACL: Mosquitto reloads
systemctl enable hub.service hub-web.service
systemctl restart hub.service hub-web.service

cli="sudo -u hub $dest/.venv/bin/hub"
cat <<NEXT
install-hub: done; mosquitto is $(systemctl is-active mosquitto.service), hub is $(systemctl is-active hub.service), hub-web is $(systemctl is-active hub-web.service).
Next steps:
  1. Give each kiosk the district CA: copy $ca/ca.crt to the kiosk (install-kiosk.sh says where).
  2. Enroll each kiosk from the CSR its install-kiosk.sh printed (saved here as KIOSK-ID.csr); the broker reloads by itself:
       $cli enroll KIOSK-ID --site SITE --csr - --db $db < KIOSK-ID.csr > KIOSK-ID.crt
     and copy KIOSK-ID.crt back to the kiosk (the command says where it goes). A lost or stolen kiosk:  $cli revoke KIOSK-ID --reason TEXT --db $db
  3. Watch the merge:   $cli stats --db $db      Logs: journalctl -u hub -u hub-web -u mosquitto -f
  4. The district workspace: add its first administrator (the password on stdin), then open https://THIS-HOST:8443/
     on an office computer that trusts $ca/ca.crt (docs/hub-web.md says how):
       $cli staff add "NAME" --role admin --password-stdin --db $db
Operating the hub (enrolling, revoking, quarantine, conflicts, backup): $dest/docs/hub.md; the workspace: $dest/docs/hub-web.md
NEXT
