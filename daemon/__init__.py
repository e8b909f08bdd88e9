"""Process plumbing shared by the kiosk's and the hub's daemons: systemd notification, the watchdog, serving parts until SIGTERM, stoppable loop threads."""

import functools
from importlib import metadata

DISTRIBUTION = "vaxkiosk"


@functools.cache
def version() -> str:
    """The installed distribution's version (pyproject.toml's), or "0+unknown" when run from an uninstalled tree."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"
