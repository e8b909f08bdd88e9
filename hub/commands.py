"""What each `hub` subcommand does, given its parsed arguments; returns the exit status."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

import wire

from . import credentials, reports
from .ingest import utc_now

KIOSK_CREDENTIAL = "kiosk-hub-password"
"""The systemd credential the kiosk's publisher reads its password from (kiosk/config.py SECRETS)."""
KIOSK_CREDENTIALS_DIR = "/etc/kiosk/credentials"


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True))


def open_store(path: str, catalogue: str | None = None):
    """The SQLite store, with the catalogue at path (None: the packaged one)."""
    from kiosk.queue.catalogue import load_catalogue

    from .sqlite_store import open_store as open_sqlite

    return open_sqlite(path, load_catalogue(catalogue) if catalogue else None)


# -- run ----------------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """`hub run`: until SIGTERM or Ctrl-C."""
    from .service import Hub, RunSettings, install_signal_handlers, parse_broker

    if args.batch_max < 1 or args.batch_ms < 0:
        raise ValueError("--batch-max must be at least 1 and --batch-ms at least 0")
    if not args.stall_seconds > 0:
        raise ValueError("--stall-seconds must be more than 0")
    parse_broker(args.broker)  # a mistyped address must not leave a new, empty database behind
    settings = RunSettings(
        broker=args.broker, db=args.db, client_id=args.client_id, username=args.username,
        password=credentials.hub_password(args.password), ca_file=args.ca_file, catalogue=args.catalogue,
        batch_ms=args.batch_ms, batch_max=args.batch_max, stall_seconds=args.stall_seconds,
    )
    store = open_store(args.db, args.catalogue)
    try:
        hub = Hub(settings, store, say=lambda line: print(line, flush=True))
        install_signal_handlers(hub)
        hub.run()
    finally:
        store.close()
    return 0


# -- enroll and passwd ------------------------------------------------------------------------------------------------


def enroll(args: argparse.Namespace) -> int:
    """`hub enroll`: a new password for the kiosk, its hash in the store (and the password file); print it once."""
    kiosk = wire.check_kiosk_id(args.kiosk)
    password = credentials.generate_password()
    hashed = credentials.hash_password(password)
    store = open_store(args.db)
    try:
        re_keyed = kiosk in store.enrolled()
        store.enroll(kiosk, args.site, hashed, utc_now())
    finally:
        store.close()
    if args.passwd_file:
        credentials.set_password_line(args.passwd_file, kiosk, hashed)
    result = {
        "kiosk": kiosk, "site": args.site, "re_keyed": re_keyed, "passwd_file": args.passwd_file,
        "username": kiosk, "password": password,
        "kiosk_toml": kiosk_toml(kiosk, args.broker), "credential": KIOSK_CREDENTIAL,
        "credential_command": credential_command(password),
    }
    if args.json:
        print_json(result)
    else:
        print_enrollment(result)
    return 0


def kiosk_toml(kiosk: str, broker: str | None) -> str:
    """The lines of kiosk.toml that name the kiosk and its hub; the password goes in a credential, not here."""
    return (f'[kiosk]\nid = "{kiosk}"\n\n[hub]\nbroker = "{broker or "mqtts://HUB-ADDRESS:8883"}"\n'
            f'username = "{kiosk}"\n')


def credential_command(password: str) -> str:
    """A shell line that stores the password as the kiosk's systemd credential (readable by root only)."""
    return (f"sudo sh -c 'umask 077; printf %s {password} > {KIOSK_CREDENTIALS_DIR}/{KIOSK_CREDENTIAL}'")


def print_enrollment(result: dict[str, Any]) -> None:
    verb = "gave kiosk {kiosk} (site {site}) a new password; the old one no longer works" if result["re_keyed"] \
        else "enrolled kiosk {kiosk} at site {site}"
    print("hub: " + verb.format(**result))
    if result["passwd_file"]:
        print(f"hub: wrote its line in {result['passwd_file']}; make the broker read it: sudo systemctl reload mosquitto")
    print("\nWhat the kiosk needs (the password is shown only now; the hub keeps only its hash):")
    for key, value in (("kiosk.id", result["kiosk"]), ("hub.username", result["username"]), ("hub.password", result["password"])):
        print(f"  {key:<13} {value}")
    print("\nkiosk.toml (/etc/kiosk/kiosk.toml on the kiosk):\n")
    print("".join(f"  {line}\n" if line else "\n" for line in result["kiosk_toml"].splitlines()), end="")
    print(f"\nthe password, as the credential {result['credential']} (on the kiosk):\n\n  {result['credential_command']}")


def passwd(args: argparse.Namespace) -> int:
    """`hub passwd USER`: hash the password on stdin into a Mosquitto password file (the hub's own broker user)."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise ValueError("no password on stdin")
    replaced = credentials.set_password_line(args.passwd_file, args.user, credentials.hash_password(password))
    print(f"hub: {'replaced' if replaced else 'added'} {args.user}'s line in {args.passwd_file}")
    return 0


# -- reports ------------------------------------------------------------------------------------------------------------


def stats(args: argparse.Namespace) -> int:
    """`hub stats`: the store's counts and the fleet table."""
    store = open_store(args.db)
    try:
        figures = store.stats()
    finally:
        store.close()
    if args.json:
        print_json(figures)
    else:
        print_stats(figures)
    return 0


def print_stats(figures: dict[str, Any]) -> None:
    quarantined, conflicts = figures.get("quarantined", {}), figures.get("conflicts", {})
    print(f"events       {figures.get('events', 0)}")
    print(f"doses        {figures.get('doses', 0)} (voided: {figures.get('voided_doses', 0)})")
    print(f"people       {figures.get('people', 0)}")
    print(f"duplicates   {figures.get('duplicates', 0)} absorbed")
    print(f"quarantined  {quarantined.get('total', 0)}{breakdown(quarantined.get('by_reason', {}))}")
    print(f"conflicts    {conflicts.get('total', 0)}{breakdown(conflicts.get('by_kind', {}))}")
    print(f"merging      {figures.get('merging', {}).get('summary', '-')}")
    columns = ["kiosk", "site", "enrolled", "watermark", "highest", "missing", "duplicates", "status", "last_seen",
               "backlog", "clock_skew_s"]
    kiosks = figures.get("kiosks", [])
    print()
    print_table(kiosks, columns) if kiosks else print("no kiosks enrolled or heard from")


def breakdown(counts: dict[str, int]) -> str:
    shown = [f"{name} {count}" for name, count in sorted(counts.items()) if count]
    return f" ({', '.join(shown)})" if shown else ""


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain aligned table: one header line, one line per row, '-' for an empty cell."""
    cells = [[cell(row.get(name)) for name in columns] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in cells)) for i, name in enumerate(columns)]
    print("  ".join(name.ljust(w) for name, w in zip(columns, widths)).rstrip())
    for line in cells:
        print("  ".join(text.ljust(w) for text, w in zip(line, widths)).rstrip())


def cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def quarantine(args: argparse.Namespace) -> int:
    """`hub quarantine`: the newest quarantined messages, without their bodies."""
    rows = reports.quarantine(args.db, limit=args.limit, reason=args.reason)
    if args.json:
        print_json(rows)
    elif rows:
        print_table(rows, ["id", "received_at", "reason", "kiosk", "topic", "size", "detail"])
    else:
        print("the quarantine is empty")
    return 0


def conflicts(args: argparse.Namespace) -> int:
    """`hub conflicts`: the conflicts kept for the data staff."""
    rows = reports.conflicts(args.db, limit=args.limit, kind=args.kind)
    if args.json:
        print_json(rows)
    elif rows:
        print_table(rows, ["kind", "id_number", "event_ids", "detail"])
    else:
        print("no conflicts")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": run, "enroll": enroll, "passwd": passwd, "stats": stats, "quarantine": quarantine, "conflicts": conflicts,
}
