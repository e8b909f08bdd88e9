#!/usr/bin/env bash
# Check provision/install-kiosk.sh on a fresh Debian 12 (bookworm) image in a chroot, as root: `make check-install`.
# Builds a minbase chroot once (debootstrap; CHROOT=folder, MIRROR=url), with what a Raspberry Pi OS image brings
# that plain Debian has too (python3, apt's numpy, Debian's gpiozero 1.6, systemd not running), runs the installer
# in it twice (--display for a desktop user `pi`), and checks what it left. Raspberry Pi OS's own packages
# (python3-picamera2, python3-lgpio), the camera and the GPIO header are not there: see docs/production.md.
# Prints one "ok"/"FAIL" line per check and exits 1 if any failed. Takes minutes (downloads); not part of make test.
set -euo pipefail
[[ $(id -u) -eq 0 ]] || { echo "check-install: run as root" >&2; exit 1; }
src=$(cd "$(dirname "$0")/.." && pwd)
root=${CHROOT:-/var/tmp/kiosk-check-install}
mirror=${MIRROR:-$(sed -n 's/^URIs: *\(\S*debian\)$/\1/p; s/^deb \(http\S*debian\) bookworm .*/\1/p' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | head -n 1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
failed=0

"$src/provision/apt-deps.sh" debootstrap
if [[ ! -x $root/usr/bin/python3 ]]; then
  echo "check-install: debootstrap bookworm into $root from $mirror" >&2
  debootstrap --variant=minbase --include=python3,python3-numpy,python3-gpiozero,systemd,ca-certificates,procps \
    bookworm "$root" "$mirror" >/dev/null
fi
cleanup() { for fs in dev/pts dev sys proc; do umount -l "$root/$fs" 2>/dev/null || true; done; }
trap cleanup EXIT
mount -t proc proc "$root/proc"; mount -t sysfs sys "$root/sys"; mount --bind /dev "$root/dev"; mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# a host behind a TLS-inspecting proxy trusts its CA in /usr/local/share/ca-certificates: so does the chroot (pip)
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null 2>&1
fi
# the project as committed plus new files not yet committed, without the venv or local data
rm -rf "$root/root/vax" && mkdir -p "$root/root/vax"
(cd "$src" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$root/root/vax"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  PIP_CERT=/etc/ssl/certs/ca-certificates.crt ${http_proxy:+http_proxy=$http_proxy} ${https_proxy:+https_proxy=$https_proxy} "$@"; }
check() {  # check NAME COMMAND...: one line, the command's last output line as the detail
  local name=$1 out; shift
  if out=$("$@" 2>&1); then echo "ok   $name: $(tail -n 1 <<<"$out")"; else echo "FAIL $name: $(tail -n 3 <<<"$out" | tr '\n' ' ')"; failed=1; fi
}
has() { grep -m 1 -e "$1" <<<"$2"; }  # has PATTERN TEXT: the first matching line, or fail
venv_python() { in_root /opt/kiosk/.venv/bin/python -c "$1"; }
doctor() {  # the doctor as the kiosk user, on the bundled replay frames and simulated pins; its output, never failing
  in_root runuser -u kiosk -- env KIOSK_CONFIG=/etc/kiosk/kiosk.toml KIOSK_CAMERA_SOURCE=replay:/opt/kiosk/kiosk/demo/frames \
    KIOSK_FEEDBACK_PIN_FACTORY="${1:-mock}" /opt/kiosk/.venv/bin/kiosk --log-level ERROR doctor || true
}

in_root sh -c 'id pi >/dev/null 2>&1 || useradd -m -s /bin/bash pi'
check "installer, first run" in_root bash -c 'cd /root/vax && provision/install-kiosk.sh --display --display-user pi'
check "numpy is apt's" venv_python 'import numpy, sys; assert numpy.__file__.startswith("/usr/lib/python3/dist-packages/"), numpy.__file__; print("numpy", numpy.__version__, "from", numpy.__file__)'
check "gpiozero pinned" venv_python 'import gpiozero, importlib.metadata as m; v = m.version("gpiozero"); assert v == "2.0.1.post3", v; print("gpiozero", v, "from", gpiozero.__file__)'
check "opencv for numpy 1" venv_python 'import cv2; print("opencv", cv2.__version__)'
check "units enabled" in_root sh -c 'ls /etc/systemd/system/multi-user.target.wants/kiosk.target /etc/systemd/user/kiosk-display.service /etc/xdg/autostart/kiosk-display.desktop'
check "systemd-analyze verify" in_root sh -c 'out=$(systemd-analyze verify --man=no /etc/systemd/system/kiosk*.target /etc/systemd/system/kiosk-*.service 2>&1); [ -z "$out" ] && echo "no complaints" || { echo "$out"; false; }'
check "labwc autostart" in_root sh -c 'grep -q "systemctl --user start kiosk-display.service" ~pi/.config/labwc/autostart && stat -c "%U %a %n" ~pi/.config/labwc/autostart'
check "kiosk.toml pins lgpio" in_root grep -x 'pin_factory = "lgpio"' /etc/kiosk/kiosk.toml
echo "--- kiosk doctor in the chroot (replay camera, simulated pins):"
out=$(doctor mock)
sed 's/^/    /' <<<"$out"
check "doctor: numpy" has '^ok   numpy' "$out"
check "doctor: lgpio named" has '^FAIL gpio .*lgpio' "$(doctor lgpio)"

echo "--- numpy 2 from pip into the venv, as a careless upgrade would:"
in_root /opt/kiosk/.venv/bin/python -m pip install --quiet 'numpy>=2' 2>&1 | tail -n 2 || true
check "doctor finds the mismatch" has '^FAIL numpy .*built for numpy' "$(doctor mock)"
check "installer, second run" in_root bash -c 'cd /root/vax && provision/install-kiosk.sh --display --display-user pi'
check "numpy is apt's again" venv_python 'import numpy; assert numpy.__file__.startswith("/usr/lib/python3/dist-packages/"), numpy.__file__; print("numpy", numpy.__version__)'
exit $failed
