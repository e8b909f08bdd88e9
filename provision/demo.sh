#!/usr/bin/env bash
# `make demo`: a whole site on one machine — a private Mosquitto, the district hub and its workspace, and a kiosk on
# the replay frames.
# Everything lives under var/; Ctrl-C stops them all. Not for production: the broker is anonymous and on loopback.
set -euo pipefail
BIN=${BIN:-.venv/bin}
PORT=${DEMO_PORT:-8080}
MQTT_PORT=${DEMO_MQTT_PORT:-18830}
DB=${DEMO_DB:-var/demo.db}
HUB_DB=${DEMO_HUB_DB:-var/demo-hub.db}
BROKER_DIR=var/demo-broker
CA_DIR=var/demo-ca
KIOSK_DIR=var/demo-kiosk
KIOSK_ID=kiosk-demo

mkdir -p "$BROKER_DIR"
cat > "$BROKER_DIR/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $PWD/$BROKER_DIR/
autosave_interval 10
max_queued_messages 200000
set_tcp_nodelay true
log_dest file $PWD/$BROKER_DIR/mosquitto.log
$( [[ $(id -u) -eq 0 ]] && echo "user root" )
CONF

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

mosquitto -c "$BROKER_DIR/mosquitto.conf" & pids+=($!)
# The kiosk's identity as at a real site (docs/hub.md): its key made on the kiosk, its CSR enrolled at the hub by
# the district CA. The demo broker is plain MQTT on loopback, so the certificate and the ACL go unused; the key
# signs the kiosk's events (hub.key_file).
"$BIN/hub" --log-level WARNING ca init --dir "$CA_DIR" --tls-name 127.0.0.1 >/dev/null
mkdir -p "$KIOSK_DIR"
if [[ -s $KIOSK_DIR/kiosk-key ]]; then verb=(csr); else verb=(new); fi
KIOSK_KIOSK_ID=$KIOSK_ID "$BIN/kiosk" --log-level WARNING identity "${verb[@]}" --key "$KIOSK_DIR/kiosk-key" --csr "$KIOSK_DIR/kiosk.csr" 2>/dev/null
"$BIN/hub" --log-level WARNING enroll "$KIOSK_ID" --site demo-site --csr "$KIOSK_DIR/kiosk.csr" --out "$KIOSK_DIR/kiosk.crt" \
  --db "$HUB_DB" --ca-dir "$CA_DIR" --broker-dir "$BROKER_DIR" >/dev/null
"$BIN/hub" --log-level WARNING run --broker "mqtt://127.0.0.1:$MQTT_PORT" --db "$HUB_DB" & pids+=($!)
echo "district hub: merging into $HUB_DB  (see: $BIN/hub stats --db $HUB_DB)"
# The district workspace on the same database, with one data staff account (a demo password: never in production).
WEB_PORT=${DEMO_WEB_PORT:-8090}
STAFF_NAME=${DEMO_HUB_STAFF:-Cán bộ dữ liệu demo}
STAFF_PASSWORD=${DEMO_HUB_PASSWORD:-demo-2580-hub}
"$BIN/hub" --log-level WARNING staff list --db "$HUB_DB" | grep -q "$STAFF_NAME" || \
  printf '%s\n' "$STAFF_PASSWORD" | "$BIN/hub" --log-level WARNING staff add "$STAFF_NAME" --role data --password-stdin \
    --db "$HUB_DB" >/dev/null
"$BIN/hub" --log-level WARNING web --db "$HUB_DB" --port "$WEB_PORT" & pids+=($!)
echo "district workspace: http://127.0.0.1:$WEB_PORT/  (sign in as '$STAFF_NAME', password $STAFF_PASSWORD)"
# The replay plays each card once (held for 2 s), then the camera sees nothing: people are checked in once, not every
# 2 s forever. Observation lasts DEMO_OBSERVATION_MINUTES (2: a release can be seen in the demo; a site uses 30).
# Warnings only on the terminal (no line per request): the screens show what happens.
OBSERVATION=${DEMO_OBSERVATION_MINUTES:-2}
echo "observation time: $OBSERVATION min (DEMO_OBSERVATION_MINUTES; 30 at a real site)"
KIOSK_CAMERA_FPS=4 KIOSK_CAMERA_REPLAY_REPEAT=8 KIOSK_CAMERA_REPLAY_LOOP=false KIOSK_KIOSK_ID=$KIOSK_ID \
  KIOSK_HUB_KEY_FILE=$KIOSK_DIR/kiosk-key KIOSK_QUEUE_OBSERVATION_MINUTES=$OBSERVATION \
  "$BIN/kiosk" --log-level WARNING run --camera replay:kiosk/demo/frames --db "$DB" --port "$PORT" \
  --broker "mqtt://127.0.0.1:$MQTT_PORT"
