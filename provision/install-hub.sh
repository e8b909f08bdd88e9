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

"$src/provision/apt-deps.sh" mosquitto python3-venv rsync

id hub >/dev/null 2>&1 || useradd --system --home /var/lib/hub --shell /usr/sbin/nologin hub
install -d -o root -g root -m 0755 "$dest" /etc/hub
install -d -o root -g root -m 0700 "$credentials"
install -d -o hub -g hub -m 0750 /var/lib/hub
rsync -a --delete --exclude .venv --exclude var --exclude .git "$src/" "$dest/"
[[ -x $dest/.venv/bin/python ]] || python3 -m venv --system-site-packages "$dest/.venv"
"$dest/.venv/bin/python" -m pip install --quiet "$dest[hub]"

# The broker's folder: the hub user rewrites the ACL and the CRL in it (`hub enroll`, `hub revoke`); Mosquitto
# reads them through its group (the setgid folder gives every new file the group mosquitto).
install -d -o hub -g mosquitto -m 2750 "$broker"
install -d -o root -g mosquitto -m 0750 "$broker/certs"
[[ -f $broker/passwd ]] || install -o hub -g mosquitto -m 0640 /dev/null "$broker/passwd"
hub=(runuser -u hub -- "$dest/.venv/bin/hub" --log-level WARNING)

# The district CA, made once as the hub user (its key never leaves $ca, which hub.service cannot see), and
# the broker's certificate for the names kiosks use. Mosquitto gets copies of the public parts and its own key.
install -d -o hub -g hub -m 0700 "$ca"
if [[ ${#tls_names[@]} -eq 0 && ! -f $ca/server.crt ]]; then tls_names=(--tls-name "$(hostname -f 2>/dev/null || hostname)"); fi
"${hub[@]}" ca init --dir "$ca" "${tls_names[@]}"
install -o root -g mosquitto -m 0644 "$ca/ca.crt" "$broker/certs/ca.crt"
install -o root -g mosquitto -m 0644 "$ca/server.crt" "$broker/certs/server.crt"
install -o root -g mosquitto -m 0640 "$ca/server.key" "$broker/certs/server.key"
if [[ -f $broker/certs/ca.key ]]; then  # an older install's RSA CA, which signed nothing a kiosk still uses
  rm -f "$broker/certs/ca.key" "$broker/certs/ca.srl"
  echo "install-hub: removed the old RSA CA key from $broker/certs; kiosks need the new ca.crt (re-enroll them)"
fi

# The ACL and CRL from the hub's database (an empty fleet on the first run).
"${hub[@]}" broker-files --db "$db" --ca-dir "$ca" --broker-dir "$broker"

# The hub's own broker password: a systemd credential of hub.service, its hash in the password file.
[[ -s $credentials/hub-mqtt-password ]] || (umask 077; od -An -tx1 -N24 /dev/urandom | tr -d ' \n' > "$credentials/hub-mqtt-password")
chown root:root "$credentials/hub-mqtt-password"
chmod 0600 "$credentials/hub-mqtt-password"
"$dest/.venv/bin/hub" --log-level WARNING passwd hub --passwd-file "$broker/passwd" < "$credentials/hub-mqtt-password" >/dev/null

# Mosquitto's configuration: ours replaces Debian's, which is kept once beside it.
conf=/etc/mosquitto/mosquitto.conf
if ! cmp -s "$dest/provision/mosquitto-hub.conf" "$conf"; then
  [[ ! -f $conf || -f $conf.dpkg-orig ]] || cp -p "$conf" "$conf.dpkg-orig"
  install -m 0644 "$dest/provision/mosquitto-hub.conf" "$conf"
  systemctl enable mosquitto.service
  systemctl restart mosquitto.service  # SIGTERM: Mosquitto saves its sessions and queues before it exits
else
  systemctl enable mosquitto.service
  systemctl reload-or-restart mosquitto.service  # SIGHUP: the password file, ACL, certificates and CRL are read again
fi

# The workspace's cookie key: a systemd credential of hub-web.service, made once (a new one signs everybody out).
[[ -s $credentials/hub-web-secret ]] || (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$credentials/hub-web-secret")
chown root:root "$credentials/hub-web-secret"
chmod 0600 "$credentials/hub-web-secret"

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
