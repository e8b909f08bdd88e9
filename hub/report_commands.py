"""`hub report daily|issue|versions`: the daily vaccination report from the command line on the hub machine.

The store and the file writers are imported when a command runs, so that `hub --help` stays light."""

from __future__ import annotations

import argparse
import datetime
import sys

from . import daily
from .config import load

FORMATS = ("csv", "json", "xlsx")


def add_report_commands(sub, database: argparse.ArgumentParser, as_json: argparse.ArgumentParser, config_help: str) -> None:
    """`hub report daily|issue|versions`."""
    report = sub.add_parser("report", help="the daily vaccination report: `hub report daily|issue|versions`")
    verbs = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    day = argparse.ArgumentParser(add_help=False)
    day.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the day reported (Vietnam time)")
    day.add_argument("--config", metavar="PATH", help=config_help)
    show = verbs.add_parser("daily", parents=[database, day], help="write the day's report: counted from what is merged "
                            "now, or a version as it was issued")
    show.add_argument("--format", choices=FORMATS, default="json", help="xlsx, csv or json (default)")
    show.add_argument("--out", metavar="FILE", help="write it here (default: standard output; xlsx needs --out)")
    show.add_argument("--version", type=int, metavar="N", help="the issued version N, as it was issued, with what "
                      "arrived after its cut")
    show.add_argument("--district", metavar="NAME", help="at a province: that district's part of the report (its sites "
                      "and its total); default: the whole report, each district and the province's total")
    issue = verbs.add_parser("issue", parents=[database, day, as_json], help="issue the day's report again, counting "
                             "everything merged now (the versions before it are kept)")
    issue.add_argument("--note", default="", metavar="TEXT", help="why, kept with the version (at most 500 characters)")
    verbs.add_parser("versions", parents=[database, as_json], help="the versions issued for a day").add_argument(
        "--date", required=True, metavar="YYYY-MM-DD", help="the day reported")


def report(args: argparse.Namespace) -> int:
    """Run the `hub report` verb asked for."""
    return {"daily": report_daily, "issue": report_issue, "versions": report_versions}[args.report_command](args)


def day_of(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--date {text!r}: give the day as YYYY-MM-DD") from None


def report_daily(args: argparse.Namespace) -> int:
    """Write the report (now, or an issued version with what arrived after its cut)."""
    from .store.open import open_store

    if args.format == "xlsx" and not args.out:
        raise ValueError("an XLSX report needs --out FILE")
    day, settings = day_of(args.date), load(args.config).report
    with open_store(args.db) as store:
        if args.district is not None and args.district not in store.district_names():
            raise ValueError(f"--district {args.district!r}: no kiosk of this hub belongs to it (`hub kiosks import`)")
        issued = None
        if args.version is not None:
            issued = store.daily_report_version(day, args.version)
            if issued is None:
                raise ValueError(f"no version {args.version} of the report of {day} was issued (`hub report versions`)")
        content, late = daily.shown(store, day, settings, issued, args.district)
    from .reports import forms

    data = forms.render(content, args.format, late)
    if args.out:
        with open(args.out, "wb") as out:
            out.write(data)
        print(f"hub: wrote the report of {day} ({args.format}) to {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def report_issue(args: argparse.Namespace) -> int:
    """Issue the report again, counting what is merged now; audited as the command line's."""
    from .store.open import open_store

    if len(args.note) > 500:
        raise ValueError("--note: at most 500 characters")
    day, settings = day_of(args.date), load(args.config).report
    now = datetime.datetime.now(datetime.timezone.utc)
    with open_store(args.db) as store:
        version = daily.reissue(store, settings, day, now, by="command line", note=args.note)
        store.audit(None, "report_issue", f"report:{day}:{version}", None, now)
    print(f"{version}" if not args.json else f'{{"day": "{day}", "version": {version}}}')
    return 0


def report_versions(args: argparse.Namespace) -> int:
    import json

    from .store.open import open_store

    with open_store(args.db) as store:
        versions = store.daily_report_versions(day_of(args.date))
    if args.json:
        print(json.dumps(versions, ensure_ascii=False, indent=2))
    else:
        for v in versions:
            print(f"{v['version']:>3}  {v['why']:<8} cut {v['cut_at']}  issued {v['issued_at']} by {v['issued_by']}")
    return 0
