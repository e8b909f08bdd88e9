#!/usr/bin/env bash
# Give a desktop user a labwc autostart that shows only the kiosk's citizen screen (install-kiosk.sh --display).
# Usage: provision/labwc-autostart.sh HOME [OWNER]    writes HOME/.config/labwc/autostart, owned by OWNER
# labwc (Raspberry Pi OS Bookworm's compositor) runs the first autostart it finds, so this file replaces
# /etc/xdg/labwc/autostart for that user: no panel, no desktop icons, no screen blanking (swayidle), and no
# /etc/xdg/autostart entries either. A file the user wrote is left alone; ours (MARK) is rewritten. Idempotent.
set -euo pipefail
home=${1:?usage: labwc-autostart.sh HOME [OWNER]}
owner=${2:-}
MARK="# kiosk-display: written by install-kiosk.sh --display"
file=$home/.config/labwc/autostart
if [[ -s $file ]] && ! grep -qxF "$MARK" "$file"; then
  echo "labwc-autostart: $file is the user's own; left as it is. Add these lines to it:" >&2
  echo "  systemctl --user import-environment WAYLAND_DISPLAY XDG_CURRENT_DESKTOP XDG_SESSION_TYPE" >&2
  echo "  systemctl --user start kiosk-display.service" >&2
  exit 0
fi
mkdir -p "$(dirname "$file")"
cat > "$file.new" <<AUTOSTART
$MARK
# It replaces /etc/xdg/labwc/autostart for this user. Delete it to get the desktop back (then log in again).
# kanshi applies the display layout (rotation of the touchscreen) set in Screen Configuration.
command -v kanshi >/dev/null && kanshi &
# kiosk-display.service (a user unit) needs the Wayland display; then it starts Chromium in kiosk mode.
systemctl --user import-environment WAYLAND_DISPLAY XDG_CURRENT_DESKTOP XDG_SESSION_TYPE
systemctl --user start kiosk-display.service
AUTOSTART
mv "$file.new" "$file"
chmod 0644 "$file"
if [[ -n $owner ]]; then
  chown "$owner": "$home/.config" "$home/.config/labwc" "$file" 2>/dev/null || chown "$owner" "$file"
fi
echo "labwc-autostart: wrote $file"
