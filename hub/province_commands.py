"""The province tier's commands (docs/province.md): `hub kiosks export`, `hub kiosks import`, `hub bridge-config`,
`hub bridge-csr`, `hub bridge-cert`, `hub bridge-revoke`, `hub bridge-crl`, `hub province-acl`.

The store is imported when a command runs, so that `hub --help` stays light."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path


def add_province_commands(sub, database: argparse.ArgumentParser, as_json: argparse.ArgumentParser, ca_dir: str) -> None:
    """`hub kiosks export|import`, `hub bridge-config`, `hub bridge-csr`, `hub bridge-cert`, `hub bridge-revoke`,
    `hub bridge-crl`, `hub province-acl`."""
    kiosks = sub.add_parser("kiosks", help="a district's kiosks for its province: `hub kiosks export`, `hub kiosks import`")
    verbs = kiosks.add_subparsers(dest="kiosks_command", required=True, metavar="ACTION")
    out = verbs.add_parser("export", parents=[database], help="write the enrolled kiosks, their keys, certificates and "
                           "revocations as JSON for the province (no personal data)")
    out.add_argument("--out", metavar="FILE", help="write it here (default: print it)")
    load = verbs.add_parser("import", parents=[database, as_json], help="enroll a district's kiosks from its export, for "
                            "that district (idempotent: run it again after each enrollment or revocation there)")
    load.add_argument("file", metavar="FILE", help="the district's `hub kiosks export` ('-': stdin)")
    load.add_argument("--district", required=True, metavar="NAME", help="the district the file comes from, as its "
                      "bridge names it (vax/d/NAME/...)")
    bridge = sub.add_parser("bridge-config", help="write the district broker's Mosquitto bridge to the province broker")
    bridge.add_argument("--district", required=True, metavar="NAME", help="this district's name on the province broker "
                        "(lower-case letters, digits, dashes)")
    bridge.add_argument("--province", required=True, metavar="URL", help="the province broker: mqtts://host:8883 "
                        "(or mqtt://host:1883)")
    bridge.add_argument("--ca-file", metavar="PATH", help="CA certificate to check the province broker's (mqtts://; "
                        "default: the system's CAs)")
    bridge.add_argument("--cert-file", metavar="PATH", help="the bridge's client certificate for the province broker, "
                        "with --key-file")
    bridge.add_argument("--key-file", metavar="PATH", help="its private key")
    bridge.add_argument("--out", metavar="FILE", help="write it here, e.g. /etc/mosquitto/conf.d/province.conf "
                        "(default: print it)")
    add_bridge_certificate_commands(sub, ca_dir)
    acl = sub.add_parser("province-acl", parents=[database], help="write the province broker's ACL: each district's "
                         "bridge (from the districts `hub kiosks import` filled) and each province worker")
    acl.add_argument("--worker", action="append", required=True, metavar="ID", help="a province worker's --client-id "
                     "(its broker user); repeat for each")
    acl.add_argument("--out", metavar="FILE", help="write it here, e.g. /etc/mosquitto/province/acl (default: print it); "
                     "Mosquitto reads it again on reload (SIGHUP; hub-broker-reload.path does it)")


def add_bridge_certificate_commands(sub, ca_dir: str) -> None:
    """`hub bridge-csr` (at the district) and `hub bridge-cert` (at the province): the bridge's client certificate."""
    csr = sub.add_parser("bridge-csr", help="make the bridge's key (once; it never leaves the district) and its CSR for "
                         "the province's CA")
    csr.add_argument("--district", required=True, metavar="NAME", help="this district's name on the province broker "
                     "(the CSR's CN is bridge-NAME)")
    csr.add_argument("--key-out", required=True, metavar="FILE", help="the bridge's private key, mode 0600, e.g. "
                     "/etc/mosquitto/certs/bridge.key (kept when it exists: the CSR is then for that key)")
    csr.add_argument("--csr-out", metavar="FILE", help="write the CSR here (default: print it)")
    province_ca = argparse.ArgumentParser(add_help=False)
    province_ca.add_argument("--ca-dir", default=ca_dir, metavar="DIR", help=f"the province's CA folder (`hub ca init`; "
                             f"default: {ca_dir}), where it records the bridges' certificates")
    cert = sub.add_parser("bridge-cert", parents=[province_ca], help="at the province: certify a district bridge's key "
                          "from its CSR with the province's CA, and record it")
    cert.add_argument("--csr", required=True, metavar="FILE", help="the CSR `hub bridge-csr` made at the district "
                      "('-': stdin)")
    cert.add_argument("--district", required=True, metavar="NAME", help="the district it is for: the CSR must name "
                      "bridge-NAME")
    cert.add_argument("--out", metavar="FILE", help="write the certificate here (default: print it)")
    add_bridge_revocation_commands(sub, province_ca)


def add_bridge_revocation_commands(sub, province_ca: argparse.ArgumentParser) -> None:
    """`hub bridge-revoke` and `hub bridge-crl` (at the province): a district's bridge shut out, the broker's CRL."""
    revoke = sub.add_parser("bridge-revoke", parents=[province_ca], help="at the province: revoke every certificate of "
                            "a district's bridge (a stolen district machine) and rewrite the province broker's CRL")
    revoke.add_argument("--district", required=True, metavar="NAME", help="the district whose bridge is shut out")
    revoke.add_argument("--crl-out", required=True, metavar="FILE", help="the province broker's CRL, e.g. "
                        "/etc/mosquitto/province/crl.pem (the province broker restarts when it changes, cutting the bridge)")
    crl = sub.add_parser("bridge-crl", parents=[province_ca], help="at the province: rewrite the province broker's CRL "
                         "from the CA's record (on install, after a restore)")
    crl.add_argument("--out", required=True, metavar="FILE", help="e.g. /etc/mosquitto/province/crl.pem")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def kiosks(args: argparse.Namespace) -> int:
    """`hub kiosks export` / `hub kiosks import`."""
    return {"export": kiosks_export, "import": kiosks_import}[args.kiosks_command](args)


def bridge_config(args: argparse.Namespace) -> int:
    """`hub bridge-config`: the district broker's bridge lines, printed or written for its conf.d."""
    from .bridge import BridgeSettings, config

    text = config(BridgeSettings(args.district, args.province, args.ca_file, args.cert_file, args.key_file))
    done = emit(text, args.out, f"the bridge province-{args.district}")
    if args.out:
        print("hub: restart mosquitto to start it", file=sys.stderr)
    return done


def bridge_csr(args: argparse.Namespace) -> int:
    """`hub bridge-csr`: the bridge's key, made once with mode 0600 at the district, and the CSR the province certifies."""
    from wire import signature

    from . import ca
    from .bridge import bridge_user

    user, key_file = bridge_user(args.district), Path(args.key_out)
    made = not key_file.exists()
    if made:
        ca.write_private(key_file, signature.private_pem(signature.generate_key()))
    key = signature.load_private_key(key_file)
    print(f"hub: {'made' if made else 'kept'} the bridge's key {key_file} (it never leaves this machine); send the CSR to "
          f"the province for `hub bridge-cert --district {args.district}`", file=sys.stderr)
    return emit(ca.make_csr(key, user).decode("ascii"), args.csr_out, f"the CSR of {user}")


def bridge_cert(args: argparse.Namespace) -> int:
    """`hub bridge-cert`: the province's CA certifies a district bridge's key, CN bridge-<district>, and records it."""
    from . import bridge_certificates, ca

    authority = ca.load(args.ca_dir)
    data = sys.stdin.buffer.read() if args.csr == "-" else Path(args.csr).read_bytes()
    csr = ca.read_csr(data, args.csr, "`hub bridge-csr`")
    certificate = bridge_certificates.certify(authority, csr, args.district, datetime.now(timezone.utc))
    print(f"hub: certified {ca.common_name(certificate.subject)} until {certificate.not_valid_after_utc:%Y-%m-%d}; send it "
          f"and {authority.folder / ca.CA_CERT} to the district (`hub bridge-config --cert-file --ca-file`)", file=sys.stderr)
    return emit(ca.pem(certificate).decode("ascii"), args.out, "the certificate")


def bridge_revoke(args: argparse.Namespace) -> int:
    """`hub bridge-revoke`: revoke the district bridge's certificates and rewrite the CRL that shuts them out."""
    from . import bridge_certificates, ca

    authority = ca.load(args.ca_dir)
    revoked = bridge_certificates.revoke(authority, args.district, datetime.now(timezone.utc))
    serials = ", ".join(entry.serial for entry in revoked) or "none left to revoke (already revoked)"
    print(f"hub: district {args.district}: revoked bridge certificates: {serials}", file=sys.stderr)
    write_crl(authority, args.crl_out)
    print(f"hub: the province broker restarts by itself when the CRL changes (hub-broker-restart.path), which cuts a "
          f"connection the revoked bridge holds; elsewhere: systemctl restart mosquitto. To let the "
          f"district in again: a new key at its rebuilt machine (`hub bridge-csr --district {args.district}` after "
          f"deleting the old key), then `hub bridge-cert --district {args.district}` here", file=sys.stderr)
    return 0


def bridge_crl(args: argparse.Namespace) -> int:
    """`hub bridge-crl`: the province broker's CRL, rewritten from the CA's record."""
    from . import ca

    write_crl(ca.load(args.ca_dir), args.out)
    return 0


def write_crl(authority, out: str) -> None:
    """Replace the CRL at out (atomically) with the record's; say what it lists and who reads it."""
    from . import bridge_certificates, ca

    data, count = bridge_certificates.crl(authority, datetime.now(timezone.utc))
    ca.write_public(Path(out), data)
    print(f"hub: wrote the CRL {out} ({count} bridge certificates revoked); Mosquitto applies it when it restarts "
          f"(hub-broker-restart.path does it; by hand: systemctl restart mosquitto)", file=sys.stderr)


def province_acl(args: argparse.Namespace) -> int:
    """`hub province-acl`: the province broker's ACL from the districts the province database knows."""
    from .bridge import province_acl as acl_text
    from .store.open import open_store

    with open_store(args.db) as store:
        districts = sorted(set(store.districts().values()))
    if not districts:
        print("hub: no district has been imported here (`hub kiosks import --district`): the ACL would let no bridge in",
              file=sys.stderr)
    return emit(acl_text(districts, args.worker), args.out, f"the ACL of {len(districts)} districts' bridges and "
                f"{len(set(args.worker))} workers")


def emit(text: str, out: str | None, what: str) -> int:
    """Print ``text``, or replace ``out`` with it (atomically: Mosquitto, or the path unit that reloads it, never sees
    half a file) and say so on stderr (stdout stays the file's alone)."""
    if not out:
        sys.stdout.write(text)
        return 0
    from .ca import write_public

    write_public(Path(out), text.encode("utf-8"))
    print(f"hub: wrote {what} to {out}", file=sys.stderr)
    return 0


def kiosks_export(args: argparse.Namespace) -> int:
    from . import kiosk_files
    from .store.open import open_store

    with open_store(args.db) as store:
        exported = kiosk_files.export(store, now())
    text = json.dumps(exported, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return emit(text, args.out, f"{len(exported['kiosks'])} kiosks")


def kiosks_import(args: argparse.Namespace) -> int:
    from . import kiosk_files
    from .store.open import open_store

    imported = kiosk_files.parse(sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes())
    with open_store(args.db) as store:
        counts = kiosk_files.import_file(store, imported, args.district, now())
    if args.json:
        print(json.dumps({"district": args.district, **counts}, indent=2, sort_keys=True))
    else:
        print(f"hub: district {args.district}: {counts['kiosks']} kiosks, {counts['keys']} keys "
              f"({counts['revoked_keys']} revoked) imported")
    return 0
