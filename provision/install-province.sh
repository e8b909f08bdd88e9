#!/usr/bin/env bash
# Turn a Debian 12 machine into the province host: PostgreSQL with the province database, the province CA, the
# province broker (mutual TLS for the districts' bridges, a loopback listener for the workers, the ACL), the workers
# hub-province@ID.service and the provincial workspace (hub-web.service on PostgreSQL, HTTPS on port 8443).
# Idempotent: run it again after every update. Usage: sudo provision/install-province.sh [--tls-name NAME ...] [--worker ID ...]
#   --tls-name NAME   a host name or IP address the districts' bridges use to reach this broker (repeat for several;
#                     default: hostname -f, or the names it already has)
#   --worker ID       a worker's client id (repeat; default: those already set up, else hub-province-1); see docs/province.md
set -euo pipefail
tls_names=()
workers=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --tls-name) tls_names+=(--tls-name "${2:?--tls-name needs a value}"); shift 2 ;;
    --worker) workers+=("${2:?--worker needs a value}"); shift 2 ;;
    -h|--help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "install-province: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "install-province: run as root (sudo)" >&2; exit 1; }
for worker in "${workers[@]}"; do
  [[ $worker =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || { echo "install-province: --worker $worker: lower-case letters, digits and dashes" >&2; exit 2; }
done
src=$(cd "$(dirname "$0")/.." && pwd)
dest=/opt/hub
credentials=/etc/hub/credentials
ca=/etc/hub/ca
broker=/etc/mosquitto/province
districts=/etc/hub/province
db=postgresql://hub@/province
ca_name="vax province CA"  # the name in the CA's certificate, when install_ca makes it (an existing CA keeps its own)
units=(hub-province@.service hub-web.service hub-broker-reload.path hub-broker-reload.service hub-broker-restart.path
  hub-broker-restart.service)
dropins=(hub-web.service.d/province.conf hub-broker-reload.path.d/province.conf)

source "$src/provision/hub-base.sh"
install_hub_software mosquitto postgresql
install_broker_folder
install -d -o root -g root -m 0755 "$districts"
if [[ ${#workers[@]} -eq 0 ]]; then
  for file in "$districts"/*.env; do
    if [[ -f $file ]]; then workers+=("$(basename "$file" .env)"); fi
  done
  [[ ${#workers[@]} -gt 0 ]] || workers=(hub-province-1)
fi

# The database, owned by the hub user, who reaches it over the Unix socket with peer authentication (no password):
# Debian's pg_hba.conf does that for local connections. Text in the byte order of C.UTF-8, as the districts' SQLite.
# The units reach it on PostgreSQL's port 5432, as on a fresh Debian 12: a cluster Debian put on another port (because
# another one already had 5432) stops the install here, saying so, rather than every unit failing to connect.
systemctl enable --now postgresql.service
as_postgres() { (cd / && runuser -u postgres -- "$@"); }  # from /, which the postgres user can read
psql_value() { as_postgres psql -XtAc "$1"; }
port=$(psql_value "show port")
[[ $port == 5432 ]] || { echo "install-province: PostgreSQL listens on port $port here, and the province's units expect 5432" \
  "(postgresql://hub@/province): pg_lsclusters lists the clusters; set port = 5432 in that cluster's postgresql.conf," \
  "restart it, and run this again" >&2; exit 1; }
[[ $(psql_value "select 1 from pg_roles where rolname = 'hub'") == 1 ]] || as_postgres createuser hub
[[ $(psql_value "select 1 from pg_database where datname = 'province'") == 1 ]] ||
  as_postgres createdb --owner hub --encoding UTF8 --locale C.UTF-8 --template template0 province

# The province CA (it certifies the bridges: `hub bridge-cert`) and the broker's certificate for the names they use.
install_ca "${tls_names[@]}"

# Each worker: its districts (an EnvironmentFile of hub-province@ID.service, left alone once made) and its broker
# password (a systemd credential of its unit, its hash in the password file).
for worker in "${workers[@]}"; do
  [[ -f $districts/$worker.env ]] || cat > "$districts/$worker.env" <<ENV
# The districts worker $worker merges (hub-province@$worker.service), each as --district NAME, e.g.
# DISTRICTS="--district d1 --district d2". Every district is served by exactly one worker. Empty: it does not start.
DISTRICTS=""
ENV
  make_secret "$worker-mqtt-password" 24
  "$dest/.venv/bin/hub" --log-level WARNING passwd "$worker" --passwd-file "$broker/passwd" < "$credentials/$worker-mqtt-password" >/dev/null
done

# The ACL from the province database (the first command to open it makes its tables): no district on the first run.
worker_options=()
for worker in "${workers[@]}"; do worker_options+=(--worker "$worker"); done
"${hub[@]}" province-acl --db "$db" "${worker_options[@]}" --out "$broker/acl"
# The CRL from the CA's record of the bridges' certificates (`hub bridge-revoke`): Mosquitto does not start without it.
"${hub[@]}" bridge-crl --ca-dir "$ca" --out "$broker/crl.pem"

install_broker_config "$dest/provision/mosquitto-province.conf"

# The workspace's cookie key: a systemd credential of hub-web.service, made once (a new one signs everybody out).
make_secret hub-web-secret 32

for unit in "${units[@]}"; do
  install -m 0644 "$dest/systemd/$unit" "/etc/systemd/system/$unit"
done
for dropin in "${dropins[@]}"; do  # hub-web.service on the province database, the reload on the province's files
  install -D -m 0644 "$dest/systemd/$dropin" "/etc/systemd/system/$dropin"
done
systemctl daemon-reload
systemctl enable --now hub-broker-reload.path  # `hub province-acl` rewrites the ACL: Mosquitto reloads
systemctl enable --now hub-broker-restart.path  # `hub bridge-revoke` rewrites the CRL: Mosquitto restarts (cuts the bridge)
systemctl enable hub-web.service
systemctl restart hub-web.service
for worker in "${workers[@]}"; do
  systemctl enable "hub-province@$worker.service"
  systemctl restart "hub-province@$worker.service"
done

cli="sudo -u hub $dest/.venv/bin/hub"
cat <<NEXT
install-province: done; mosquitto is $(systemctl is-active mosquitto.service), postgresql is $(systemctl is-active postgresql.service), hub-web is $(systemctl is-active hub-web.service); workers: ${workers[*]} (each starts once its districts are set).
Each district joins (docs/province.md, "Setting it up", has the district's half):
  1. From the district: its kiosks (hub kiosks export) and its bridge's CSR (hub bridge-csr). Here:
       $cli kiosks import D1-kiosks.json --district d1 --db $db
       $cli bridge-cert --csr bridge-d1.csr --district d1 --out bridge-d1.crt
       $cli province-acl --db $db$(printf ' --worker %s' "${workers[@]}") --out $broker/acl
     (the broker reloads by itself) and send bridge-d1.crt and $ca/ca.crt back to the district.
     A district machine stolen: $cli bridge-revoke --district d1 --crl-out $broker/crl.pem (the broker restarts by itself)
  2. Give the district to one worker: add --district d1 to DISTRICTS in $districts/WORKER.env, then
       systemctl restart hub-province@WORKER.service
  3. Watch the merge:   $cli stats --db $db      Logs: journalctl -u 'hub-province@*' -u hub-web -u mosquitto -f
  4. The provincial workspace: add its first administrator (the password on stdin), then open https://THIS-HOST:8443/
       $cli staff add "NAME" --role admin --password-stdin --db $db
NEXT
