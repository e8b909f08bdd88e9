"""The `kiosk` command: run, scan, web, publish, decode, doctor, check-config, staff, identity."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time

from daemon import version
from vaccines.errors import VaccinesError

from . import config as configuration
from .errors import KioskError


def parser() -> argparse.ArgumentParser:
    """The command line, one subcommand per job."""
    top = argparse.ArgumentParser(prog="kiosk", description="Vaccination-site kiosk: scan, check in, queue.")
    top.add_argument("--version", action="version", version=f"kiosk {version()}")
    top.add_argument("--config", metavar="PATH", help="TOML settings file (default: $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml if present)")
    top.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="how much to log")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    camera = argparse.ArgumentParser(add_help=False)
    camera.add_argument("--camera", metavar="SPEC", help="auto, picamera2, usb:N or replay:PATH (camera.source)")
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--db", metavar="PATH", help="database file (kiosk.db)")
    screen = argparse.ArgumentParser(add_help=False)
    screen.add_argument("--host", metavar="ADDR", help="address the screen listens on (web.host)")
    screen.add_argument("--port", type=int, metavar="N", help="port of the screen; 0 picks a free one (web.port)")
    broker = argparse.ArgumentParser(add_help=False)
    broker.add_argument("--broker", metavar="URL", help="the district broker, mqtt://HOST:PORT or mqtts://HOST:PORT (hub.broker)")
    sub.add_parser(
        "run", parents=[camera, database, screen, broker], help="run the scanner, the screens and (with a broker) the publisher in one process (development, demo)"
    )
    sub.add_parser("scan", parents=[camera, database], help="run the scanner alone (production: kiosk-scan.service)")
    sub.add_parser("web", parents=[database, screen], help="run the screens and the API alone (production: kiosk-web.service)")
    sub.add_parser("publish", parents=[database, broker], help="send the outbox to the district hub over MQTT (production: kiosk-publish.service)")

    decode = sub.add_parser("decode", help="decode QR codes in image files")
    decode.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG or WebP files")
    decode.add_argument("--json", action="store_true", help="one JSON line per file")
    decode.add_argument("--decoder", metavar="NAME", help="decoder backend (scanner.decoder)")

    doctor = sub.add_parser("doctor", help="check camera, decoder, database, disk and clock")
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")

    sub.add_parser("check-config", help="validate the settings and print them (secrets hidden)")
    add_staff_parser(sub)
    add_identity_parser(sub)
    return top


def add_identity_parser(sub) -> None:
    """`kiosk identity new|csr|show`: the kiosk's key, its certificate signing request, its certificate."""
    key = argparse.ArgumentParser(add_help=False)
    key.add_argument("--key", metavar="PATH", help="the key file (default: hub.key_file, else /etc/kiosk/credentials/kiosk-key)")
    csr = argparse.ArgumentParser(add_help=False)
    csr.add_argument("--csr", metavar="PATH", help="write the certificate signing request here (default: print it)")
    identity = sub.add_parser("identity", help="the kiosk's key and certificate: make the key and the CSR for `hub enroll`, show them")
    verbs = identity.add_subparsers(dest="identity_command", required=True, metavar="ACTION")
    new = verbs.add_parser("new", parents=[key, csr], help="make the kiosk's key (P-256, mode 0600) and print its CSR for `hub enroll --csr`")
    new.add_argument("--force", action="store_true", help="replace a key that is already there (the kiosk then needs a new certificate)")
    verbs.add_parser("csr", parents=[key, csr], help="print a new CSR for the existing key (to renew its certificate)")
    show = verbs.add_parser("show", parents=[key], help="the key id; the certificate's subject, issuer, serial, validity and whether it matches")
    show.add_argument("--json", action="store_true", help="print JSON")


def add_staff_parser(sub) -> None:
    """`kiosk staff add|list|disable|enable|pin`: who may sign in to the staff screens."""
    from .queue.staff import ROLES

    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", metavar="PATH", help="database file (kiosk.db)")
    pin = argparse.ArgumentParser(add_help=False)
    pin.add_argument("--pin-stdin", action="store_true", help="read the PIN as one line from stdin instead of asking twice")
    staff = sub.add_parser("staff", help="add, list, disable and enable staff, change PINs")
    verbs = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    add = verbs.add_parser("add", parents=[db, pin], help="add a staff member with a PIN")
    add.add_argument("name", metavar="NAME", help="the name shown on the sign-in screen")
    add.add_argument("--role", required=True, choices=ROLES, help="what the member may do")
    listing = verbs.add_parser("list", parents=[db], help="list staff members")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    for verb, text in (("disable", "stop a member signing in (signs them out)"), ("enable", "let a disabled member sign in again")):
        verbs.add_parser(verb, parents=[db], help=text).add_argument("name", metavar="NAME")
    verbs.add_parser("pin", parents=[db, pin], help="give a member a new PIN").add_argument("name", metavar="NAME")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `kiosk` console script; returns the exit status."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = configuration.load(args.config)
        return COMMANDS[args.command](config, args)
    except (KioskError, VaccinesError) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2


def with_overrides(config: configuration.Config, args: argparse.Namespace) -> configuration.Config:
    """Apply the command-line flags that override settings (--camera, --db, --host, --port, --broker)."""
    overrides = {
        "camera": {"source": getattr(args, "camera", None)},
        "kiosk": {"db": getattr(args, "db", None)},
        "web": {"host": getattr(args, "host", None), "port": getattr(args, "port", None)},
        "hub": {"broker": getattr(args, "broker", None)},
    }
    for section, values in overrides.items():
        given = {key: value for key, value in values.items() if value is not None}
        if given:
            config = config.replace(section, **given)
    return config


def cmd_run(config: configuration.Config, args: argparse.Namespace) -> int:
    from .runtime import Kiosk, PublishService, ScanService, WebService

    service = {"run": Kiosk, "scan": ScanService, "web": WebService, "publish": PublishService}[args.command]
    service(with_overrides(config, args)).serve(on_ready=lambda line: print(line, flush=True))
    return 0


def cmd_decode(config: configuration.Config, args: argparse.Namespace) -> int:
    from .decode import load_gray, make_decoder

    decoder = make_decoder(args.decoder or config.scanner.decoder, budget_ms=config.scanner.budget_ms)
    failed = False
    for path in args.images:
        try:
            gray = load_gray(path)
        except KioskError as exc:
            failed = True
            report_failure(path, exc, args.json)
            continue
        started = time.perf_counter()
        codes = decoder.decode(gray)
        ms = (time.perf_counter() - started) * 1000
        report_codes(path, codes, ms, args.json)
    return 1 if failed else 0


def describe(code) -> dict:
    """A decoded code as `kiosk decode --json` prints it: text, kind and, when rejected, the reason."""
    from .errors import PayloadRejected
    from .payloads import parse_payload

    try:
        card = parse_payload(code.raw)
    except PayloadRejected as exc:
        return {"text": code.text, "kind": "unknown", "reason": exc.reason}
    return {"text": code.text, "kind": card.kind, "warnings": [w.code for w in card.warnings]}


def report_codes(path: str, codes, ms: float, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"file": path, "codes": [describe(c) for c in codes], "ms": round(ms, 2)}, ensure_ascii=False))
        return
    if not codes:
        print(f"{path}: no QR code found ({ms:.1f} ms)")
    for code in codes:
        print(f"{path}: [{describe(code)['kind']}] {code.text}")


def report_failure(path: str, exc: Exception, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"file": path, "codes": [], "error": str(exc)}, ensure_ascii=False))
    else:
        print(f"{path}: {exc}", file=sys.stderr)


def cmd_doctor(config: configuration.Config, args: argparse.Namespace) -> int:
    from .doctor import run_checks

    checks = run_checks(config)
    if args.json:
        print(json.dumps([c.__dict__ for c in checks], ensure_ascii=False))
    else:
        for check in checks:
            print(f"{'ok  ' if check.ok else 'FAIL'} {check.name:9} {check.detail}")
    return 0 if all(c.ok for c in checks) else 1


def cmd_check_config(config: configuration.Config, args: argparse.Namespace) -> int:
    for dotted in configuration.documented_keys():
        section, key = dotted.split(".")
        value = getattr(getattr(config, section), key)
        shown = "(set)" if (section, key) in configuration.SECRETS and value else json.dumps(value)
        print(f"{dotted} = {shown}")
    return 0


def cmd_staff(config: configuration.Config, args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from .queue import staff
    from .queue.store import Store

    store = Store(args.db or config.kiosk.db)
    try:
        if args.staff_command == "add":
            member = staff.add_staff(store, args.name, args.role, read_pin(args.pin_stdin), datetime.now(timezone.utc))
            print(f"added {member.role} {member.name} (id {member.id})")
        elif args.staff_command == "list":
            print_staff(staff.list_staff(store, active_only=False), args.json)
        elif args.staff_command == "pin":
            member = staff.set_pin(store, args.name, read_pin(args.pin_stdin))
            print(f"new PIN set for {member.name}")
        else:
            member = staff.set_active(store, args.name, args.staff_command == "enable")
            print(f"{args.staff_command}d {member.name}")
    finally:
        store.close()
    return 0


def read_pin(from_stdin: bool) -> str:
    """The new PIN: one line of stdin, or typed twice at the terminal without echo."""
    from getpass import getpass

    from .errors import StaffError

    if from_stdin:
        return sys.stdin.readline().strip()
    first = getpass("PIN (4 to 8 digits): ")
    if getpass("The same PIN again: ") != first:
        raise StaffError("the two PINs differ; nothing was changed")
    return first


def print_staff(members, as_json: bool) -> None:
    if as_json:
        print(json.dumps([dataclasses.asdict(m) for m in members], ensure_ascii=False))
        return
    for m in members:
        print(f"{m.id:4}  {m.role:10}  {'active' if m.active else 'disabled':8}  {m.name}")


def cmd_identity(config: configuration.Config, args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import identity

    path = identity.key_path(config, args.key)
    if args.identity_command == "show":
        return show_identity(config, path, args.json)
    if args.identity_command == "new":
        key = identity.new_key(path, force=args.force)
        print(f"kiosk: made the key {path} (key id {identity.signature.key_id(key.public_key())})", file=sys.stderr)
    else:
        key = identity.load_key(path)
    request = identity.csr_pem(key, config.kiosk.id)
    if args.csr:
        Path(args.csr).write_bytes(request)
        print(f"kiosk: wrote the CSR for kiosk {config.kiosk.id} to {args.csr}", file=sys.stderr)
    else:
        sys.stdout.write(request.decode("ascii"))
    print(f"kiosk: at the hub: hub enroll {config.kiosk.id} --site SITE --csr FILE  (FILE: this CSR, copied there)", file=sys.stderr)
    return 0


def show_identity(config: configuration.Config, path, as_json: bool) -> int:
    """`kiosk identity show`: the key id, and the certificate (hub.cert_file) when there is one."""
    from . import identity

    key = identity.load_key(path)
    shown = {"kiosk": config.kiosk.id, "key_file": str(path), "key_id": identity.signature.key_id(key.public_key()),
             "cert_file": config.hub.cert_file or None, "ca_file": config.hub.ca_file or None}
    if config.hub.cert_file:
        cert = identity.inspect(identity.load_certificate(config.hub.cert_file), key)
        shown.update(subject=cert.subject, issuer=cert.issuer, serial=cert.serial, not_before=cert.not_before.isoformat(),
                     not_after=cert.not_after.isoformat(), matches_key=cert.matches_key)
    found = identity.problems(config.replace("hub", key_file=str(path)), identity.utc_now())
    shown["problems"] = found
    if as_json:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        for name, value in shown.items():
            if name != "problems" and value is not None:
                print(f"{name:11} {cell(value)}")
        for line in found:
            print(f"problem     {line}")
    return 1 if found else 0


def cell(value) -> str:
    return "yes" if value is True else "no" if value is False else str(value)


COMMANDS = {"run": cmd_run, "scan": cmd_run, "web": cmd_run, "publish": cmd_run, "decode": cmd_decode, "doctor": cmd_doctor, "check-config": cmd_check_config, "staff": cmd_staff, "identity": cmd_identity}
