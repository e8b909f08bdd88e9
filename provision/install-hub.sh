#!/usr/bin/env bash
# Turn a Debian 12 machine into the district hub: Mosquitto (TLS, passwords, ACL) and hub.service. Idempotent:
# run it again after every update. Usage: sudo provision/install-hub.sh [--tls-name NAME]   (from the project folder)
#   --tls-name NAME   the host name (or IP address) kiosks use to reach this broker, written into the server
#                     certificate made on the first run (default: hostname -f); see docs/hub.md
set -euo pipefail
tls_name=$(hostname -f 2>/dev/null || hostname)
while [[ $# -gt 0 ]]; do
  case $1 in
    --tls-name) tls_name=${2:?--tls-name needs a value}; shift 2 ;;
    -h|--help) sed -n '2,5s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "install-hub: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "install-hub: run as root (sudo)" >&2; exit 1; }
src=$(cd "$(dirname "$0")/.." && pwd)
dest=/opt/hub
credentials=/etc/hub/credentials
broker=/etc/mosquitto/vax
units=(hub.service)

"$src/provision/apt-deps.sh" mosquitto python3-venv rsync openssl

id hub >/dev/null 2>&1 || useradd --system --home /var/lib/hub --shell /usr/sbin/nologin hub
install -d -o root -g root -m 0755 "$dest" /etc/hub
install -d -o root -g root -m 0700 "$credentials"
install -d -o hub -g hub -m 0750 /var/lib/hub
rsync -a --delete --exclude .venv --exclude var --exclude .git "$src/" "$dest/"
[[ -x $dest/.venv/bin/python ]] || python3 -m venv --system-site-packages "$dest/.venv"
"$dest/.venv/bin/python" -m pip install --quiet "$dest"

# The broker's password file and ACL. The hub user rewrites the password file (`hub enroll --passwd-file`);
# Mosquitto reads it through its group (the setgid folder gives every new file the group mosquitto).
install -d -o hub -g mosquitto -m 2750 "$broker"
install -d -o root -g mosquitto -m 0750 "$broker/certs"
[[ -f $broker/passwd ]] || install -o hub -g mosquitto -m 0640 /dev/null "$broker/passwd"
install -o root -g mosquitto -m 0640 "$dest/provision/mosquitto-hub.acl" "$broker/acl"

# TLS for the kiosks' listener: a district CA and a server certificate, made once. To use your own, put
# ca.crt, server.crt and server.key in $broker/certs before running this (or after, then reload mosquitto).
if [[ ! -f $broker/certs/server.crt ]]; then
  if [[ $tls_name =~ ^[0-9.]+$ || $tls_name == *:* ]]; then san="IP:$tls_name"; else san="DNS:$tls_name"; fi
  (
    umask 077
    cd "$broker/certs"
    openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=vax district CA" -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:3072 -nodes -subj "/CN=$tls_name" -keyout server.key -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1825 -out server.crt \
      -extfile <(printf 'subjectAltName=%s\n' "$san") 2>/dev/null
    rm -f server.csr
  )
  echo "install-hub: made a district CA and a server certificate for $tls_name in $broker/certs"
fi
chown root:mosquitto "$broker/certs/ca.crt" "$broker/certs/server.crt" "$broker/certs/server.key"
chmod 0644 "$broker/certs/ca.crt" "$broker/certs/server.crt"
chmod 0640 "$broker/certs/server.key"

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
  systemctl reload-or-restart mosquitto.service  # SIGHUP: the password file and the ACL are read again
fi

for unit in "${units[@]}"; do
  install -m 0644 "$dest/systemd/$unit" "/etc/systemd/system/$unit"
done
systemctl daemon-reload
systemctl enable hub.service
systemctl restart hub.service

cli="sudo -u hub $dest/.venv/bin/hub"
cat <<NEXT
install-hub: done; mosquitto is $(systemctl is-active mosquitto.service), hub is $(systemctl is-active hub.service).
Next steps:
  1. Enroll each kiosk (prints its password once), then make the broker read the new line:
       $cli enroll KIOSK-ID --site SITE --db /var/lib/hub/hub.db --passwd-file $broker/passwd --broker mqtts://$tls_name:8883
       sudo systemctl reload mosquitto
  2. Copy $broker/certs/ca.crt to each kiosk and set hub.ca_file to it (kiosks check the broker's certificate).
  3. Watch the merge:   $cli stats --db /var/lib/hub/hub.db      Logs: journalctl -u hub -u mosquitto -f
Operating the hub (enrolling, quarantine, conflicts, backup): $dest/docs/hub.md
NEXT
