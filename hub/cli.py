"""The `hub` command: run (MQTT ingest and merge), web (the district workspace), staff, roster import and template,
ca init, enroll, revoke, broker-files, passwd, stats, quarantine, conflicts, coverage (and its outreach list),
export (the national-platform line list and its gauge), kiosks export and import, bridge-config, bridge-csr, bridge-cert,
bridge-revoke, bridge-crl and province-acl (the province tier)."""

from __future__ import annotations

import argparse
import logging
import sys

from daemon import version

from . import credentials
from .errors import HubError
from .province_commands import add_province_commands
from .report_commands import add_report_commands

DEFAULT_DB_HELP = "hub database file (e.g. /var/lib/hub/hub.db)"
DEFAULT_CA_DIR = "/etc/hub/ca"
CONFIG_HELP = "the hub's settings file, TOML (default: /etc/hub/hub.toml when it exists, else the built-in defaults)"
DEFAULT_BROKER_DIR = "/etc/mosquitto/vax"


def parser() -> argparse.ArgumentParser:
    """The command line, one subcommand per job."""
    top = argparse.ArgumentParser(prog="hub", description="District hub: merge the kiosks' event streams, report.")
    top.add_argument("--version", action="version", version=f"hub {version()}")
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
    run.add_argument("--config", metavar="PATH", help=CONFIG_HELP + "; it issues the daily report at report.cutoff, and "
                     "province.acks says whether its kiosks also wait for the province")
    run.add_argument("--district", action="append", metavar="NAME", help="a province worker: merge this district's "
                     "kiosks from their prefixed topics (vax/d/NAME/k/...) and acknowledge there; repeat for several "
                     "(default: none, a district hub on the kiosks' own topics)")

    pki = argparse.ArgumentParser(add_help=False)
    pki.add_argument("--ca-dir", default=DEFAULT_CA_DIR, metavar="DIR", help=f"the district CA's folder (default: {DEFAULT_CA_DIR})")
    pki.add_argument("--broker-dir", default=DEFAULT_BROKER_DIR, metavar="DIR",
                     help=f"where the broker's ACL (acl) and CRL (crl.pem) are written (default: {DEFAULT_BROKER_DIR})")
    pki.add_argument("--reload-pid-file", metavar="PATH", help="then send SIGHUP to the Mosquitto whose pid this file holds "
                     "(default: none; installed hubs reload through hub-broker-reload.path)")

    ca = sub.add_parser("ca", help="the district CA: `hub ca init`")
    ca_verbs = ca.add_subparsers(dest="ca_command", required=True, metavar="ACTION")
    init = ca_verbs.add_parser("init", help="make the district CA (once) and the broker's certificate (ECDSA P-256)")
    init.add_argument("--dir", default=DEFAULT_CA_DIR, metavar="DIR", help=f"the CA's folder (default: {DEFAULT_CA_DIR})")
    init.add_argument("--name", metavar="NAME", help="the CA's name in its certificate, when it is made (default: vax "
                      "district CA; install-province.sh names the province's vax province CA)")
    init.add_argument("--tls-name", action="append", metavar="NAME", help="a host name or IP address kiosks use to reach the "
                      "broker, for its certificate; repeat for several (default: the names of the existing certificate)")

    enroll = sub.add_parser("enroll", parents=[database, as_json, pki], help="certify a kiosk's key from its CSR and let it in (re-keys an enrolled kiosk)")
    enroll.add_argument("kiosk", metavar="KIOSK", help="kiosk id: lower-case letters, digits and dashes (not `hub`)")
    enroll.add_argument("--site", required=True, metavar="SITE", help="the site the kiosk serves")
    enroll.add_argument("--csr", required=True, metavar="FILE", help="the CSR `kiosk identity new` printed on the kiosk ('-': stdin)")
    enroll.add_argument("--out", metavar="FILE", help="write the kiosk's certificate here (default: print it; the instructions go to stderr)")
    enroll.add_argument("--broker", metavar="URL", help="broker address to put in the kiosk.toml snippet")

    revoke = sub.add_parser("revoke", parents=[database, as_json, pki], help="revoke a kiosk's keys (lost or stolen Pi): the broker and the hub refuse it")
    revoke.add_argument("kiosk", metavar="KIOSK", help="kiosk id")
    revoke.add_argument("--reason", required=True, metavar="TEXT", help="why, for the record (e.g. 'stolen 2026-03-02, police report 123')")

    sub.add_parser("broker-files", parents=[database, pki], help="rewrite the broker's ACL and CRL from the database")

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
    add_staff_commands(sub, database, as_json)
    add_web_command(sub, database)

    roster = sub.add_parser("roster", help="the population list: `hub roster import`, `hub roster unrostered`, "
                                                   "`hub roster template`")
    roster_verbs = roster.add_subparsers(dest="roster_command", required=True, metavar="ACTION")
    load = roster_verbs.add_parser("import", parents=[database, as_json], help="import a roster file (CSV or XLSX): "
                                   "counts and every refused row; all of it or nothing")
    load.add_argument("file", metavar="FILE", help="the roster, .csv (UTF-8) or .xlsx (docs/roster.md has the columns)")
    load.add_argument("--district", metavar="NAME", help="at a province's hub (required there): the district the list "
                      "belongs to, one of the districts of `hub kiosks import`")
    unlisted = roster_verbs.add_parser("unrostered", parents=[database, as_json],
                                       help="people with a dose who are on no roster (ID numbers and names: for the data staff)")
    unlisted.add_argument("--limit", type=int, default=100, metavar="N", help="at most this many, by ID number (default: 100)")
    template = roster_verbs.add_parser("template", help="write the empty roster template")
    template.add_argument("--out", required=True, metavar="FILE", help="where: FILE.csv or FILE.xlsx")
    add_coverage_commands(sub, database, as_json)
    add_report_commands(sub, database, as_json, CONFIG_HELP)
    add_export_commands(sub, database, as_json)
    add_province_commands(sub, database, as_json, DEFAULT_CA_DIR)
    return top


ROLES = ("officer", "data", "admin")
RIGHTS = ("see_people",)
"""Rights an officer may be given beyond the role (`hub staff grant`); data staff and admins have them by their role."""


def add_staff_commands(sub, database: argparse.ArgumentParser, as_json: argparse.ArgumentParser) -> None:
    """`hub staff add|list|disable|password|grant|revoke`: the district workspace's accounts."""
    staff = sub.add_parser("staff", help="the district workspace's accounts: `hub staff add|list|disable|password|grant|revoke`")
    verbs = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    stdin = argparse.ArgumentParser(add_help=False)
    stdin.add_argument("--password-stdin", action="store_true", required=True,
                       help="read the password as one line on stdin (required: a password never goes on the command line)")
    add = verbs.add_parser("add", parents=[database, stdin], help="add an account")
    add.add_argument("name", metavar="NAME", help="the name the member signs in with (e.g. 'Nguyễn Thị Lan')")
    add.add_argument("--role", required=True, choices=ROLES, help="officer: counts and coverage; data: the data staff's "
                     "work on records; admin: accounts and the audit log")
    verbs.add_parser("list", parents=[database, as_json], help="list the accounts (never their passwords)")
    disable = verbs.add_parser("disable", parents=[database], help="disable an account and end its sessions")
    disable.add_argument("name", metavar="NAME", help="the account's name")
    password = verbs.add_parser("password", parents=[database, stdin], help="set a new password and end the account's sessions")
    password.add_argument("name", metavar="NAME", help="the account's name")
    for verb, says in (("grant", "give an officer a right beyond the role"), ("revoke", "take a right away")):
        right = verbs.add_parser(verb, parents=[database], help=f"{says} (see_people: see people's records)")
        right.add_argument("name", metavar="NAME", help="the account's name")
        right.add_argument("right", metavar="RIGHT", choices=RIGHTS, help="see_people: search and read people's records")


def add_web_command(sub, database: argparse.ArgumentParser) -> None:
    """`hub web`: the district workspace in a browser."""
    web = sub.add_parser("web", parents=[database], help="serve the district workspace (sign-in, what needs you today, audit)")
    web.add_argument("--host", default="127.0.0.1", metavar="ADDR", help="address to listen on (default: 127.0.0.1)")
    web.add_argument("--port", type=int, default=8443, metavar="N", help="port to listen on (default: 8443; 0: any free one)")
    web.add_argument("--tls-cert", metavar="PATH", help="serve HTTPS with this certificate chain (PEM), e.g. the one the "
                     "district CA issued for this host; with --tls-key")
    web.add_argument("--tls-key", metavar="PATH", help="the certificate's private key (PEM)")
    web.add_argument("--config", metavar="PATH", help=CONFIG_HELP)


def add_coverage_commands(sub, database: argparse.ArgumentParser, as_json: argparse.ArgumentParser) -> None:
    """`hub coverage`: coverage against the roster; `hub coverage outreach`, `hub coverage rebuild`."""
    day = argparse.ArgumentParser(add_help=False)
    day.add_argument("--as-of", metavar="YYYY-MM-DD", help="ages as on this day (default: today in Vietnam); the doses "
                     "are all those merged so far")
    coverage = sub.add_parser("coverage", parents=[as_json, day], help="coverage against the roster per commune, age band "
                              "and dose; `hub coverage outreach`, `hub coverage rebuild`")
    coverage.add_argument("--db", metavar="PATH", help=DEFAULT_DB_HELP + " (required)")
    coverage.add_argument("--commune", metavar="NAME", help="only this commune or ward, as the roster writes it")
    coverage.add_argument("--district", metavar="NAME", help="at a province's hub: only this district's communes")
    verbs = coverage.add_subparsers(dest="coverage_command", metavar="ACTION")
    outreach = verbs.add_parser("outreach", parents=[database, day], help="write a commune's outreach list (people not "
                                "vaccinated, or due or overdue for their next dose) as XLSX, with names: audited")
    outreach.add_argument("--commune", required=True, metavar="NAME", help="the commune or ward, as the roster writes it")
    outreach.add_argument("--district", metavar="NAME", help="at a province's hub: the commune's district (needed when "
                          "its name is in several)")
    outreach.add_argument("--out", required=True, metavar="FILE.xlsx", help="where to write the spreadsheet")
    rebuild = verbs.add_parser("rebuild", parents=[database], help="recompute the coverage tables from the roster and "
                               "the doses (after the vaccine catalogue changed)")
    rebuild.add_argument("--catalogue", metavar="PATH", help="vaccine catalogue TOML, the one `hub run` uses "
                         "(default: the packaged one)")


def add_export_commands(sub, database: argparse.ArgumentParser, as_json: argparse.ArgumentParser) -> None:
    """`hub export platform` (the national-platform line list of a day's doses), `hub export status` (its gauge)."""
    day = argparse.ArgumentParser(add_help=False)
    day.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the day the doses were given (Vietnam)")
    export = sub.add_parser("export", help="the national-platform export: `hub export platform`, `hub export status`")
    verbs = export.add_subparsers(dest="export_command", required=True, metavar="ACTION")
    platform = verbs.add_parser("platform", parents=[database, as_json, day], help="write the line list of the day's doses "
                                "not yet exported or changed since (names: audited) and mark them exported")
    platform.add_argument("--format", required=True, choices=("xlsx", "csv"), help="the file's format")
    platform.add_argument("--out", metavar="FILE", help="where to write it (default: tiem-chung-DAY-ID.FORMAT here)")
    platform.add_argument("--config", metavar="PATH", help=CONFIG_HELP + "; its export.mapping names the mapping file")
    verbs.add_parser("status", parents=[database, as_json, day], help="the same-day entry gauge: the day's doses per site, "
                     "exported, not exported, changed after export")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hub` console script; returns the exit status."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from . import commands  # here, so `hub --help` does not import paho and the store

    try:
        return commands.COMMANDS[args.command](args)
    except (HubError, ValueError, OSError) as exc:  # ValueError, OSError: bad arguments, unreadable files
        print(f"hub: {exc}", file=sys.stderr)
        return 2
