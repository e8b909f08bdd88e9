"""One MQTT v5 connection to the district broker: its address, credentials, TLS, Last Will and persistent session."""

from __future__ import annotations

import os
import socket
import ssl
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import wire

from ..config import HubSettings
from ..errors import ConfigError

CONNECT_TIMEOUT = 5.0
"""Seconds a TCP (and TLS) connection attempt may take before it counts as failed."""
RECONNECT_MIN_SECONDS = 0.25
RECONNECT_MAX_SECONDS = 30.0
STABLE_SECONDS = 10.0
"""A connection that lasted this long resets the reconnect delay; shorter ones (a fight over the client id) keep doubling it."""
SETTLE_SECONDS = 0.05
"""After the SUBACK, events wait until the retained messages have been quiet this long (see `Session.ready`)."""
STATUS_SLOTS = 4
"""paho's in-flight limit is the event window plus these, so a status message never waits behind events."""


def parse_broker(url: str) -> wire.BrokerAddress:
    """Return the broker named by ``mqtt://host[:port]`` or ``mqtts://host[:port]``; raise ConfigError naming hub.broker."""
    try:
        return wire.parse_broker(url)
    except ValueError as exc:
        raise ConfigError(f"hub.broker: {exc}") from None


def check_settings(settings: HubSettings) -> None:
    """Raise ConfigError for hub settings the publisher cannot work with."""
    for key in ("window", "ahead", "keepalive_seconds"):
        if getattr(settings, key) < 1:
            raise ConfigError(f"hub.{key}: must be at least 1, got {getattr(settings, key)}")
    if settings.resend_seconds <= 0 or settings.status_seconds <= 0 or settings.session_expiry_hours <= 0:
        raise ConfigError("hub.resend_seconds, hub.status_seconds and hub.session_expiry_hours must be more than 0")
    if settings.ca_file and not os.access(settings.ca_file, os.R_OK):
        raise ConfigError(f"hub.ca_file: cannot read {settings.ca_file}")
    if settings.cert_file:
        tls_context(settings)  # a certificate without its key, or for another key, is a setting to fix, not a retry


def new_client(kiosk_id: str, broker: wire.BrokerAddress, settings: HubSettings, will: bytes) -> mqtt.Client:
    """A paho client for one connection attempt: client id = kiosk id, credentials, TLS for mqtts, the `offline` will.

    A fresh client per attempt keeps paho's in-memory session out of the way:
    after a reconnect the publisher itself re-sends from the hub's watermark.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=kiosk_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(settings.username or kiosk_id, settings.password or None)
    if broker.tls:
        client.tls_set_context(tls_context(settings))
    client.will_set(wire.topic(kiosk_id, wire.STATUS), will, qos=1, retain=True)
    client.max_inflight_messages_set(settings.window + STATUS_SLOTS)
    client.connect_timeout = CONNECT_TIMEOUT
    client.on_socket_open = no_delay
    return client


class ClosingSSLSocket(ssl.SSLSocket):
    """An SSL socket that closes itself when its handshake fails: paho would leave it open (a leaked descriptor per attempt)."""

    def do_handshake(self, *args, **kwargs):
        try:
            return super().do_handshake(*args, **kwargs)
        except BaseException:
            self.close()
            raise


def tls_context(settings: HubSettings) -> ssl.SSLContext:
    """Verify the broker's certificate and host name against hub.ca_file (the system's CAs when empty); with
    hub.cert_file, show the broker the kiosk's certificate and prove its key (hub.key_file): mutual TLS.

    Raise ConfigError for a certificate without a key, or a key the certificate does not certify. A key
    without a certificate is fine: it signs the events, and the connection goes without a client certificate.
    """
    context = ssl.create_default_context(cafile=settings.ca_file or None)
    context.sslsocket_class = ClosingSSLSocket
    if settings.cert_file:
        if not settings.key_file:
            raise ConfigError("hub.cert_file is set but no key is (hub.key_file, or the credential kiosk-key)")
        try:
            context.load_cert_chain(settings.cert_file, settings.key_file)
        except FileNotFoundError as exc:
            raise ConfigError(f"hub.cert_file / hub.key_file: cannot read {exc.filename}") from None
        except ssl.SSLError as exc:
            raise ConfigError(f"hub.cert_file {settings.cert_file} and hub.key_file {settings.key_file} do not go "
                              f"together ({exc.reason or exc}): a new key needs a new certificate from `hub enroll`") from None
        except OSError as exc:
            raise ConfigError(f"hub.cert_file / hub.key_file: {exc}") from None
    return context


def no_delay(client, userdata, sock) -> None:
    """Turn Nagle's algorithm off: a PUBLISH written after our PUBACK of an acknowledgement would otherwise wait ~40 ms for the TCP ACK."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):  # not a TCP socket (a proxy, a test socket pair): nothing to tune
        pass


def connect(client: mqtt.Client, broker: wire.BrokerAddress, settings: HubSettings) -> None:
    """Open the TCP connection and send CONNECT: Clean Start 0 and a session expiry, so the broker keeps the session.

    Raises OSError when the broker cannot be reached; the CONNACK comes later, to on_connect.
    """
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = int(settings.session_expiry_hours * 3600)
    client.connect(broker.host, broker.port, keepalive=settings.keepalive_seconds, clean_start=False, properties=properties)


def delivered(reason_code) -> bool:
    """True when a PUBACK's reason code means the broker took the message for a subscriber.

    16 (no matching subscribers) is a success code in MQTT v5, but the message
    is gone; 0x80 and above are refusals (135: not authorised by the ACL).
    """
    value = reason_code.value if hasattr(reason_code, "value") else int(reason_code)
    return value < 0x80 and value != 16


def describe(reason_code) -> str:
    """A reason code as the log and the board show it: its name and number."""
    value = reason_code.value if hasattr(reason_code, "value") else int(reason_code)
    return f"{reason_code} ({value})" if str(reason_code) != str(value) else str(value)


@dataclass
class Session:
    """One connection attempt and what is known of it; a new one for every attempt."""

    client: mqtt.Client
    opened_at: float
    connected_at: float | None = None
    """When the broker accepted the connection (a success CONNACK); None before, or when it refused."""
    refused: bool = False
    subscribed_at: float | None = None
    heard_at: float = 0.0
    """When a message (an acknowledgement, the hub's status) last arrived."""
    settled: bool = False
    status_mids: set[int] = field(default_factory=set)
    """Status messages awaiting their PUBACK."""

    def ready(self, now: float) -> bool:
        """True once the subscriptions are acknowledged and their retained messages read: events may go.

        Starting from the retained watermark saves re-sending what the hub has.
        And Mosquitto closes the connection right after an ACL refusal: had we
        just acknowledged a retained message, the socket would be reset and the
        refusal's reason code lost with it.
        """
        if not self.settled and self.subscribed_at is not None:
            self.settled = now - max(self.subscribed_at, self.heard_at) >= SETTLE_SECONDS
        return self.settled


class Backoff:
    """When to try connecting again: a delay that doubles after each failure, up to RECONNECT_MAX_SECONDS."""

    def __init__(self):
        self.delay = RECONNECT_MIN_SECONDS
        self.next_attempt = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_attempt

    def failed(self, now: float, *, lasted: float = 0.0) -> None:
        """A connection attempt failed, or a connection that ``lasted`` seconds ended."""
        self.delay = RECONNECT_MIN_SECONDS if lasted >= STABLE_SECONDS else min(self.delay * 2, RECONNECT_MAX_SECONDS)
        self.next_attempt = now + self.delay

