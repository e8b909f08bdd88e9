#!/usr/bin/env bash
# Check provision/install-province.sh on a fresh Debian 12 (bookworm) booted with systemd, as root:
# `make check-install-province`. Builds a minbase root once (debootstrap; CHROOT=folder, MIRROR=url), boots it with
# systemd-nspawn (systemd as PID 1, so PostgreSQL, Mosquitto and the units really run), installs the province in it,
# joins district d1 as docs/province.md says (its kiosks file and bridge CSR made on this machine by
# tests/province_district.py), sends one signed dose through a real district broker bridged over TLS, and checks that
# the worker merged it and acknowledged it back; then a second install, and a bridge revoked while connected: cut,
# refused at its next handshake, nothing more merged.
# The container shares this machine's network (the downloads need it): ports 5432, 1883, 8883 and 8443 must be free
# here. Prints one "ok"/"FAIL" line per check and exits 1 if any failed. Minutes; not part of make test.
set -euo pipefail
[[ $(id -u) -eq 0 ]] || { echo "check-install-province: run as root" >&2; exit 1; }
src=$(cd "$(dirname "$0")/.." && pwd)
base=${CHROOT:-/var/tmp/province-check-install}  # debootstrapped once, kept as it was made
root=$base-run  # each run's machine: a fresh copy of it
mirror=${MIRROR:-$(sed -n 's/^URIs: *\(\S*debian\)$/\1/p; s/^deb \(http\S*debian\) bookworm .*/\1/p' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | head -n 1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
python=$src/.venv/bin/python
work=$(mktemp -d /tmp/check-install-province.XXXXXX)
failed=0

[[ -x $python ]] || { echo "check-install-province: run it as: make check-install-province (it sets up .venv for the district's half)" >&2; exit 1; }
"$src/provision/apt-deps.sh" debootstrap systemd-container iproute2
for port in 5432 1883 8883 8443; do
  if ss -Hltn "sport = :$port" | grep -q .; then
    echo "check-install-province: port $port is taken on this machine, and the container shares its network: stop what listens there (ss -ltnp)" >&2
    exit 1
  fi
done
if [[ ! -x $base/usr/bin/python3 ]]; then
  echo "check-install-province: debootstrap bookworm into $base from $mirror" >&2
  debootstrap --variant=minbase --include=python3,systemd,systemd-sysv,dbus,ca-certificates,procps \
    bookworm "$base" "$mirror" >/dev/null
fi
rm -rf "$root" && cp -a "$base" "$root"
echo province-check > "$root/etc/hostname"
cp /etc/resolv.conf "$root/etc/resolv.conf"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then  # a TLS-inspecting proxy's CA (pip, apt)
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
mkdir -p "$root/root/vax" "$root/srv/check"
(cd "$src" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$root/root/vax"

systemd-nspawn --boot --directory="$root" --machine=province-check --console=passive --register=no --keep-unit \
  >"$work/nspawn.log" 2>&1 &
nspawn=$!
cleanup() { kill "$nspawn" 2>/dev/null && wait "$nspawn" 2>/dev/null; rm -rf "$work"; }  # SIGTERM: the container powers off
trap cleanup EXIT
in_root() {  # in_root COMMAND...: in the booted container, as root, with a clean environment
  nsenter --target "$leader" --mount --uts --ipc --net --pid -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 PIP_CERT=/etc/ssl/certs/ca-certificates.crt "$@"
}
leader=
for _ in $(seq 100); do
  leader=$(pgrep -P "$nspawn" | head -n 1 || true)
  if [[ -n $leader ]] && [[ $(in_root systemctl is-system-running 2>/dev/null || true) =~ ^(running|degraded)$ ]]; then break; fi
  sleep 0.3
done
[[ -n $leader ]] || { echo "check-install-province: the container did not boot:" >&2; cat "$work/nspawn.log" >&2; exit 1; }
in_root update-ca-certificates >/dev/null 2>&1

check() {  # check NAME COMMAND...: one line, the command's last output line as the detail
  local name=$1 out; shift
  if out=$("$@" 2>&1); then echo "ok   $name: $(tail -n 1 <<<"$out")"; else echo "FAIL $name: $(tail -n 3 <<<"$out" | tr '\n' ' ')"; failed=1; fi
}
hub_here() { in_root runuser -u hub -- /opt/hub/.venv/bin/hub "$@"; }
db=postgresql://hub@/province
district() { (cd "$src" && "$python" -m tests.province_district "$1" "$work/d1" "${@:2}"); }

check "installer, first run" in_root bash -c 'cd /root/vax && provision/install-province.sh --tls-name 127.0.0.1 --worker w1'
check "services active" in_root systemctl is-active mosquitto postgresql hub-web hub-broker-reload.path hub-broker-restart.path
check "the province CA's name" in_root /opt/hub/.venv/bin/python -c 'from hub import ca; print(ca.common_name(ca.load_certificate("/etc/hub/ca/ca.crt").subject))'
check "workspace answers" in_root python3 -c 'import ssl, urllib.request; print("GET /login:", urllib.request.urlopen("https://127.0.0.1:8443/login", context=ssl._create_unverified_context()).status)'

district files >/dev/null 2>&1
cp "$work/d1/d1-kiosks.json" "$work/d1/bridge-d1.csr" "$root/srv/check/" && chmod 0777 "$root/srv/check"
check "district d1 joins" in_root bash -c "set -e; cd /srv/check; H='runuser -u hub -- /opt/hub/.venv/bin/hub'
  \$H kiosks import d1-kiosks.json --district d1 --db $db
  \$H bridge-cert --csr bridge-d1.csr --district d1 --out bridge-d1.crt
  \$H province-acl --db $db --worker w1 --out /etc/mosquitto/province/acl
  sed -i 's/^DISTRICTS=.*/DISTRICTS=\"--district d1\"/' /etc/hub/province/w1.env
  systemctl restart hub-province@w1.service; systemctl is-active hub-province@w1.service"
cp "$root/srv/check/bridge-d1.crt" "$root/etc/hub/ca/ca.crt" "$work/d1/"
check "the broker reloaded by itself" in_root bash -c 'journalctl -u mosquitto.service -o cat | grep -m 1 "^Reloaded mosquitto.service"'
check "a dose through the bridge, acknowledged" district bridge --seq 1
check "merged at the province" in_root bash -c "runuser -u hub -- /opt/hub/.venv/bin/hub stats --db $db | grep -E '^events +1$'"
check "installer, second run" in_root bash -c 'cd /root/vax && provision/install-province.sh --worker w1'
check "worker still merging" district bridge --seq 2
revoke=(nsenter --target "$leader" --mount --uts --ipc --net --pid -- runuser -u hub -- /opt/hub/.venv/bin/hub
  --log-level WARNING bridge-revoke --district d1 --crl-out /etc/mosquitto/province/crl.pem)
restarts() { in_root bash -c 'journalctl -u hub-broker-restart.service -o cat | grep -c "^Finished" || true'; }
before=$(restarts)
check "revoked while connected" district cut --seq 3 -- "${revoke[@]}"
after=$(restarts)
check "the broker restarted by itself" bash -c "[[ $after -gt $before ]] && echo 'hub-broker-restart.service: $before runs before the revocation, $after after'"
check "revoked bridge refused" district bridge --seq 5 --expect-none
check "nothing more merged" in_root bash -c "runuser -u hub -- /opt/hub/.venv/bin/hub stats --db $db | grep -E '^events +3$'"
check "refused at the handshake" in_root bash -c 'journalctl -u mosquitto.service -o cat | grep -m 1 "certificate verify failed"'
exit $failed
