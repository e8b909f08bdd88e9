"""Kiosk settings: frozen dataclasses loaded from TOML, environment overrides and credentials."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import wire

from .errors import ConfigError

DEFAULT_CONFIG_PATH = Path("/etc/kiosk/kiosk.toml")
ENV_PREFIX = "KIOSK_"


def setting(default: Any, doc: str) -> Any:
    """A dataclass field with its one-line documentation attached."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class KioskSettings:
    """Who this kiosk is and where it keeps its data."""

    id: str = setting(
        "kiosk-demo", "Kiosk id: unique per kiosk in a district; its MQTT client id and topic level (a-z, 0-9, dashes; `hub enroll` gives it)."
    )
    site: str = setting("demo-site", "Site code this kiosk serves.")
    db: str = setting("var/kiosk.db", "Path of the kiosk's SQLite database (created if missing).")
    min_free_mb: int = setting(200, "Free disk below this many MiB is reported as a problem by `kiosk doctor` and /healthz.")

    def __post_init__(self):
        try:
            wire.check_kiosk_id(self.id)
        except ValueError as exc:
            raise ConfigError(f"kiosk.id: {exc}") from None


@dataclass(frozen=True)
class CameraSettings:
    """Where frames come from."""

    source: str = setting(
        "auto",
        "`auto`, `picamera2`, `usb:N` (OpenCV device N) or `replay:PATH` (a folder of images or a video file).",
    )
    width: int = setting(640, "Width of the frames handed to the decoder (picamera2's low-resolution stream).")
    height: int = setting(480, "Height of the frames handed to the decoder.")
    fps: float = setting(10.0, "Frames per second asked of the camera; a replay source plays at this rate.")
    replay_repeat: int = setting(1, "Replay only: deliver each image this many consecutive frames (simulates holding a card).")
    replay_loop: bool = setting(True, "Replay only: start again at the first image after the last.")
    focus: str = setting(
        "manual",
        "Pi camera focus: `manual` (the lens set at `lens_position`), `macro` (autofocus cycles in the macro range, "
        "one at start and every 3 s), `continuous` (hunts in front of a card; not advised) or `camera` (leave the camera's default).",
    )
    lens_position: float = setting(
        5.0, "Pi camera, `focus = \"manual\"`: lens position in dioptres (1 / distance in metres): 5 is 20 cm, 4 is 25 cm, 10 is 10 cm, 0 infinity."
    )
    exposure: str = setting("short", "Pi camera exposure mode: `short` (less blur from a moving hand), `normal` or `long`.")
    exposure_constraint: str = setting(
        "highlight", "Pi camera: `highlight` keeps glare on a laminated card and a bright phone screen from burning out; `normal` or `shadows`."
    )
    metering: str = setting("centre", "Pi camera metering: `centre` (the card is held in the middle), `spot` or `matrix`.")
    ev: float = setting(0.0, "Pi camera exposure compensation in stops, -8 to 8 (e.g. -0.5 under strong light).")

    def __post_init__(self):
        from .camera.controls import check_optics

        problem = check_optics(self)
        if problem:
            raise ConfigError(problem)


@dataclass(frozen=True)
class ScannerSettings:
    """How frames become check-ins."""

    decoder: str = setting("robust", "Decoder backend: `robust` (zxing-cpp with retries), `zxing` or `zbar`.")
    budget_ms: float = setting(40.0, "Per-frame time budget for the decoder's retries, in milliseconds.")
    max_fps: float = setting(12.0, "Upper bound on frames decoded per second, so the scanner never spins.")
    hold_seconds: float = setting(3.0, "A code seen again within this many seconds of its last sighting is the same scan.")
    reopen_seconds: float = setting(2.0, "Wait before reopening a camera that failed; doubles up to 30 s.")


@dataclass(frozen=True)
class FeedbackSettings:
    """LEDs and buzzer on the kiosk's GPIO header (BCM pin numbers)."""

    enabled: bool = setting(True, "Drive the LEDs and buzzer.")
    pin_factory: str = setting(
        "auto",
        "`auto` (real pins on a Pi, simulated elsewhere), `mock` (always simulated) or a gpiozero factory name such as `lgpio`.",
    )
    green_pin: int = setting(17, "Green LED: code accepted.")
    red_pin: int = setting(27, "Red LED: code rejected.")
    buzzer_pin: int = setting(22, "Active buzzer.")
    beep_seconds: float = setting(0.12, "Length of one beep.")
    light_seconds: float = setting(1.5, "How long the green or red LED stays lit after a scan.")


@dataclass(frozen=True)
class WebSettings:
    """The kiosk's local screen."""

    host: str = setting("127.0.0.1", "Address the screen server listens on; `0.0.0.0` to let a tablet on the site LAN in.")
    port: int = setting(8080, "Port of the screen server.")
    secret_key: str = setting("", "Session signing key. Empty: read credential `kiosk-secret-key`, else the file `web-secret-key` beside the database (made with mode 0600 on first start).")
    api_token: str = setting(
        "",
        "Bearer token for `/api/` clients without a signed-in session. Empty: credential `kiosk-api-token`, "
        "else `KIOSK_API_TOKEN`, else the API needs a session.",
    )
    language: str = setting("vi", "Language of the screens: `vi` (Vietnamese) or `en` (English); a user can switch.")
    pin_attempts: int = setting(
        3, "Wrong PINs allowed for one staff member before sign-in is locked; no more PINs than this are checked per lock, however many arrive at once."
    )
    lockout_seconds: float = setting(
        30.0, "First lockout after too many wrong PINs; doubles with each further wrong PIN, up to 15 minutes. Kept in the database: a restart does not lift it."
    )
    live_socket: str = setting(
        "", "Unix socket on which `kiosk web` hears `kiosk scan`'s outcomes. Empty: `live.sock` beside the database."
    )
    session_minutes: float = setting(480.0, "A signed-in session ends after this many minutes without a request.")
    session_max_hours: float = setting(
        12.0, "A signed-in session ends this many hours after sign-in, however busy. Signing out, a reboot, a new PIN or disabling the member end it at once."
    )
    trusted_proxies: int = setting(
        0,
        "Reverse proxies in front of the screen (e.g. one that serves it over HTTPS) whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed. "
        "0: none, the headers are ignored.",
    )

    def __post_init__(self):
        if self.trusted_proxies < 0:
            raise ConfigError("web.trusted_proxies: a number of proxies, 0 or more")
        for key in ("pin_attempts", "session_minutes", "session_max_hours"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"web.{key}: must be more than 0")


@dataclass(frozen=True)
class QueueSettings:
    """The site's workflow: observation, desks, the vaccine catalogue."""

    observation_minutes: float = setting(30.0, "Minimum observation after an injection (Vietnam's rule: 30 minutes).")
    desks: int = setting(2, "Screening and injection desks on site; a called person is sent to one of them.")
    catalogue: str = setting("", "Path of the vaccine catalogue TOML. Empty: the packaged example, marked unverified.")
    priority_age: int = setting(65, "People this old or older are suggested for priority at screening.")


@dataclass(frozen=True)
class HubSettings:
    """The district hub this kiosk sends its events to, over MQTT (`kiosk publish`)."""

    broker: str = setting(
        "", "Broker address, `mqtts://host:8883` (TLS) or `mqtt://host:1883`. Empty: events stay in the outbox, nothing is sent."
    )
    username: str = setting("", "MQTT username, for a broker without mutual TLS (tests, the demo). Empty: the kiosk id. The district broker takes it from the certificate.")
    password: str = setting("", "MQTT password, for a broker without mutual TLS only (the district broker uses `hub.cert_file`). Empty: credential `kiosk-hub-password`, else `KIOSK_HUB_PASSWORD`.")
    ca_file: str = setting("", "CA certificate file for `mqtts://`. Empty: the system's trusted CAs.")
    key_file: str = setting(
        "", "The kiosk's private key (PEM, ECDSA P-256, made by `kiosk identity new`): signs every event, and opens the "
        "mutual-TLS connection with `hub.cert_file`. Empty: the credential `kiosk-key`; without one, events leave unsigned "
        "and the hub quarantines them."
    )
    cert_file: str = setting(
        "", "The kiosk's certificate from `hub enroll` (PEM), shown to the broker over `mqtts://` (mutual TLS: the district broker requires it). Needs the key (`hub.key_file` or the credential `kiosk-key`); a certificate for another key is a config error. Empty: no client certificate."
    )
    session_expiry_hours: float = setting(168.0, "How long the broker keeps this kiosk's session while it is offline.")
    keepalive_seconds: int = setting(30, "MQTT keepalive; the broker publishes the `offline` will after 1.5 times this without a word.")
    window: int = setting(32, "Events published and not yet acknowledged by the broker (PUBACK) at any time.")
    ahead: int = setting(2000, "Events published beyond the hub's watermark at any time; the rest wait in the outbox.")
    resend_seconds: float = setting(30.0, "Re-send what the hub has not acknowledged after this many seconds while the hub is online; each re-send that "
                                  "brings no acknowledgement doubles the wait, up to 15 minutes.")
    status_seconds: float = setting(60.0, "How often the retained online status (outbox depth, camera rate) is refreshed.")
    province_acks: bool = setting(False, "Also wait for the province's acknowledgements (on `vax/p/k/<kiosk>/ack`, which the "
                                  "district broker's bridge brings in): an event is done only once both the district hub "
                                  "and the province hold it. For a district whose hub has `province.acks = \"province\"`.")


@dataclass(frozen=True)
class Config:
    """All kiosk settings; every section is optional in the TOML file."""

    kiosk: KioskSettings = field(default_factory=KioskSettings)
    camera: CameraSettings = field(default_factory=CameraSettings)
    scanner: ScannerSettings = field(default_factory=ScannerSettings)
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)
    web: WebSettings = field(default_factory=WebSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    hub: HubSettings = field(default_factory=HubSettings)

    def replace(self, section: str, **changes: Any) -> "Config":
        """Return a copy with some keys of one section changed (validated like the file)."""
        current = getattr(self, section)
        values = {key: coerce(f"{section}.{key}", value, field_type(current, key)) for key, value in changes.items()}
        return dataclasses.replace(self, **{section: dataclasses.replace(current, **values)})


SECRETS = {
    ("web", "secret_key"): "kiosk-secret-key", ("web", "api_token"): "kiosk-api-token", ("hub", "password"): "kiosk-hub-password",
}
CREDENTIAL_FILES = {("hub", "key_file"): "kiosk-key"}
"""Settings that name a file: the credential's path is the value (a key is read by a library, not as text)."""


def sections() -> dict[str, type]:
    """Map section name to its settings class."""
    return {f.name: f.default_factory for f in dataclasses.fields(Config)}  # type: ignore[misc]


def documented_keys() -> dict[str, str]:
    """Map every `section.key` to its documentation line."""
    return {
        f"{name}.{f.name}": f.metadata["doc"]
        for name, cls in sections().items()
        for f in dataclasses.fields(cls)
    }


def field_type(instance: Any, key: str) -> type:
    return {f.name: f.type for f in dataclasses.fields(instance)}[key]


def coerce(key: str, value: Any, type_name: Any) -> Any:
    """Convert a TOML or environment value to the field's type, or raise ConfigError naming the key."""
    kind = {"str": str, "int": int, "float": float, "bool": bool}[type_name if isinstance(type_name, str) else type_name.__name__]
    if isinstance(value, str) and kind is not str:
        value = parse_text(key, value, kind)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not kind:
        raise ConfigError(f"{key}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def parse_text(key: str, text: str, kind: type) -> Any:
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{key}: expected true or false, got {text!r}")
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{key}: expected {kind.__name__}, got {text!r}") from None


def build(data: Mapping[str, Any]) -> Config:
    """Build a Config from a nested mapping; unknown sections or keys raise ConfigError."""
    known = sections()
    built = {}
    for name, values in data.items():
        if name not in known:
            raise ConfigError(f"unknown section [{name}]; known: {', '.join(known)}")
        if not isinstance(values, Mapping):
            raise ConfigError(f"[{name}] must be a table")
        built[name] = build_section(name, known[name], values)
    return Config(**built)


def build_section(name: str, cls: type, values: Mapping[str, Any]) -> Any:
    fields = {f.name: f.type for f in dataclasses.fields(cls)}
    for key in values:
        if key not in fields:
            raise ConfigError(f"unknown key {name}.{key}; known keys of [{name}]: {', '.join(fields)}")
    return cls(**{key: coerce(f"{name}.{key}", value, fields[key]) for key, value in values.items()})


def env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Collect KIOSK_SECTION_KEY variables into a nested mapping; unknown ones raise ConfigError."""
    keys = documented_keys()
    found: dict[str, dict[str, str]] = {}
    for var, value in environ.items():
        if not var.startswith(ENV_PREFIX) or var in NON_SETTING_VARS:
            continue
        dotted = ALIASES.get(var) or next((k for k in keys if env_name(k) == var), None)
        if dotted is None:
            raise ConfigError(f"unknown environment variable {var}; settings look like {env_name('web.port')}")
        section, key = dotted.split(".")
        found.setdefault(section, {})[key] = value
    return found


NON_SETTING_VARS = {"KIOSK_CONFIG"}
ALIASES = {"KIOSK_API_TOKEN": "web.api_token"}
"""Short environment names some settings also answer to."""


def env_name(dotted: str) -> str:
    return ENV_PREFIX + dotted.replace(".", "_").upper()


def read_secrets(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Read secrets from systemd's credentials directory, when there is one."""
    directory = environ.get("CREDENTIALS_DIRECTORY")
    found: dict[str, dict[str, str]] = {}
    if not directory:
        return found
    for (section, key), name in SECRETS.items():
        path = Path(directory) / name
        if path.is_file():
            found.setdefault(section, {})[key] = path.read_text(encoding="utf-8").strip()
    for (section, key), name in CREDENTIAL_FILES.items():
        path = Path(directory) / name
        if path.is_file():
            found.setdefault(section, {})[key] = str(path)
    return found


def load(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load settings: embedded defaults < TOML file < credentials < KIOSK_* environment.

    The file is `path`, else $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml when it exists.
    Raises ConfigError for an unreadable file, bad TOML, an unknown key or a bad value.
    """
    environ = os.environ if environ is None else environ
    data = merge(read_file(resolve_path(path, environ)), read_secrets(environ))
    return build(merge(data, env_overrides(environ)))


def resolve_path(path: str | os.PathLike | None, environ: Mapping[str, str]) -> Path | None:
    if path is not None:
        return Path(path)
    if environ.get("KIOSK_CONFIG"):
        return Path(environ["KIOSK_CONFIG"])
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def read_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Merge two section->key->value mappings, `top` winning."""
    merged = {name: dict(values) if isinstance(values, Mapping) else values for name, values in base.items()}
    for name, values in top.items():
        if isinstance(merged.get(name), dict) and isinstance(values, Mapping):
            merged[name].update(values)
        else:
            merged[name] = values
    return merged
