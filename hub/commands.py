"""What each `hub` subcommand does, given its parsed arguments; returns the exit status."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import wire

from . import broker_files, ca, credentials, enrollment, export_commands, passwords, province_commands
from .errors import StaffError
from .report_commands import report
from .store import reports
from .store.open import open_store

KIOSK_CERT_FILE = "/etc/kiosk/kiosk.crt"
KIOSK_CA_FILE = "/etc/kiosk/district-ca.crt"
"""Where the enrollment instructions put the kiosk's certificate and the district CA on the kiosk (hub.cert_file, hub.ca_file)."""


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True))


# -- run ----------------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """`hub run`: until SIGTERM or Ctrl-C."""
    from .config import load as load_config
    from .daily import CutoffWatch
    from .subscriber import Hub, RunSettings, install_signal_handlers, parse_broker

    if args.batch_max < 1 or args.batch_ms < 0:
        raise ValueError("--batch-max must be at least 1 and --batch-ms at least 0")
    if not args.stall_seconds > 0:
        raise ValueError("--stall-seconds must be more than 0")
    parse_broker(args.broker)  # a mistyped address must not leave a new, empty database behind
    districts = tuple(dict.fromkeys(wire.check_district(name) for name in args.district or ()))
    config = load_config(args.config)
    if districts and config.province.acks == "province":
        raise ValueError("--district makes a province worker; province.acks = \"province\" is for a district hub "
                         "whose kiosks also wait for the province")
    settings = RunSettings(
        broker=args.broker, db=args.db, client_id=args.client_id, username=args.username,
        password=credentials.hub_password(args.password), ca_file=args.ca_file, catalogue=args.catalogue,
        batch_ms=args.batch_ms, batch_max=args.batch_max, stall_seconds=args.stall_seconds, districts=districts,
        acks=config.province.acks,
    )
    report = config.report
    store = open_store(args.db, args.catalogue, worker=args.client_id)
    cutoff = CutoffWatch(lambda: open_store(args.db, args.catalogue, worker=args.client_id), report).start()
    try:
        hub = Hub(settings, store, say=lambda line: print(line, flush=True))
        install_signal_handlers(hub)
        hub.run()
    finally:
        cutoff.stop()
        store.close()
    return 0


# -- the district CA, enroll, revoke, passwd ---------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(timezone.utc)


def ca_init(args: argparse.Namespace) -> int:
    """`hub ca init`: the district CA (once) and the broker's certificate for the names kiosks use."""
    done = ca.init(args.dir, args.tls_name or [], now(), args.name or ca.CA_NAME)
    folder = done.folder
    named = ca.common_name(ca.load(folder).certificate.subject)
    print(f"hub: {'made' if done.made_ca else 'kept'} the CA \"{named}\" {folder / ca.CA_CERT} (its key "
          f"{folder / ca.CA_KEY} never leaves this folder)")
    state = "made" if done.made_server else "kept"
    print(f"hub: {state} the broker's certificate {folder / ca.SERVER_CERT} for {', '.join(done.names)}")
    if done.made_server and not done.made_ca:
        print("hub: copy it and server.key to the broker's folder and restart mosquitto (install-hub.sh does both)")
    return 0


def load_pki(args: argparse.Namespace):
    """The CA and the store the enrollment commands work on."""
    return ca.load(args.ca_dir), open_store(args.db)


def enroll(args: argparse.Namespace) -> int:
    """`hub enroll KIOSK --csr FILE`: certify the kiosk's key, register it, rewrite the broker's ACL and CRL."""
    authority, store = load_pki(args)
    try:
        csr = read_input(args.csr)
        done = enrollment.enroll(store, authority, args.kiosk, args.site, csr, args.broker_dir, now())
    finally:
        store.close()
    reloaded = reload_broker(args)
    if args.out:
        ca.write_public(Path(args.out), done.certificate.encode("ascii"))
    result = {
        "kiosk": done.kiosk, "site": done.site, "key_id": done.key_id, "serial": done.serial, "not_after": done.not_after,
        "re_keyed": done.re_keyed, "revoked_keys": done.revoked, "certificate_file": args.out, "certificate": done.certificate,
        "acl_file": str(done.files.acl), "crl_file": str(done.files.crl), "broker_reloaded": reloaded,
        "kiosk_toml": kiosk_toml(done.kiosk, args.broker),
    }
    if args.json:
        print_json(result)
        return 0
    if not args.out:
        sys.stdout.write(done.certificate)
    print_enrollment(result, sys.stdout if args.out else sys.stderr)
    return 0


def read_input(path: str) -> bytes:
    """The bytes of a file, or of stdin for '-'."""
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


def reload_broker(args: argparse.Namespace) -> int | None:
    """SIGHUP to the broker when --reload-pid-file names it; the pid signalled, or None."""
    return broker_files.reload(args.reload_pid_file) if args.reload_pid_file else None


def kiosk_toml(kiosk: str, broker: str | None) -> str:
    """The lines of kiosk.toml that name the kiosk, its broker and its certificate (the key stays in the credential kiosk-key)."""
    return (f'[kiosk]\nid = "{kiosk}"\n\n[hub]\nbroker = "{broker or "mqtts://HUB-ADDRESS:8883"}"\n'
            f'ca_file = "{KIOSK_CA_FILE}"\ncert_file = "{KIOSK_CERT_FILE}"\n')


def print_enrollment(result: dict[str, Any], out) -> None:
    say = lambda line="": print(line, file=out)  # noqa: E731
    what = "re-keyed" if result["re_keyed"] else "enrolled"
    say(f"hub: {what} kiosk {result['kiosk']} at site {result['site']}: key {result['key_id']}, certificate serial "
        f"{result['serial']}, valid until {result['not_after'][:10]}")
    if result["revoked_keys"]:
        say(f"hub: revoked its previous keys {', '.join(result['revoked_keys'])}: the broker refuses them, the hub too")
    say(f"hub: wrote the broker's ACL {result['acl_file']} and CRL {result['crl_file']}; " + (
        f"sent the broker (pid {result['broker_reloaded']}) SIGHUP" if result["broker_reloaded"]
        else "the broker reads them on reload (hub-broker-reload.path does it; by hand: sudo systemctl reload mosquitto)"))
    where = result["certificate_file"] or "the certificate printed above"
    say(f"\nOn the kiosk: copy {where} to {KIOSK_CERT_FILE}, the district CA's ca.crt to {KIOSK_CA_FILE},")
    say("put these lines in /etc/kiosk/kiosk.toml, then: sudo systemctl restart kiosk-publish\n")
    say("".join(f"  {line}\n" if line else "\n" for line in result["kiosk_toml"].splitlines()).rstrip("\n"))


def revoke(args: argparse.Namespace) -> int:
    """`hub revoke KIOSK --reason TEXT`: revoke its keys; the rewritten ACL and CRL shut it out of the broker."""
    authority, store = load_pki(args)
    try:
        done = enrollment.revoke(store, authority, args.kiosk, args.reason, args.broker_dir, now())
    finally:
        store.close()
    reloaded = reload_broker(args)
    if args.json:
        print_json({"kiosk": done.kiosk, "revoked_keys": done.revoked, "acl_file": str(done.files.acl),
                    "crl_file": str(done.files.crl), "broker_reloaded": reloaded})
        return 0
    keys = ", ".join(done.revoked) if done.revoked else "none left to revoke (already revoked)"
    print(f"hub: kiosk {done.kiosk}: revoked keys: {keys}. The hub refuses its events from now on.")
    print(f"hub: wrote the broker's ACL {done.files.acl} (no lines for {done.kiosk}) and CRL {done.files.crl} "
          f"({done.files.revoked} certificates revoked)")
    print(f"hub: sent the broker (pid {reloaded}) SIGHUP" if reloaded else
          "hub: the broker reads them on reload (hub-broker-reload.path does it; by hand: sudo systemctl reload mosquitto)")
    print(f"hub: to bring the kiosk back with a new key: `kiosk identity new --force` on it, then `hub enroll {done.kiosk} --csr`")
    return 0


def write_broker_files(args: argparse.Namespace) -> int:
    """`hub broker-files`: rewrite the broker's ACL and CRL from the database (after a restore, or on install)."""
    authority, store = load_pki(args)
    try:
        files = broker_files.write(store, args.broker_dir, authority, now())
    finally:
        store.close()
    reloaded = reload_broker(args)
    print(f"hub: wrote {files.acl} ({files.kiosks} kiosks let in) and {files.crl} ({files.revoked} certificates revoked)"
          + (f"; sent the broker (pid {reloaded}) SIGHUP" if reloaded else ""))
    return 0


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
    print(f"  open {conflicts.get('open', 0)}, awaiting police {conflicts.get('police', 0)}, "
          f"resolved {conflicts.get('resolved', 0)}")
    print(f"corrections  {sum(figures.get('corrections', {}).values())}{breakdown(figures.get('corrections', {}))}")
    print(f"merging      {figures.get('merging', {}).get('summary', '-')}")
    columns = ["kiosk", "site", "enrolled", "watermark", "highest", "missing", "duplicates", "refused", "disputed", "status",
               "last_seen", "backlog", "clock_skew_s"]
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


# -- the district workspace's accounts ----------------------------------------------------------------------------------


def staff(args: argparse.Namespace) -> int:
    """`hub staff add|list|disable|password|grant|revoke`."""
    store = open_store(args.db)
    try:
        return STAFF_COMMANDS[args.staff_command](args, store)
    finally:
        store.close()


def read_password(name: str) -> str:
    """The password on stdin's first line, checked against the rules (hub/passwords.py); raise PasswordRuleError."""
    return passwords.check_password(sys.stdin.readline().rstrip("\r\n"), name)


def staff_add(args: argparse.Namespace, store) -> int:
    name = passwords.check_name(args.name)
    hashed = passwords.hash_password(read_password(name))
    member = store.add_staff(name, args.role, hashed, now())
    store.audit(None, "staff_add", f"staff:{member.id}", None, now())
    print(f"hub: added {member.name} ({member.role}); they sign in to the workspace with this name and the password given")
    return 0


def staff_list(args: argparse.Namespace, store) -> int:
    rows = [{"id": m.id, "name": m.name, "role": m.role, "rights": m.rights.split(), "created_at": m.created_at,
             "disabled_at": m.disabled_at} for m in store.list_staff()]
    if args.json:
        print_json(rows)
    elif rows:
        print_table([{**row, "rights": " ".join(row["rights"])} for row in rows], ["id", "name", "role", "rights", "created_at", "disabled_at"])
    else:
        print("no accounts yet: hub staff add NAME --role admin --password-stdin --db PATH")
    return 0


def staff_disable(args: argparse.Namespace, store) -> int:
    member = store.disable_staff(args.name, now())
    store.audit(None, "staff_disable", f"staff:{member.id}", None, now())
    print(f"hub: disabled {member.name}; their sessions are over")
    return 0


def staff_password(args: argparse.Namespace, store) -> int:
    member = store.staff_named(args.name)
    if member is None:
        raise StaffError(f"no account named {args.name!r}")
    store.set_staff_password(member.id, passwords.hash_password(read_password(member.name)), now())
    store.audit(None, "staff_password", f"staff:{member.id}", None, now())
    print(f"hub: new password for {member.name}; their sessions are over")
    return 0


def staff_grant(args: argparse.Namespace, store) -> int:
    """Give an officer a right (data staff and admins have every right by their role)."""
    member = store.staff_named(args.name)
    if member is not None and member.role != "officer":
        raise StaffError(f"{member.name} is {member.role}: that role has {args.right} already; rights are for officers")
    member = store.grant_right(args.name, args.right, now())
    store.audit(None, "staff_grant", f"staff:{member.id}", None, now())
    print(f"hub: {member.name} has {args.right} now (from their next page)")
    return 0


def staff_revoke(args: argparse.Namespace, store) -> int:
    member = store.revoke_right(args.name, args.right, now())
    store.audit(None, "staff_revoke", f"staff:{member.id}", None, now())
    print(f"hub: {member.name} no longer has {args.right} (from their next page)")
    return 0


STAFF_COMMANDS = {"add": staff_add, "list": staff_list, "disable": staff_disable, "password": staff_password}
STAFF_COMMANDS.update(grant=staff_grant, revoke=staff_revoke)


def web(args: argparse.Namespace) -> int:
    """`hub web`: the district workspace, until SIGTERM or Ctrl-C."""
    from .web.part import serve_workspace

    from .config import load

    serve_workspace(args.db, args.host, args.port, tls=(args.tls_cert, args.tls_key), config=load(args.config))
    return 0


# -- the roster ---------------------------------------------------------------------------------------------------------


def roster(args: argparse.Namespace) -> int:
    """`hub roster import FILE` / `hub roster unrostered` / `hub roster template --out FILE`."""
    verbs = {"import": roster_import, "unrostered": roster_unrostered, "template": roster_template}
    return verbs[args.roster_command](args)


def roster_unrostered(args: argparse.Namespace) -> int:
    """`hub roster unrostered`: the people vaccinated here whom no roster lists (they live elsewhere, or a list is
    incomplete); personal data, printed for the data staff on the hub machine only."""
    store = open_store(args.db)
    try:
        people = store.unrostered(max(1, args.limit))
    finally:
        store.close()
    if args.json:
        print_json(people)
    elif people:
        print_table(people, ["id_number", "full_name", "birth_date", "sex", "doses", "last_dose_on"])
    else:
        print("everyone vaccinated here is on a roster")
    return 0


def roster_import(args: argparse.Namespace) -> int:
    """Check the file (RosterFileError, exit 2, when it cannot be read at all), import it, print counts and refusals."""
    from getpass import getuser

    from .errors import RosterFileError
    from .roster.district import import_district
    from .roster.files import read_roster
    from .roster.reasons import FILE_REASONS, ROW_REASONS

    try:
        parsed = read_roster(args.file, now().date())
    except RosterFileError as exc:
        if not args.json:
            raise
        print_json({"error": exc.code, "message": str(exc), "vi": FILE_REASONS[exc.code][0], "en": FILE_REASONS[exc.code][1]})
        return 2
    store = open_store(args.db)
    try:
        parsed = parsed.in_district(import_district(args.district, store.district_names()))
        done = store.import_roster(parsed, Path(args.file).name, getuser(), now().isoformat(timespec="seconds"))
    finally:
        store.close()
    refused = [{"row": r.row, "reason": r.reason, "id_number": r.id_number, "en": ROW_REASONS[r.reason][1],
                "vi": ROW_REASONS[r.reason][0]} for r in parsed.refused]
    counts = {key: getattr(done, key) for key in ("import_id", "file_name", "rows", "added", "changed", "unchanged",
                                                  "rejected", "conflicts")}
    if args.json:
        print_json({**counts, "refused": refused})
        return 0
    print(f"hub: imported {done.file_name} (import {done.import_id}): {done.rows} rows, {done.added} added, "
          f"{done.changed} changed, {done.unchanged} unchanged, {done.rejected} rejected; "
          f"{done.conflicts} roster_mismatch conflicts")
    for row in refused:
        print(f"row {row['row']}: {row['reason']}: {row['en']}")
    return 0


def roster_template(args: argparse.Namespace) -> int:
    from .roster.template import template

    out = Path(args.out)
    out.write_bytes(template(out.suffix))
    print(f"hub: wrote the roster template {out}")
    return 0


# -- coverage against the roster ----------------------------------------------------------------------------------------


def coverage(args: argparse.Namespace) -> int:
    """`hub coverage` (the table), `hub coverage outreach` (a commune's list as XLSX), `hub coverage rebuild`."""
    if args.coverage_command == "outreach":
        return coverage_outreach(args)
    if args.coverage_command == "rebuild":
        return coverage_rebuild(args)
    if not args.db:
        raise ValueError("hub coverage needs --db PATH")
    store = open_store(args.db)
    try:
        if args.district is not None and args.district not in store.district_names():
            raise ValueError(f"--district {args.district!r}: this hub has no kiosks of that district")
        report = store.coverage(as_of(args.as_of), args.commune, args.district)
    finally:
        store.close()
    if args.commune and not report["communes"][0]["total"]["roster"] and not report["communes"][0]["under_5"]:
        raise ValueError(f"no one on the roster in the commune {args.commune!r}")
    if args.json:
        print_json(report)
    else:
        print_coverage(report)
    return 0


def as_of(text: str | None):
    """The day asked for (YYYY-MM-DD), or today in Vietnam; raise ValueError for another form."""
    from datetime import date

    from .district_time import local_day

    if text is None:
        return local_day(now())
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--as-of {text!r}: expected a day as YYYY-MM-DD") from None


def print_coverage(report: dict[str, Any]) -> None:
    """One line per commune and band (and the totals'), each level's count and percentage of the roster; at a province,
    each commune's district."""
    from .coverage import LEVELS

    lines = []
    districts = any(place["district"] for place in report["communes"])
    scope = "(province)" if districts and report["only_district"] is None else "(district)"
    whole = {**report["district"], "district": report["only_district"] or "", "commune": scope}
    for place in [*report["communes"], whole] if not report["commune"] else report["communes"]:
        for cell in [*place["bands"], place["total"]]:
            line = {"district": place["district"]} if districts else {}
            line.update(commune=place["commune"], band=cell["band"], roster=cell["roster"])
            for name in LEVELS:
                percent = cell[name]["percent"]
                line[name] = f"{cell[name]['count']} ({percent:.1f}%)" if percent is not None else str(cell[name]["count"])
            lines.append(line)
    print(f"coverage as of {report['as_of']} (ages on that day, every dose merged so far)")
    print_table(lines, [*(["district"] if districts else []), "commune", "band", "roster", *LEVELS])


def coverage_outreach(args: argparse.Namespace) -> int:
    """Write the commune's outreach list (names: the audit log keeps a line, without them)."""
    from .coverage import commune_key, outreach_workbook

    day = as_of(args.as_of)
    store = open_store(args.db)
    try:
        found = [place for place in store.coverage_communes(args.district) if place[1] == args.commune]
        if not found:
            raise ValueError(f"no one on the roster in the commune {args.commune!r}")
        if len(found) > 1:
            raise ValueError(f"the commune {args.commune!r} is in the districts {', '.join(d for d, _ in found)}: say "
                             f"which with --district")
        (district, _), = found
        total, rows = store.outreach(args.commune, day, district=district)
        Path(args.out).write_bytes(outreach_workbook(args.commune, day, rows))
        store.audit(None, "outreach_export", f"commune:{commune_key(args.commune, district)}", None, now())
    finally:
        store.close()
    print(f"hub: wrote {args.out}: {total} people of {args.commune} to reach as of {day.isoformat()}")
    return 0


def coverage_rebuild(args: argparse.Namespace) -> int:
    store = open_store(args.db, args.catalogue)
    try:
        people = store.rebuild_coverage()
    finally:
        store.close()
    print(f"hub: coverage rebuilt for {people} people on the roster")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": run, "staff": staff, "web": web, "roster": roster, "ca": ca_init, "enroll": enroll, "revoke": revoke,
    "broker-files": write_broker_files, "passwd": passwd, "stats": stats, "quarantine": quarantine, "conflicts": conflicts,
    "coverage": coverage, "report": report, "export": export_commands.export, "kiosks": province_commands.kiosks,
    "bridge-config": province_commands.bridge_config, "bridge-csr": province_commands.bridge_csr,
    "bridge-cert": province_commands.bridge_cert, "bridge-revoke": province_commands.bridge_revoke,
    "bridge-crl": province_commands.bridge_crl,
    "province-acl": province_commands.province_acl,
}
