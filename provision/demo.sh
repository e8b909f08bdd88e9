#!/usr/bin/env bash
# `make demo`: a whole site on one machine — a private Mosquitto, the district hub and a kiosk on the replay frames.
# Everything lives under var/; Ctrl-C stops all three. Not for production: the broker is anonymous and on loopback.
set -euo pipefail
BIN=${BIN:-.venv/bin}
PORT=${DEMO_PORT:-8080}
MQTT_PORT=${DEMO_MQTT_PORT:-18830}
DB=${DEMO_DB:-var/demo.db}
HUB_DB=${DEMO_HUB_DB:-var/demo-hub.db}
BROKER_DIR=var/demo-broker
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
"$BIN/hub" --log-level WARNING enroll "$KIOSK_ID" --site demo-site --db "$HUB_DB" >/dev/null
"$BIN/hub" --log-level WARNING run --broker "mqtt://127.0.0.1:$MQTT_PORT" --db "$HUB_DB" & pids+=($!)
echo "district hub: merging into $HUB_DB  (see: $BIN/hub stats --db $HUB_DB)"
KIOSK_CAMERA_FPS=4 KIOSK_CAMERA_REPLAY_REPEAT=8 \
  "$BIN/kiosk" run --camera replay:kiosk/demo/frames --db "$DB" --port "$PORT" --broker "mqtt://127.0.0.1:$MQTT_PORT"
