"""install-kiosk.sh's Raspberry Pi parts: the pins that keep apt's numpy and a working gpiozero, the labwc autostart
(run for real in a temporary home), systemd not running, and the units' Pi settings. The whole installer runs in a
Debian chroot with `make check-install` (minutes, root, downloads): not here."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from kiosk import pi
from tests.test_systemd import one, parse_unit, words

ROOT = Path(__file__).resolve().parent.parent
PROVISION = ROOT / "provision"
INSTALLER = (PROVISION / "install-kiosk.sh").read_text(encoding="utf-8")
CONSTRAINTS = [line.split("#")[0].strip() for line in (PROVISION / "pi-constraints.txt").read_text().splitlines()]
MARK = "# kiosk-display: written by install-kiosk.sh --display"


def test_ok__the_pi_constraints_pin_the_gpiozero_the_doctor_expects_and_hold_back_numpy_2():
    assert f"gpiozero=={pi.GPIOZERO_PINNED}" in CONSTRAINTS
    assert "opencv-python-headless<4.12" in CONSTRAINTS  # 4.12 and later require numpy 2
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["kiosk"]
    gpiozero = next(req for req in extras if req.startswith("gpiozero"))
    assert all(f"!={version}" in gpiozero for version in pi.GPIOZERO_BROKEN)


def test_ok__the_installer_installs_with_the_constraints_and_apts_numpy():
    pip = re.search(r'^"\$dest/\.venv/bin/python" -m pip install (.*)$', INSTALLER, re.MULTILINE).group(1)
    assert '-c "$dest/provision/pi-constraints.txt"' in pip and '-c "$pins"' in pip and pip.endswith('"$dest[kiosk]"')
    assert 'echo "numpy==$apt_numpy" > "$pins"' in INSTALLER and "pip uninstall --quiet --yes numpy" in INSTALLER


def apt_numpy(status: str) -> str:
    """The installer's own sed over dpkg-query's output."""
    sed = re.search(r"dpkg-query -W -f='\$\{Status\} \$\{Version\}' python3-numpy 2>/dev/null \| (sed .*)\)$", INSTALLER,
                    re.MULTILINE).group(1)
    return subprocess.run(["bash", "-c", sed], input=status, capture_output=True, text=True, check=True).stdout.strip()


def test_ok__the_installer_reads_apts_numpy_version_without_epoch_or_debian_revision():
    assert apt_numpy("install ok installed 1:1.24.2-1+deb12u1") == "1.24.2"
    assert apt_numpy("install ok installed 1:1.26.4+ds-11") == "1.26.4"
    assert apt_numpy("deinstall ok config-files 1:1.24.2-1") == ""
    assert apt_numpy("") == ""


def test_ok__without_a_running_systemd_the_installer_enables_and_starts_nothing():
    assert "booted() { [[ -d /run/systemd/system ]]; }" in INSTALLER
    restart = INSTALLER.index("systemctl restart kiosk.target")
    assert INSTALLER.rindex("if booted; then", 0, restart) > INSTALLER.index("systemctl enable kiosk.target")
    assert subprocess.run(["bash", "-n", str(PROVISION / "install-kiosk.sh")]).returncode == 0
    assert subprocess.run(["bash", "-n", str(PROVISION / "check-install.sh")]).returncode == 0


def labwc(home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(PROVISION / "labwc-autostart.sh"), str(home)], capture_output=True, text=True, timeout=10)


def test_ok__labwc_autostart_starts_the_display_and_is_rewritten_on_each_run(tmp_path):
    assert labwc(tmp_path).returncode == 0
    autostart = tmp_path / ".config" / "labwc" / "autostart"
    text = autostart.read_text()
    assert text.splitlines()[0] == MARK and "systemctl --user start kiosk-display.service" in text
    assert "systemctl --user import-environment WAYLAND_DISPLAY" in text
    assert subprocess.run(["sh", "-n", str(autostart)]).returncode == 0
    autostart.write_text(MARK + "\nan older version of ours\n")
    assert labwc(tmp_path).returncode == 0 and autostart.read_text() == text


def test_ok__labwc_autostart_leaves_a_users_own_file_alone_and_says_what_to_add(tmp_path):
    autostart = tmp_path / ".config" / "labwc" / "autostart"
    autostart.parent.mkdir(parents=True)
    autostart.write_text("swayidle -w timeout 300 'wlopm --off \\*' &\n")
    result = labwc(tmp_path)
    assert result.returncode == 0 and "left as it is" in result.stderr and "kiosk-display.service" in result.stderr
    assert autostart.read_text() == "swayidle -w timeout 300 'wlopm --off \\*' &\n"


def test_ok__the_installer_gives_the_desktop_user_the_labwc_autostart():
    assert '"$src/provision/labwc-autostart.sh"' in INSTALLER and "autologin-user=" in INSTALLER
    assert "--display-user" in INSTALLER


def test_ok__the_scanner_names_lgpio_and_keeps_proc_device_tree():
    unit = parse_unit(ROOT / "systemd" / "kiosk-scan.service")
    assert "GPIOZERO_PIN_FACTORY=lgpio" in words(unit, "Service", "Environment")
    assert "ProcSubset" not in unit["Service"] and "PrivateDevices" not in unit["Service"]  # gpiozero reads /proc/device-tree
    assert one(unit, "Service", "IPAddressDeny") == "any"
    toml = re.search(r"cat > /etc/kiosk/kiosk.toml <<TOML\n(.*?)\nTOML", INSTALLER, re.DOTALL).group(1)
    assert '[feedback]\n# lgpio drives' in toml and 'pin_factory = "lgpio"' in toml


def test_ok__the_display_has_the_hardening_a_user_manager_can_apply():
    unit = parse_unit(ROOT / "systemd" / "kiosk-display.service")
    for key in ("NoNewPrivileges", "LockPersonality", "RestrictRealtime", "RestrictSUIDSGID"):
        assert one(unit, "Service", key) == "yes", key
    assert words(unit, "Service", "RestrictAddressFamilies") == {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    # Chromium's sandbox makes namespaces and V8 writes machine code: these would break the screen
    assert not {"RestrictNamespaces", "PrivateUsers", "MemoryDenyWriteExecute"} & set(unit["Service"])
