"""The hub's settings file (`--config PATH`, default /etc/hub/hub.toml when it exists): the daily report's cut-off,
the national-platform export's mapping file, what the fleet page flags, and who acknowledges the kiosks at a province. Every key has a default, so a hub runs
without any file; a key that is not known, or a value of the wrong kind, is an error naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import HubError

DEFAULT_CONFIG_PATH = Path("/etc/hub/hub.toml")


class ConfigError(HubError, ValueError):
    """The settings file cannot be read, or a key in it is unknown or has a value of the wrong kind."""


def setting(default: Any, doc: str) -> Any:
    """A dataclass field with its one-line documentation attached (docs/config.md must say the same)."""
    return field(default=default, metadata={"doc": doc})


def clock_time(key: str, text: str) -> datetime.time:
    """``HH:MM`` as a time of day; raise ConfigError naming ``key``."""
    try:
        hours, minutes = text.split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return datetime.time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(f"{key}: expected a time of day as HH:MM (Vietnam time), got {text!r}") from None


@dataclass(frozen=True)
class ReportSettings:
    """The daily vaccination report (hub/reports/daily.py)."""

    cutoff: str = setting("15:30", "Vietnam time (HH:MM) at which the hub issues the day's report by itself and keeps it "
                                    "(`hub run` and `hub web` both watch the clock; the first to see the time issues it).")
    age_bands: tuple = setting((5, 12, 18, 50, 65), "Where the report's age bands start, in whole years, ascending: "
                                                  "[5, 12, 18, 50, 65] gives under 5, 5-11, 12-17, 18-49, 50-64, 65 and over.")

    def __post_init__(self):
        clock_time("report.cutoff", self.cutoff)
        bands = self.age_bands
        if (not all(isinstance(b, int) and not isinstance(b, bool) and 0 < b < 130 for b in bands)
                or list(bands) != sorted(set(bands))):
            raise ConfigError(f"report.age_bands: expected ascending whole years from 1 to 129, got {bands!r}")

    @property
    def cutoff_time(self) -> datetime.time:
        return clock_time("report.cutoff", self.cutoff)


@dataclass(frozen=True)
class ExportSettings:
    """The national-platform export (hub/reports/export.py)."""

    mapping: str = setting("", "The mapping file (TOML) that names the export's columns, their order, the date format "
                              "and the product codes. Empty: the packaged default (hub/reports/platform.toml).")


@dataclass(frozen=True)
class FleetSettings:
    """What the kiosks page flags (hub/web/fleet.py)."""

    working_hours: str = setting("07:00-17:00", "Vietnam time (HH:MM-HH:MM) during which a kiosk that is offline is "
                                                "flagged; outside it, offline is normal.")
    offline_minutes: float = setting(10.0, "A kiosk not heard from for this many minutes counts as offline, whatever "
                                           "its last status said.")
    backlog_alert: int = setting(200, "An outbox backlog (events not yet merged, as the kiosk reports it) above this "
                                      "is flagged.")
    skew_alert_seconds: float = setting(120.0, "A kiosk clock more than this many seconds off the hub's, or not "
                                               "synchronised, is flagged.")

    def __post_init__(self):
        start, _, end = self.working_hours.partition("-")
        if clock_time("fleet.working_hours", start) >= clock_time("fleet.working_hours", end):
            raise ConfigError(f"fleet.working_hours: the start must come before the end, got {self.working_hours!r}")

    @property
    def working_range(self) -> tuple[datetime.time, datetime.time]:
        start, _, end = self.working_hours.partition("-")
        return clock_time("fleet.working_hours", start), clock_time("fleet.working_hours", end)


ACK_MODES = ("district", "province")


@dataclass(frozen=True)
class ProvinceSettings:
    """A district hub under a province (docs/province.md): who acknowledges its kiosks' events."""

    acks: str = setting("district", "Who acknowledges this district's kiosks: \"district\" (this hub alone, as a lone "
                                    "district) or \"province\" (this hub and the province: the kiosks, with "
                                    "hub.province_acks, keep each event until both this hub's ack and the province's, "
                                    "carried back over the bridge, cover it; this hub says online only while its bridge "
                                    "to the province is up).")

    def __post_init__(self):
        if self.acks not in ACK_MODES:
            raise ConfigError(f"province.acks: expected one of {', '.join(ACK_MODES)}, got {self.acks!r}")


@dataclass(frozen=True)
class HubConfig:
    """All hub settings; every section is optional in the file."""

    report: ReportSettings = field(default_factory=ReportSettings)
    export: ExportSettings = field(default_factory=ExportSettings)
    fleet: FleetSettings = field(default_factory=FleetSettings)
    province: ProvinceSettings = field(default_factory=ProvinceSettings)


def sections() -> dict[str, type]:
    return {f.name: f.default_factory for f in dataclasses.fields(HubConfig)}  # type: ignore[misc]


def documented_keys() -> dict[str, str]:
    """Map every ``section.key`` to its documentation line."""
    return {f"{name}.{f.name}": f.metadata["doc"] for name, cls in sections().items() for f in dataclasses.fields(cls)}


KINDS = {"str": str, "int": int, "float": float, "tuple": list}
"""A field's type and the TOML kind its value must have (a TOML array is kept as a tuple)."""


def build(data: dict[str, Any]) -> HubConfig:
    """The settings from a parsed TOML document; raise ConfigError for an unknown key or a value of the wrong kind."""
    built = {}
    for name, values in data.items():
        cls = sections().get(name)
        if cls is None or not isinstance(values, dict):
            raise ConfigError(f"[{name}]: not a section of the hub's settings ({', '.join(sections())})")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        checked = {}
        for key, value in values.items():
            if key not in fields:
                raise ConfigError(f"{name}.{key}: not a setting (see docs/config.md)")
            kind = KINDS[fields[key].type if isinstance(fields[key].type, str) else fields[key].type.__name__]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if type(value) is not kind:
                raise ConfigError(f"{name}.{key}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
            checked[key] = tuple(value) if kind is list else value
        built[name] = cls(**checked)
    return HubConfig(**built)


def load(path: str | Path | None) -> HubConfig:
    """The settings in ``path``; None: DEFAULT_CONFIG_PATH when that file exists, else every default."""
    if path is None:
        if not DEFAULT_CONFIG_PATH.is_file():
            return HubConfig()
        path = DEFAULT_CONFIG_PATH
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read the settings file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return build(data)
