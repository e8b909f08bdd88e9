"""Staff PINs: the salted scrypt hash, and the rule that refuses short, non-digit and easily guessed PINs."""

import pytest

from kiosk.errors import StaffError
from kiosk.staff_pins import check_pin, hash_pin, pin_matches


def test_ok__a_pin_is_stored_as_a_salted_scrypt_hash():
    first, second = hash_pin("2580"), hash_pin("2580")
    scheme, n, r, p, salt, digest = first.split("$")
    assert (scheme, n, r, p, len(bytes.fromhex(salt)), len(bytes.fromhex(digest))) == ("scrypt", "16384", "8", "1", 16, 32)
    assert first != second and "2580" not in first
    assert pin_matches("2580", first) and pin_matches("2580", second)


@pytest.mark.parametrize("stored", ["", "scrypt$1$2", "bcrypt$16384$8$1$00$00", "scrypt$16384$8$1$zz$zz"])
def test_fail__a_malformed_hash_never_matches(stored):
    assert not pin_matches("2580", stored)


@pytest.mark.parametrize("pin", ["2580", "0713", "90210", "13579", "24681357"])
def test_ok__pin_accepted(pin):
    assert check_pin(pin) == pin


@pytest.mark.parametrize(
    "pin, says",
    [
        ("123", "4 to 8 digits"), ("123456789", "4 to 8 digits"), ("12a4", "4 to 8 digits"), (" 2580", "4 to 8 digits"),
        ("٢٥٨٠", "4 to 8 digits"), ("", "4 to 8 digits"),
        ("0000", "easy to guess"), ("77777777", "easy to guess"), ("1212", "easy to guess"), ("12121", "easy to guess"),
        ("1234", "easy to guess"), ("123456", "easy to guess"), ("7890", "easy to guess"), ("9876", "easy to guess"),
        ("3210", "easy to guess"),
    ],
)
def test_fail__pin_refused(pin, says):
    with pytest.raises(StaffError, match=says):
        check_pin(pin)
