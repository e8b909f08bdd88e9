"""Staff PINs: the rule a PIN must meet and its scrypt hash; no table, no clock."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from .errors import StaffError

PIN_LENGTHS = range(4, 9)
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # about 16 MiB and a tenth of a second on a Pi 4
SCRYPT_MAXMEM = 64 * 2**20
HASH_BYTES = 32


def check_pin(pin: str) -> str:
    """Return the PIN when it is 4 to 8 ASCII digits and not easily guessed; else raise StaffError."""
    if not (pin.isascii() and pin.isdigit()) or len(pin) not in PIN_LENGTHS:
        raise StaffError(f"a PIN is {PIN_LENGTHS.start} to {PIN_LENGTHS.stop - 1} digits (0-9), nothing else")
    if weak_pin(pin):
        raise StaffError("this PIN is too easy to guess (a repeated digit or pair, or a run like 1234 or 9876): choose another")
    return pin


def weak_pin(pin: str) -> bool:
    """True for a repeated digit or pair (1111, 1212) or a run up or down (1234, 7890, 9876)."""
    if pin == pin[:1] * len(pin) or pin == pin[:2] * (len(pin) // 2) + pin[:len(pin) % 2]:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:])}
    return steps == {1} or steps == {9}


def hash_pin(pin: str) -> str:
    """The PIN's scrypt hash as ``scrypt$n$r$p$salt_hex$hash_hex`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    """True when ``pin`` hashes to ``stored``; compared in constant time. A malformed hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = bytes.fromhex(digest)
        actual = scrypt(pin, bytes.fromhex(salt), int(n), int(r), int(p), len(expected))
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


def scrypt(pin: str, salt: bytes, n: int, r: int, p: int, length: int = HASH_BYTES) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=length)


@functools.cache
def dummy_hash() -> str:
    """Checked against when the member does not exist, so an unknown id costs as much as a wrong PIN."""
    return hash_pin(secrets.token_hex(4))
