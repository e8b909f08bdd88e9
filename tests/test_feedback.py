"""GPIO feedback on gpiozero's mock pins: which pins go on, for how long, how many beeps."""

import time

import pytest

from kiosk.config import FeedbackSettings
from kiosk.scan.feedback import Feedback

SETTINGS = FeedbackSettings(light_seconds=0.4, beep_seconds=0.1)


def wait_for(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def states(pin):
    return [s.state for s in pin.states]


def test_ok__accepted_lights_green_and_beeps_once(pins):
    feedback = Feedback(SETTINGS, pins)
    green, red, buzzer = (pins.pin(n) for n in (SETTINGS.green_pin, SETTINGS.red_pin, SETTINGS.buzzer_pin))
    for pin in (green, red, buzzer):
        pin.clear_states()
    feedback.accepted()
    assert wait_for(lambda: len(green.states) >= 3 and len(buzzer.states) >= 3)
    green.assert_states_and_times([(0.0, False), (0.0, True), (0.4, False)])
    buzzer.assert_states_and_times([(0.0, False), (0.0, True), (0.1, False)])
    assert not any(states(red)[1:])
    feedback.close()


def test_ok__rejected_lights_red_and_beeps_twice(pins):
    feedback = Feedback(SETTINGS, pins)
    green, red, buzzer = (pins.pin(n) for n in (SETTINGS.green_pin, SETTINGS.red_pin, SETTINGS.buzzer_pin))
    for pin in (green, red, buzzer):
        pin.clear_states()
    feedback.rejected()
    assert wait_for(lambda: len(red.states) >= 3 and len(buzzer.states) >= 5)
    red.assert_states_and_times([(0.0, False), (0.0, True), (0.4, False)])
    buzzer.assert_states_and_times([(0.0, False), (0.0, True), (0.1, False), (0.1, True), (0.1, False)])
    assert not any(states(green)[1:])
    feedback.close()


def test_ok__idle_turns_everything_off(pins):
    feedback = Feedback(SETTINGS, pins)
    feedback.accepted()
    feedback.idle()
    assert not any(pins.pin(n).state for n in (SETTINGS.green_pin, SETTINGS.red_pin, SETTINGS.buzzer_pin))
    feedback.close()


def test_ok__disabled_feedback_uses_simulated_pins():
    feedback = Feedback(FeedbackSettings(enabled=False))
    feedback.rejected()
    feedback.close()


@pytest.mark.parametrize("name", ["lgpio", "rpigpio"])
def test_fail__a_pin_factory_that_cannot_start_leaves_the_kiosk_scanning_and_the_doctor_failing(name, caplog):
    """No Pi here: each factory fails as it would on a Pi without its library or GPIO chip. The scanner's feedback
    runs on simulated pins and says so in the log; kiosk doctor's strict choice raises (its gpio line fails)."""
    from gpiozero.pins.mock import MockFactory

    from kiosk.scan.feedback import choose_factory

    settings = FeedbackSettings(enabled=True, pin_factory=name)
    factory = choose_factory(settings)
    assert isinstance(factory, MockFactory) and f"GPIO pin factory {name!r} cannot start" in caplog.text
    factory.close()
    with pytest.raises(Exception):
        choose_factory(settings, strict=True)
