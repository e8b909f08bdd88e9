"""Broker credentials: kiosk passwords, their Mosquitto 2.0 hashes, the broker's password file, the hub's own password.

Mosquitto 2.0 stores ``user:$7$<iterations>$<base64 salt>$<base64 hash>``: PBKDF2-HMAC-SHA512
over the password with a 12-byte salt, 101 iterations (what `mosquitto_passwd` writes). The
hub keeps the same string in its database, so a password is never stored in clear anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path
from typing import Mapping

from .errors import PasswordFileError

ITERATIONS = 101
"""What mosquitto_passwd 2.0 uses; Mosquitto reads the count from each line, so a higher one works too."""

SALT_BYTES = 12
PASSWORD_LENGTH = 32
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
"""Letters and digits that cannot be misread (no 0/O, 1/l/I): safe to copy by hand, quote-free in any shell or TOML."""
HUB_CREDENTIAL = "hub-mqtt-password"
"""The systemd credential (LoadCredential=) holding the hub's own broker password."""

HUB_PASSWORD_ENV = "HUB_PASSWORD"


def generate_password() -> str:
    """A fresh random password: 32 characters from a 57-letter alphabet (about 186 bits)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The Mosquitto 2.0 ``$7$`` hash of password, with a random salt unless one is given."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${b64(salt)}${b64(digest)}"


def verify_password(password: str, hashed: str) -> bool:
    """True when password matches a ``$7$`` hash; False for a wrong password or a hash in another format."""
    try:
        _, kind, iterations, salt, digest = hashed.split("$")
        if kind != "7":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), base64.b64decode(salt, validate=True), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def set_password_line(path: str | os.PathLike, user: str, hashed: str) -> bool:
    """Add or replace user's line in a Mosquitto password file, atomically; return True when it replaced one.

    Other lines are kept as they are. The file is created (mode 0640) when it is missing; an
    existing file keeps its mode and owner. Mosquitto reads it again on SIGHUP.
    Raises PasswordFileError when the user name cannot be a line of the file.
    """
    if not user or ":" in user or any(c.isspace() for c in user):
        raise PasswordFileError(f"{user!r} cannot be a user name in a password file")
    target = Path(path)
    lines = read_lines(target)
    kept = [line for line in lines if line.split(":", 1)[0] != user]
    replace_file(target, "".join(f"{line}\n" for line in [*kept, f"{user}:{hashed}"]))
    return len(kept) != len(lines)


def read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise PasswordFileError(f"cannot read password file {path}: {exc}") from None
    return [line for line in text.splitlines() if line.strip()]


def replace_file(path: Path, text: str) -> None:
    """Write text to a temporary file beside path and rename it over path: a reader sees the old or the new file."""
    try:
        old = path.stat()
    except FileNotFoundError:
        old = None
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    except OSError as exc:
        raise PasswordFileError(f"cannot write beside {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temporary, 0o640 if old is None else old.st_mode & 0o7777)
        if old is not None and os.geteuid() == 0:
            os.chown(temporary, old.st_uid, old.st_gid)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def hub_password(given: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The hub's broker password: the --password flag, else $HUB_PASSWORD, else the systemd credential; None when none."""
    if given:
        return given
    if environ.get(HUB_PASSWORD_ENV):
        return environ[HUB_PASSWORD_ENV]
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        path = Path(directory) / HUB_CREDENTIAL
        if path.is_file():
            return path.read_text(encoding="utf-8").strip() or None
    return None


WEB_SECRET_CREDENTIAL = "hub-web-secret"
"""The systemd credential holding the key that signs the workspace's session cookie (install-hub.sh creates it)."""
WEB_SECRET_ENV = "HUB_WEB_SECRET"


def web_secret(environ: Mapping[str, str] = os.environ) -> str | None:
    """The workspace's cookie key: $HUB_WEB_SECRET, else the systemd credential; None when there is neither."""
    if environ.get(WEB_SECRET_ENV):
        return environ[WEB_SECRET_ENV]
    directory = environ.get("CREDENTIALS_DIRECTORY")
    path = Path(directory) / WEB_SECRET_CREDENTIAL if directory else None
    if path is not None and path.is_file():
        return path.read_text(encoding="utf-8").strip() or None
    return None
