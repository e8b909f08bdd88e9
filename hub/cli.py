"""The `hub` command: run (MQTT ingest and merge), enroll, passwd, stats, quarantine, conflicts."""

from __future__ import annotations

import argparse
import logging
import sys

from kiosk import __version__

from . import credentials
from .store import StoreError

DEFAULT_DB_HELP = "hub database file (e.g. /var/lib/hub/hub.db)"


def parser() -> argparse.ArgumentParser:
    """The command line, one subcommand per job."""
    top = argparse.ArgumentParser(prog="hub", description="District hub: merge the kiosks' event streams, report.")
    top.add_argument("--version", action="version", version=f"hub {__version__}")
    top.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="how much to log")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--db", required=True, metavar="PATH", help=DEFAULT_DB_HELP)
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON")

    run = sub.add_parser("run", parents=[database], help="receive the kiosks' events from the broker and merge them")
    run.add_argument("--broker", required=True, metavar="URL", help="mqtt://host:1883 or mqtts://host:8883")
    run.add_argument("--client-id", default="hub", metavar="ID", help="MQTT client id, which names the broker session (default: hub)")
    run.add_argument("--username", metavar="NAME", help="MQTT username (default: the client id, when there is a password)")
    run.add_argument("--password", metavar="SECRET", help=f"MQTT password (default: ${credentials.HUB_PASSWORD_ENV}, "
                     f"else the systemd credential {credentials.HUB_CREDENTIAL})")
    run.add_argument("--ca-file", metavar="PATH", help="CA certificate for mqtts:// (default: the system's CAs)")
    run.add_argument("--catalogue", metavar="PATH", help="vaccine catalogue TOML for the interval checks (default: the packaged one)")
    run.add_argument("--batch-ms", type=float, default=20.0, metavar="MS", help="commit a batch once its oldest message is this old (default: 20)")
    run.add_argument("--batch-max", type=int, default=500, metavar="N", help="commit a batch once it holds this many messages (default: 500)")
    run.add_argument("--stall-seconds", type=float, default=60.0, metavar="S",
                     help="report merging as stalled (log, hub stats, systemd watchdog) once a message has waited this long for its commit (default: 60)")

    enroll = sub.add_parser("enroll", parents=[database, as_json], help="register a kiosk (or give it a new password) and print its credentials")
    enroll.add_argument("kiosk", metavar="KIOSK", help="kiosk id: lower-case letters, digits and dashes")
    enroll.add_argument("--site", required=True, metavar="SITE", help="the site the kiosk serves")
    enroll.add_argument("--passwd-file", metavar="PATH", help="also write the kiosk's line in this Mosquitto password file")
    enroll.add_argument("--broker", metavar="URL", help="broker address to put in the kiosk.toml snippet")

    passwd = sub.add_parser("passwd", help="set a user's line in a Mosquitto password file, the password read from stdin")
    passwd.add_argument("user", metavar="USER", help="MQTT username (e.g. hub)")
    passwd.add_argument("--passwd-file", required=True, metavar="PATH", help="the Mosquitto password file")

    sub.add_parser("stats", parents=[database, as_json], help="counts of events, doses, people, duplicates, quarantine, conflicts; the fleet")
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument("--limit", type=int, default=100, metavar="N", help="at most this many rows, newest first (default: 100)")
    quarantine = sub.add_parser("quarantine", parents=[database, as_json, listing], help="messages the hub would not merge (no bodies)")
    quarantine.add_argument("--reason", metavar="CODE", help="only this reason (docs/hub.md lists them)")
    conflicts = sub.add_parser("conflicts", parents=[database, as_json, listing], help="conflicts kept for the data staff")
    conflicts.add_argument("--kind", metavar="KIND", help="only this kind")
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hub` console script; returns the exit status."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from . import commands  # here, so `hub --help` does not import paho and the store

    try:
        return commands.COMMANDS[args.command](args)
    except (StoreError, ValueError, OSError) as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
