"""The publisher: moves outbox rows to the district hub over MQTT v5 until the hub's watermark covers them (and the
province's too, with ``hub.province_acks``: kiosk/uplink/sources.py).

One thread does everything: `run` calls paho's ``loop()`` itself, so the
callbacks, the decisions (`Flow`) and the SQLite writes all happen on it, with
the thread's own connection. Nothing is sent but outbox rows, exactly as
stored; "not connected" leaves them pending. A row is *published* when its
PUBACK carries a success code other than 16, and *done* when the hub's retained
acknowledgement covers it.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

import wire
from daemon import systemd
from daemon.threads import Loop
from wire import signature

from ..config import Config, HubSettings
from ..errors import ConfigError
from ..queue import outbox
from ..queue.clock import Clock
from ..queue.events import backlog
from ..queue.store import Store
from .confirm import Confirmer
from .flow import Flow
from .link import Backoff, Session, check_settings, connect, delivered, describe, new_client, parse_broker
from .progress import Progress, summary
from .sources import NAMES, Heard, ack_topics
from .status import CameraRate, status_message

logger = logging.getLogger(__name__)

LOOP_SECONDS = 0.02
"""Longest wait in paho's select(): new outbox rows leave within this when the link is idle."""
CONNACK_TIMEOUT = 10.0
STOP_SECONDS = 2.0
"""On a clean exit, how long to wait for the broker to take the `stopped` status."""
STALLED_SECONDS = 25.0


MARKS_BUSY_MS = 20
"""How long the publisher waits for the database's write lock before leaving its marks for the next turn."""


class Publisher(Loop):
    """Sends the outbox of ``store`` to the broker in ``config.hub``; `run` until `stop` (`start` runs it on its own thread).

    ``camera_fps`` returns the scanner's frame rate for the status (None: unknown).
    """

    thread_name = "publisher"

    def __init__(self, config: Config, store: Store, *, camera_fps: Callable[[], float | None] = lambda: None,
                 clock: Clock | None = None, monotonic: Callable[[], float] = time.monotonic):
        super().__init__()
        self.settings = config.hub
        self.kiosk = config.kiosk.id
        self.broker = parse_broker(config.hub.broker) if config.hub.broker else None
        check_settings(self.settings)
        self.signer = load_signer(self.settings)
        self.store = store
        self.camera = CameraRate(camera_fps)
        self.clock = clock or Clock()
        self.monotonic = monotonic
        self.topics = {kind: wire.topic(self.kiosk, kind) for kind in wire.KIOSK_KINDS}
        self.ack_topics = ack_topics(self.kiosk, self.settings.province_acks)
        """topic -> source of each acknowledgement this kiosk waits for."""
        self.heard = Heard(tuple(self.ack_topics.values()))
        self.beat = monotonic()
        """When the loop last went round, for the watchdog."""
        self.flow = Flow(self.settings.window, self.settings.ahead, self.settings.resend_seconds, self.beat)
        self.confirmer = Confirmer(self.kiosk)
        self.unconfirmed: tuple | None = None
        """The last acknowledgement that could not be confirmed, so that the same one is not folded again."""
        self.session: Session | None = None
        self.backoff = Backoff()
        self.attempts = 0
        self.errors: dict[str, str] = {}
        """The current error of each kind (connect, subscribe, publish, status), for the board."""
        self.hub_state: str | None = None
        self.progress = Progress()
        self.status_due = 0.0
        self.known_last = 0
        self.data_version = None

    @property
    def connected(self) -> bool:
        """True between a success CONNACK and the end of that connection."""
        return self.session is not None and self.session.connected_at is not None

    # -- the loop ---------------------------------------------------------------------------------------------------

    def run(self) -> None:
        """Publish until `stop` is called, then say `stopped` and disconnect; closes this thread's database connection."""
        try:
            # The marks this thread writes can be re-derived (a lost one only re-sends a row): no fsync per PUBACK.
            # Never wait long for the write lock the use cases hold: the marks keep for the next turn, while
            # waiting in SQLite's busy handler (steps of up to 100 ms) would stop publishing (bench: p99 80-255 ms).
            self.store.relax(MARKS_BUSY_MS)
            self.load()
            if self.broker is None or self.signer is None:
                self.idle()
                return
            while not self.stopping.is_set():
                self.step()
            self.shut_down()
        except Exception:
            logger.exception("the publisher stopped on an unexpected error")
            raise
        finally:
            self.store.close()

    def healthy(self) -> bool:
        """For the watchdog: the loop went round recently."""
        return self.monotonic() - self.beat < STALLED_SECONDS

    def idle(self) -> None:
        """No broker, or no key to sign with: nothing leaves; say why on the board until stopped."""
        if self.broker is None:
            logger.warning("publisher off: hub.broker is empty; events stay in the outbox")
        else:
            self.fail("key", "no kiosk key to sign events with (hub.key_file, or the credential kiosk-key): events stay "
                             "in the outbox; make one with `kiosk identity new` and enroll it at the hub")
        self.save()
        while not self.stopping.wait(1.0):
            self.beat = self.monotonic()

    def load(self) -> None:
        row = outbox.uplink(self.store.db)
        self.flow.watermark = row["watermark"]
        self.flow.restart(self.monotonic())
        self.progress.acked_at = row["acked_at"]
        refused = sum(len(seqs) for verdict, seqs in outbox.verdicts(self.store.db).items() if verdict.startswith("refused"))
        self.confirmer = Confirmer(self.kiosk, row["watermark"], bytes.fromhex(row["chain"]) if row["chain"] else None, refused)

    def step(self) -> None:
        """One turn: connect when due, let paho read and write, send what the window allows, save the marks."""
        now = self.beat = self.monotonic()
        if self.session is None and self.backoff.due(now):
            self.open(now)
        if self.session is None:
            self.stopping.wait(min(0.2, max(0.0, self.backoff.next_attempt - now)))
        else:
            self.pump(now)
        for action in (self.refresh_status, self.send, self.flow.rewind_if_silent):
            if not self.connected:  # a publish can find the connection gone
                break
            action(self.monotonic())
        self.save()

    def pump(self, now: float) -> None:
        if not self.connected and now - self.session.opened_at > CONNACK_TIMEOUT:
            self.lost(f"the broker did not answer the connection within {CONNACK_TIMEOUT:g} s")
            return
        try:
            rc = self.session.client.loop(LOOP_SECONDS)
        except OSError as exc:  # paho lets a few socket errors through
            rc = exc
        if rc != mqtt.MQTT_ERR_SUCCESS and self.session is not None:
            self.lost(f"connection lost: {rc if isinstance(rc, OSError) else mqtt.error_string(rc)}")

    # -- the connection ---------------------------------------------------------------------------------------------

    def open(self, now: float) -> None:
        """Start a connection attempt: a fresh client with the `offline` will, CONNECT with Clean Start 0."""
        self.attempts += 1
        will = status_message(self.kiosk, "offline", self.clock.now(), counts=None, camera_fps=None)
        client = new_client(self.kiosk, self.broker, self.settings, will)
        client.on_connect, client.on_disconnect, client.on_subscribe = self.on_connect, self.on_disconnect, self.on_subscribe
        client.on_publish, client.on_message = self.on_publish, self.on_message
        try:
            connect(client, self.broker, self.settings)
        except (OSError, ValueError) as exc:
            self.fail("connect", f"cannot reach the broker {self.broker}: {exc}")
            self.backoff.failed(now)
            return
        self.session = Session(client, opened_at=now)

    def on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            # A refused connection is not a connection: the broker closes it and we try again later.
            self.fail("connect", f"the broker {self.broker} refused the connection: {describe(reason_code)}")
            self.session.refused = True
            return
        self.session.connected_at = self.monotonic()
        self.errors.pop("connect", None)
        logger.info("connected to %s (session present: %s)", self.broker, flags.session_present)
        options = SubscribeOptions(qos=1)
        result, _mid = client.subscribe([*((name, options) for name in self.ack_topics), (wire.HUB_STATUS_TOPIC, options)])
        if result != mqtt.MQTT_ERR_SUCCESS:
            self.fail("subscribe", f"cannot subscribe: {mqtt.error_string(result)}")
        self.flow.restart(self.session.connected_at)
        self.status_due = 0.0  # `online` at once

    def on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self.session.subscribed_at = self.monotonic()
        refused = [describe(code) for code in reason_codes if code.is_failure]
        if refused:
            self.fail("subscribe", f"the broker refused the subscription to the acknowledgements or the hub status: {', '.join(refused)}")
        else:
            self.errors.pop("subscribe", None)

    def on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self.session is not None and client is self.session.client:
            sent_by_broker = flags.is_disconnect_packet_from_server
            self.lost(f"the broker disconnected: {describe(reason_code)}" if sent_by_broker else "the connection to the broker was lost")

    def lost(self, why: str) -> None:
        """The connection is gone: nothing in flight counts as published; connect again after a delay."""
        now = self.monotonic()
        session, self.session = self.session, None
        if not session.refused:  # a refusal already said why, better than the closed socket that follows it
            self.fail("connect", why)
        self.flow.restart(now)
        self.backoff.failed(now, lasted=now - session.connected_at if session.connected_at is not None else 0.0)
        session.client.disconnect()  # paho has closed the socket already, unless the CONNACK never came

    def fail(self, kind: str, message: str) -> None:
        """Keep ``message`` as the error of ``kind`` for the board; log it when it is new."""
        if self.errors.get(kind) != message:
            logger.warning("%s", message)
        self.errors[kind] = message

    # -- sending ----------------------------------------------------------------------------------------------------

    def send(self, now: float) -> None:
        """Publish gap rows first, then rows in order, as far as the window and the watermark allow."""
        if not self.session.ready(now):
            return
        room = self.flow.room(now)
        if room and self.flow.resends:
            rows = outbox.rows_in(self.store.db, self.flow.take_resends(room))
            room -= self.publish_rows(rows, now)
        first, count = self.flow.in_order(room)
        if count and (first <= self.known_last or self.outbox_grew()):
            self.publish_rows(outbox.rows_from(self.store.db, first, count), now)

    def outbox_grew(self) -> bool:
        """True when another connection committed since the last look and the outbox now has rows past the cursor."""
        version = self.store.data_version()
        if version == self.data_version:
            return False
        self.data_version = version
        self.known_last = outbox.last_seq(self.store.db)
        return self.flow.cursor <= self.known_last

    def publish_rows(self, rows: list[tuple[int, str]], now: float) -> int:
        sent = 0
        for seq, body in rows:
            if self.session is None:
                break
            info = self.session.client.publish(self.topics[wire.EVENT], self.signer.sign(body), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break  # not connected any more: the row stays pending
            self.flow.sent(info.mid, seq, now)
            sent += 1
        return sent

    def on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        seq = self.flow.answered(mid)
        if seq is None:
            self.session.status_mids.discard(mid)
            if reason_code.is_failure:
                self.fail("status", f"the broker refused the status: {describe(reason_code)}")
            return
        if delivered(reason_code):
            self.progress.taken.append(seq)
            self.flow.taken()
            self.errors.pop("publish", None)
            return
        hold = self.flow.refused(seq, self.monotonic())
        if hold is not None:  # once per round of refusals: the first row refused, the same again until it goes through
            event = wire.event_id(self.kiosk, seq)
            self.fail("publish", f"the broker did not take event {event}: {describe(reason_code)}")
            logger.debug("event %s stays in the outbox; sending again in %.1f s", event, hold)

    def on_message(self, client, userdata, message) -> None:
        self.session.heard_at = self.monotonic()
        try:
            if message.topic in self.ack_topics:
                self.take_ack(self.ack_topics[message.topic], wire.parse_ack(self.kiosk, message.payload))
            elif message.topic == wire.HUB_STATUS_TOPIC:
                self.hub_state = wire.parse_hub_status(message.payload)["state"] if message.payload else None
                self.flow.hub_state(self.hub_state, self.monotonic())
        except wire.Rejected as exc:
            logger.warning("ignored a malformed message on %s: %s", message.topic, exc.reason)

    def take_ack(self, source: str, ack: wire.Ack) -> None:
        """Take one source's acknowledgement; act on the lower of the sources' latest (kiosk/uplink/sources.py)."""
        last = outbox.last_seq(self.store.db)
        if ack.watermark > last:
            # The hub has events of this kiosk id that this database never recorded (a kiosk id reused with a new
            # database): marking our rows done would hide that, so the acknowledgement is not taken.
            self.fail("ack", f"{NAMES[source]} acknowledges up to {ack.watermark} but this kiosk's outbox ends at {last}: "
                             "is this kiosk id used by another kiosk or database?")
            return
        chosen = self.heard.hear(source, ack)
        if chosen is not None:
            self.act_on(chosen)

    def act_on(self, ack: wire.Ack) -> None:
        """Confirm what the acknowledgement says the hub holds; let the flow go on from it and send its gaps."""
        self.confirm(ack)
        # The flow goes no further than what this kiosk confirmed: events the hub says it settled with a text this
        # kiosk did not write (a forgery that got in first) are still sent, so that the hub sees them and records the
        # dispute. A hub whose watermark went back below it (a restored database) has everything after it sent again;
        # a hub that gives no chain confirms nothing, and its watermark is taken as it is.
        settled = min(ack.watermark, self.confirmer.confirmed) if ack.chain else ack.watermark
        self.flow.acknowledged(settled, ack.gaps, self.monotonic())

    def confirm(self, ack: wire.Ack) -> None:
        """Mark what the acknowledgement confirms the hub holds as this kiosk wrote it; name what it does not."""
        attempt = (ack.watermark, ack.chain, ack.refused, ack.disputed)
        if attempt == self.unconfirmed:
            return
        first = self.confirmer.confirmed + 1
        texts = outbox.rows_from(self.store.db, first, max(0, ack.watermark - first + 1)) if ack.chain else []
        result = self.confirmer.confirm(ack, texts)
        if result.problem is not None:
            self.unconfirmed = attempt
            self.fail("ack", result.problem)
            return
        self.unconfirmed = None
        self.errors.pop("ack", None)
        if result.confirmed >= first:
            self.progress.acked_at = self.clock.now().wall.isoformat()
            self.progress.watermark_moved = True
            self.progress.verdicts.update(result.verdicts)
            for seq, verdict in sorted(result.verdicts.items()):
                logger.warning("the hub settled event %s as %s", wire.event_id(self.kiosk, seq), verdict)

    # -- status and records -----------------------------------------------------------------------------------------

    def refresh_status(self, now: float) -> None:
        self.camera.current(now)
        if now >= self.status_due:
            self.publish_status("online")
            self.status_due = now + self.settings.status_seconds

    def publish_status(self, state: str) -> int | None:
        """Publish the retained status (QoS 1); return its message id, None when not connected."""
        body = status_message(self.kiosk, state, self.clock.now(), counts=backlog(self.store.db), camera_fps=self.camera.value)
        info = self.session.client.publish(self.topics[wire.STATUS], body, qos=1, retain=True)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        self.session.status_mids.add(info.mid)
        return info.mid

    def uplink_row(self) -> dict:
        return {
            "broker": str(self.broker) if self.broker else "", "connected": int(self.connected), "hub_state": self.hub_state,
            "watermark": self.confirmer.confirmed, "chain": self.confirmer.chain.hex(),
            "unconfirmed": int(self.unconfirmed is not None), "acked_at": self.progress.acked_at,
            "error": "; ".join(self.errors.values()) or None,
        }

    def save(self) -> None:
        """Write the turn's marks and a changed uplink row; tell systemd when the link changed."""
        row = self.uplink_row()
        if self.progress.save(self.store, row, lambda: self.clock.now().wall.isoformat()):
            systemd.status(summary(row))

    def shut_down(self) -> None:
        """Clean exit: the retained `stopped` status, then DISCONNECT (so the broker does not send the will)."""
        if self.connected:
            mid = self.publish_status("stopped")
            deadline = self.monotonic() + STOP_SECONDS
            while self.session is not None and mid in self.session.status_mids and self.monotonic() < deadline:
                self.session.client.loop(LOOP_SECONDS)
        if self.session is not None:
            session, self.session = self.session, None
            session.client.disconnect()
            session.client.loop(LOOP_SECONDS)
        self.save()
        logger.info("publisher stopped at watermark %d", self.flow.watermark)


def load_signer(settings: HubSettings) -> signature.Signer | None:
    """The kiosk's event signer from hub.key_file; None when there is no key. Raise ConfigError for a bad key."""
    if not settings.key_file:
        return None
    try:
        return signature.Signer.from_file(settings.key_file)
    except signature.SignatureError as exc:
        raise ConfigError(f"hub.key_file: {exc}") from None
