"""Staff passwords and names for the district workspace: the rules, and scrypt hashes that carry their own parameters.

A hash reads ``scrypt$n=32768,r=8,p=1$<base64 salt>$<base64 key>``: the cost
travels with it, so raising ``COST`` later leaves old hashes verifiable and
``needs_rehash`` says which to renew at the next sign-in. scrypt is in the
standard library (hashlib, OpenSSL) and memory-hard: n=2**15, r=8 takes
128 * n * r = 32 MiB and about 0.16 s per hash on the test machine (2 cores);
2**16 took 0.32 s, over the 0.3 s a sign-in may spend.

Text is compared in Unicode NFC: Vietnamese keyboards (Telex, VNI) type the same
letter precomposed or as a base and combining marks, and a password or name must
not depend on which one the office computer sends.

The password rule, kept short so staff can follow it: at least 10 characters,
at most 256, not all letters and not all digits (two of: letters, digits, other
signs), not the staff member's name, and no control characters.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

from .errors import PasswordRuleError

MIN_LENGTH = 10
MAX_LENGTH = 256
"""Characters; beyond this a form field is garbage, not a password."""
NAME_MAX = 80
SALT_BYTES = 16
KEY_BYTES = 32
ROLES = ("officer", "data", "admin")
"""officer: counts and coverage; data: the data staff who clean records; admin: accounts and the audit log."""


@dataclass(frozen=True)
class Cost:
    """scrypt's parameters: memory is 128 * n * r bytes."""

    n: int = 2**15
    r: int = 8
    p: int = 1

    @property
    def memory(self) -> int:
        return 128 * self.n * self.r

    def text(self) -> str:
        return f"n={self.n},r={self.r},p={self.p}"


COST = Cost()
"""What new hashes use. Raise it here; `needs_rehash` then renews old hashes as their owners sign in."""
LIMIT = Cost(n=2**20, r=16, p=4)
"""The most a stored hash may ask for (a corrupt or hostile row must not make a sign-in take gigabytes)."""
HASH = re.compile(r"scrypt\$n=(\d{1,8}),r=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/=]{4,64})\$([A-Za-z0-9+/=]{4,128})")


def normal(text: str) -> str:
    """The NFC form of text: how passwords are hashed and names kept."""
    return unicodedata.normalize("NFC", text)


def check_password(password: str, name: str = "") -> str:
    """The password in NFC when it follows the rule; raise PasswordRuleError saying which rule it breaks."""
    password = normal(password)
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in password):
        raise PasswordRuleError("control", "the password holds a control character (a tab, a line break)")
    if len(password) < MIN_LENGTH:
        raise PasswordRuleError("short", f"the password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRuleError("long", f"the password may have at most {MAX_LENGTH} characters")
    if len(classes(password)) < 2:
        raise PasswordRuleError("one_kind", "the password needs two kinds of characters: letters, digits, other signs")
    if name and name_key(password) == name_key(name):
        raise PasswordRuleError("is_name", "the password may not be the staff member's name")
    return password


def classes(text: str) -> set[str]:
    """Which of letters, digits and other signs text holds."""
    return {"letter" if c.isalpha() else "digit" if c.isdigit() else "other" for c in text}


def check_name(name: str) -> str:
    """The staff name as kept (NFC, spaces collapsed); raise PasswordRuleError when it is empty, too long or not text."""
    name = " ".join(normal(name).split())
    if not name:
        raise PasswordRuleError("name_empty", "the name is empty")
    if len(name) > NAME_MAX:
        raise PasswordRuleError("name_long", f"the name may have at most {NAME_MAX} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in name):
        raise PasswordRuleError("name_control", "the name holds a character that is not a letter, digit, space or sign")
    return name


def name_key(name: str) -> str:
    """What makes two names the same account: NFC, spaces collapsed, case folded ("Lan  NGUYỄN" is "lan nguyễn")."""
    return " ".join(normal(name).split()).casefold()


def hash_password(password: str, *, cost: Cost = COST, salt: bytes | None = None) -> str:
    """The scrypt hash of password (NFC) with its parameters and a random salt (unless one is given)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = derive(normal(password), salt, cost)
    return f"scrypt${cost.text()}${b64(salt)}${b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when password matches the stored hash; False for a wrong password or a hash this module cannot read."""
    parsed = parse_hash(stored)
    if parsed is None:
        return False
    cost, salt, key = parsed
    return hmac.compare_digest(derive(normal(password), salt, cost), key)


def needs_rehash(stored: str) -> bool:
    """True when the stored hash is unreadable or cheaper than COST: hash the password again at the next sign-in."""
    parsed = parse_hash(stored)
    return parsed is None or parsed[0] != COST


def parse_hash(stored: str) -> tuple[Cost, bytes, bytes] | None:
    """(cost, salt, key) of a stored hash, or None when it is not one, or asks for more than LIMIT."""
    match = HASH.fullmatch(stored or "")
    if match is None:
        return None
    cost = Cost(*(int(match.group(i)) for i in (1, 2, 3)))
    if cost.n < 2 or cost.n & (cost.n - 1) or not (1 <= cost.r <= LIMIT.r and 1 <= cost.p <= LIMIT.p) or cost.n > LIMIT.n:
        return None
    try:
        return cost, base64.b64decode(match.group(4), validate=True), base64.b64decode(match.group(5), validate=True)
    except ValueError:
        return None


def derive(password: str, salt: bytes, cost: Cost) -> bytes:
    data = password.encode("utf-8", "surrogatepass")
    return hashlib.scrypt(data, salt=salt, n=cost.n, r=cost.r, p=cost.p, maxmem=2 * cost.memory + 2**20, dklen=KEY_BYTES)


def dummy_verify(password: str) -> None:
    """Spend what a real check spends, for a name with no account: the time to answer does not say which names exist."""
    verify_password(password, dummy_hash())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@functools.cache
def dummy_hash() -> str:
    return hash_password("not-a-password-0", salt=b"\0" * SALT_BYTES)
