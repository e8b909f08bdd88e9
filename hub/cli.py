"""The `hub` command. Ingest, merge and reports arrive with the delivery work (issue 4)."""

from __future__ import annotations

import argparse

from kiosk import __version__


def parser() -> argparse.ArgumentParser:
    """The hub's command line; it has no subcommands yet."""
    top = argparse.ArgumentParser(prog="hub", description="District hub for kiosk event streams (not built yet).")
    top.add_argument("--version", action="version", version=f"hub {__version__}")
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hub` console script."""
    parser().parse_args(argv)
    print("hub: nothing to run yet; ingest and merge are not built (see issue 4)")
    return 1
