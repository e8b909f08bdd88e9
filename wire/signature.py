"""Event signatures: every event leaves its kiosk signed with the kiosk's own key, and the hub merges only what verifies.

The key is the kiosk's ECDSA P-256 key pair, made on the kiosk at provisioning
(`kiosk identity new`); the district CA certifies its public half at `hub enroll`,
so the same key opens the kiosk's mutual-TLS connection and signs its events.
A signature travels inside the event, so an event's origin can still be checked
after it has crossed a bridge to a province broker or sat in a database for years.

The signed text is the event exactly as the kiosk's outbox keeps it (canonical
JSON, wire.envelope); the message on the wire is that text with one member
appended at its end::

    {...the outbox text without its closing brace...,"sig":"<key id>.<signature>"}

``<key id>`` names the kiosk's key (16 hex digits of the SHA-256 of its public
key), ``<signature>`` is the 64-byte ``r || s`` of ECDSA P-256 over SHA-256, in
base64url without padding. The hub recovers the signed bytes by cutting the
fixed-length member off, never by re-encoding JSON. Signing is deterministic
(RFC 6979): the same text signed with the same key gives the same message, so
a re-send is byte-identical to the first send.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

SIG_FIELD = "sig"
KEY_ID_CHARS = 16
SIGNATURE_BYTES = 64
SIGNATURE_CHARS = 86
"""64 bytes in base64url without padding."""
SIG_PATTERN = rf"^[0-9a-f]{{{KEY_ID_CHARS}}}\.[A-Za-z0-9_-]{{{SIGNATURE_CHARS}}}$"
"""What the event schema accepts as ``sig``."""
PREFIX = b',"sig":"'
SUFFIX_BYTES = len(PREFIX) + KEY_ID_CHARS + 1 + SIGNATURE_CHARS + len(b'"}')
ALGORITHM = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
CURVE = ec.SECP256R1
_SIG = re.compile(SIG_PATTERN.encode())


class SignatureError(ValueError):
    """A key that cannot sign or verify kiosk events (wrong type or curve, unreadable file)."""


@dataclass(frozen=True)
class Signed:
    """A signed message taken apart: the bytes the kiosk signed, the key that signed them and the signature."""

    text: bytes
    key_id: str
    signature: bytes


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The key's id as events carry it: the first 16 hex digits of the SHA-256 of its DER SubjectPublicKeyInfo."""
    return hashlib.sha256(public_der(public_key)).hexdigest()[:KEY_ID_CHARS]


def public_der(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The public key as DER SubjectPublicKeyInfo: how the hub stores it."""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_der(der: bytes) -> ec.EllipticCurvePublicKey:
    """The P-256 public key in DER SubjectPublicKeyInfo; raise SignatureError for anything else."""
    try:
        key = serialization.load_der_public_key(der)
    except ValueError as exc:
        raise SignatureError(f"not a public key: {exc}") from None
    return check_curve(key)


def check_curve(key):
    """Return key when it is a P-256 key (public or private); raise SignatureError otherwise."""
    if not isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)) or not isinstance(key.curve, CURVE):
        raise SignatureError("kiosk keys are ECDSA P-256 (prime256v1) keys")
    return key


def generate_key() -> ec.EllipticCurvePrivateKey:
    """A new P-256 private key."""
    return ec.generate_private_key(CURVE())


def private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The private key as unencrypted PKCS#8 PEM (the file is protected by its mode and by systemd's credentials)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load_private_key(path: str | Path) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key in the PEM file at path; raise SignatureError saying what is wrong."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SignatureError(f"cannot read the kiosk key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    return check_curve(key)


class Signer:
    """Signs a kiosk's outbox texts with its private key."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey):
        self.private_key = check_curve(private_key)
        self.key_id = key_id(private_key.public_key())
        self.prefix = PREFIX + self.key_id.encode() + b"."

    @classmethod
    def from_file(cls, path: str | Path) -> Signer:
        return cls(load_private_key(path))

    def sign(self, text: str | bytes) -> bytes:
        """The message to publish for one outbox text (a JSON object): the text with its signature member appended."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        if not data.endswith(b"}"):
            raise ValueError("only a JSON object can be signed")
        r, s = decode_dss_signature(self.private_key.sign(data, ALGORITHM))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return data[:-1] + self.prefix + base64.urlsafe_b64encode(raw).rstrip(b"=") + b'"}'


def split(message: bytes) -> Signed | None:
    """The signed text, key id and signature of a message; None when its end is not a well-formed signature member.

    Cheap: looks at the last SUFFIX_BYTES bytes only. A message that passes still
    has to verify, and to pass the schema.
    """
    if len(message) <= SUFFIX_BYTES or not message.startswith(b"{"):
        return None
    tail = message[-SUFFIX_BYTES:]
    if not tail.startswith(PREFIX) or not tail.endswith(b'"}'):
        return None
    value = tail[len(PREFIX):-2]
    if _SIG.fullmatch(value) is None:
        return None
    key, _, encoded = value.partition(b".")
    try:
        raw = base64.urlsafe_b64decode(encoded + b"==")
    except binascii.Error:
        return None
    if len(raw) != SIGNATURE_BYTES:
        return None
    return Signed(message[:-SUFFIX_BYTES] + b"}", key.decode(), raw)


def verify(public_key: ec.EllipticCurvePublicKey, signed: Signed) -> bool:
    """True when signed.signature is the key's signature of signed.text."""
    r = int.from_bytes(signed.signature[:32], "big")
    s = int.from_bytes(signed.signature[32:], "big")
    if not (0 < r and 0 < s):
        return False
    try:
        public_key.verify(encode_dss_signature(r, s), signed.text, ALGORITHM)
    except InvalidSignature:
        return False
    return True


def unsigned(message: str | bytes) -> bytes:
    """The text a message signs (the message itself when it carries no signature member)."""
    data = message.encode("utf-8") if isinstance(message, str) else message
    parts = split(data)
    return data if parts is None else parts.text


def digest(text: bytes) -> bytes:
    """SHA-256 of the signed text of one event: what the acknowledgement's chain is made of."""
    return hashlib.sha256(text).digest()
