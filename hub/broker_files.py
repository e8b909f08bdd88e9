"""The broker's ACL and CRL, written from the hub's database: which kiosks may publish, which certificates are revoked.

Mosquitto reads the ACL again on SIGHUP (`systemctl reload mosquitto`) without
dropping anyone: a kiosk that is no longer in it has its next publish refused
(reason 135) and is disconnected, while every other kiosk keeps its
connection. The CRL is read only when Mosquitto starts (docs/hub.md, "What
takes effect when"): it keeps a revoked certificate from connecting at all
after the next restart. Both files are rewritten whole from the store at every
`hub enroll` and `hub revoke`, so they never drift from it.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import wire

from . import ca
from .store import KioskKey, Store

ACL_FILE, CRL_FILE = "acl", "crl.pem"
HUB_USER = "hub"
"""The hub's broker user and client id (`hub run --client-id`); its ACL lines read every kiosk's topics."""
RESERVED_IDS = frozenset({HUB_USER})
"""Kiosk ids `hub enroll` refuses: a kiosk certificate with CN `hub` would be the hub to the broker."""
HEADER = """\
# The district broker's ACL, written by `hub enroll`, `hub revoke` and `hub broker-files` from the hub's
# database: do not edit, it is rewritten whole. Mosquitto reads it again on SIGHUP (systemctl reload mosquitto).
# Topics: docs/wire.md. A subscription is checked against `read`, a publication (and a Last Will) against
# `write`; anything not granted is refused (v5 reason 135, and Mosquitto 2.0 then drops the client).
# Each enrolled kiosk whose key is not revoked gets its own lines, by its username (= the CN of its
# certificate = its client id = its kiosk id): no %u patterns, so a revoked kiosk has no line at all.
"""


@dataclass(frozen=True)
class Written:
    """The files one call wrote, and how many kiosks the ACL lets in and how many certificates the CRL revokes."""

    acl: Path
    crl: Path | None
    kiosks: int
    revoked: int


def hub_lines() -> list[str]:
    """The hub: every kiosk's events and statuses in, every kiosk's acknowledgement and its own status out."""
    return [f"user {HUB_USER}", f"topic read {wire.EVENT_FILTER}", f"topic read {wire.STATUS_FILTER}",
            f"topic write {wire.ROOT}/k/+/{wire.ACK}", f"topic readwrite {wire.HUB_STATUS_TOPIC}",
            f"topic read {wire.BRIDGE_STATE_TOPIC}"]


def kiosk_lines(kiosk: str) -> list[str]:
    """One kiosk: its own event and status (also its Last Will), its own acknowledgements (the hub's, and the
    province's the bridge brings in), and the hub's status."""
    return [f"user {kiosk}", f"topic write {wire.topic(kiosk, wire.EVENT)}", f"topic write {wire.topic(kiosk, wire.STATUS)}",
            f"topic read {wire.topic(kiosk, wire.ACK)}", f"topic read {wire.province_ack_topic(kiosk)}",
            f"topic read {wire.HUB_STATUS_TOPIC}"]


def allowed(enrolled: dict[str, str], keys: dict[str, KioskKey]) -> list[str]:
    """The kiosks the broker lets in: enrolled, with at least one key that is not revoked, never a reserved id."""
    valid = {key.kiosk for key in keys.values() if key.revoked_at is None}
    return sorted(k for k in enrolled if k in valid and k not in RESERVED_IDS)


def acl_text(enrolled: dict[str, str], keys: dict[str, KioskKey]) -> str:
    """The whole ACL file for this fleet."""
    sections = [hub_lines(), *(kiosk_lines(kiosk) for kiosk in allowed(enrolled, keys))]
    return HEADER + "".join("\n" + "".join(f"{line}\n" for line in section) for section in sections)


def revoked_certificates(keys: dict[str, KioskKey]) -> list[tuple[int, datetime]]:
    """(serial, revocation time) of every revoked key that had a certificate."""
    return sorted((int(key.serial, 16), datetime.fromisoformat(key.revoked_at))
                  for key in keys.values() if key.revoked_at is not None and key.serial)


def write(store: Store, folder: str | Path, authority: ca.Authority | None, now: datetime) -> Written:
    """Rewrite the ACL (and, with a CA, the CRL) in folder from the store; return what was written.

    Each file is replaced atomically, so Mosquitto never reads half of one.
    """
    folder = Path(folder)
    enrolled, keys = store.enrolled(), store.keys()
    revoked = revoked_certificates(keys)
    crl_path = None
    if authority is not None:
        crl_path = folder / CRL_FILE
        ca.write_public(crl_path, ca.crl(authority, revoked, now))
    acl_path = folder / ACL_FILE
    ca.write_public(acl_path, acl_text(enrolled, keys).encode())
    return Written(acl_path, crl_path, len(allowed(enrolled, keys)), len(revoked))


def reload(pid_file: str | Path) -> int:
    """Send SIGHUP to the Mosquitto whose pid is in pid_file (it reads its ACL and password file again); return the pid.

    Raise ValueError for a pid file that does not hold a number, OSError when the signal cannot be sent.
    """
    text = Path(pid_file).read_text(encoding="ascii").strip()
    if not text.isdigit():
        raise ValueError(f"{pid_file} does not hold a process id")
    os.kill(int(text), signal.SIGHUP)
    return int(text)
