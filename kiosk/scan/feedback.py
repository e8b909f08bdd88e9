"""The kiosk's lights and buzzer: a scan accepted or refused, and the alarm for a severe reaction."""

from __future__ import annotations

import logging
import warnings

from gpiozero import LED, Buzzer, Device
from gpiozero.exc import BadPinFactory, GPIOZeroWarning

from ..config import FeedbackSettings

logger = logging.getLogger(__name__)

ALARM_SECONDS = 10.0


class Feedback:
    """The kiosk's LEDs and buzzer, on any gpiozero pin factory (MockFactory in tests and demos)."""

    def __init__(self, settings: FeedbackSettings, pin_factory=None):
        self.settings = settings
        self.factory = pin_factory or choose_factory(settings)
        self.green = LED(settings.green_pin, pin_factory=self.factory)
        self.red = LED(settings.red_pin, pin_factory=self.factory)
        self.buzzer = Buzzer(settings.buzzer_pin, pin_factory=self.factory)

    def accepted(self) -> None:
        """Green LED for a moment and one short beep."""
        self.red.off()
        self.green.blink(on_time=self.settings.light_seconds, off_time=0, n=1)
        self.beep(1)

    def rejected(self) -> None:
        """Red LED for a moment and two short beeps."""
        self.green.off()
        self.red.blink(on_time=self.settings.light_seconds, off_time=0, n=1)
        self.beep(2)

    def alarm(self) -> None:
        """A severe adverse reaction: red LED flashing and the buzzer sounding in bursts, for ALARM_SECONDS."""
        self.red.blink(on_time=0.25, off_time=0.25, n=int(ALARM_SECONDS * 2))
        self.buzzer.beep(on_time=0.5, off_time=0.5, n=int(ALARM_SECONDS))

    def idle(self) -> None:
        """Everything off: ready for the next person."""
        for device in (self.green, self.red, self.buzzer):
            device.off()

    def beep(self, count: int) -> None:
        seconds = self.settings.beep_seconds
        self.buzzer.beep(on_time=seconds, off_time=seconds, n=count)

    def close(self) -> None:
        for device in (self.green, self.red, self.buzzer):
            device.close()


def choose_factory(settings: FeedbackSettings, *, strict: bool = False):
    """The pin factory the settings ask for; simulated pins when disabled or when this is not a Pi. A factory the
    settings name that cannot start (lgpio missing, no GPIO chip) raises when ``strict`` (kiosk doctor says why); else
    it is logged and the pins are simulated: the kiosk goes on checking people in, without its lights and buzzer."""
    from gpiozero.pins.mock import MockFactory

    if not settings.enabled or settings.pin_factory == "mock":
        return MockFactory()
    if settings.pin_factory != "auto":
        try:
            return load_factory(settings.pin_factory)
        except Exception as exc:  # ImportError, OSError, gpiozero's own: whatever stops the factory, the scan goes on
            if strict:
                raise
            logger.error("GPIO pin factory %r cannot start (%s): LEDs and buzzer are off; `kiosk doctor` says why",
                         settings.pin_factory, exc)
            return MockFactory()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GPIOZeroWarning)  # the fallback chain warns per factory it tries
            return Device._default_pin_factory()
    except BadPinFactory:
        logger.warning("no GPIO on this machine: LEDs and buzzer are simulated")
        return MockFactory()


def load_factory(name: str):
    """Instantiate the gpiozero pin factory registered under ``name``."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="gpiozero_pin_factories"):
        if entry.name == name:
            return entry.load()()
    raise ValueError(f"unknown gpiozero pin factory {name!r}")
