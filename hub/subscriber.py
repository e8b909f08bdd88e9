"""`hub run`: the MQTT side of the hub. One thread, one paho client, one loop: receive, gather batches, acknowledge.

Parsing and committing run in a child process, the merge worker (hub/worker.py):
the loop hands it one whole batch of raw messages at a time and gathers the
next one while the worker commits (one CPython process cannot do both at the
broker's rate). The worker answers each batch after its commit; only then are
its messages acknowledged. A worker that dies stops the hub, non-zero; one
whose commits stop (messages waiting longer than --stall-seconds) makes the hub
report a stall and withhold the systemd watchdog (hub/liveness.py).

The order that makes delivery safe: a message is acknowledged to the broker
(PUBACK, paho's manual acknowledgement) and the kiosk's watermark is published
only after the store committed the batch holding it. A hub killed at any moment
leaves its uncommitted messages unacknowledged in its persistent session, and
the broker delivers them again (the store absorbs the repeats).

Mosquitto keeps a v5 session (and the messages queued for it while the hub is
away) only when the client's last CONNECT had Clean Start = 0, so every CONNECT
here has it, with a long Session Expiry Interval.
"""

from __future__ import annotations

import logging
import signal
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import wire
from daemon import systemd, version

from .errors import BrokerError, WorkerDied
from .ingest import Delivery, Flushed, utc_now
from .liveness import STALL_SECONDS, Liveness, summary
from .worker import Gathering, Retrying, Worker
from .store import Store

logger = logging.getLogger(__name__)

SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
"""How long the broker keeps the hub's session and queues events for it while the hub is down."""

KEEPALIVE_SECONDS = 30
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 30.0
LOOP_MAX_WAIT_SECONDS = 0.25
"""The longest one paho loop call waits: how quickly a signal stops the hub."""
HEALTHY_SECONDS = 20.0
"""The watchdog withholds pings when the loop has not turned for this long."""
REPORT_SECONDS = 60.0
STOP_WAIT_SECONDS = 3.0
STOP_COMMIT_SECONDS = 10.0
"""On SIGTERM, how long the last batches may take to commit before the worker is killed (they stay unacknowledged)."""
WORKER_POLL_SECONDS = 0.001
"""While the worker commits, how often the loop looks for its answer (paho's select cannot wait on the pipe)."""


ACKS_IN_FLIGHT = 10_000
"""Outgoing QoS 1 messages (acknowledgements, status) paho keeps in flight; one per kiosk per batch."""


def parse_broker(url: str) -> wire.BrokerAddress:
    """Return host, port and TLS of ``mqtt://host[:1883]`` or ``mqtts://host[:8883]``; raise BrokerError otherwise."""
    try:
        return wire.parse_broker(url)
    except ValueError as exc:
        raise BrokerError(f"--broker: {exc}") from None


@dataclass(frozen=True)
class RunSettings:
    """What `hub run` needs besides its store."""

    broker: str
    db: str
    client_id: str = "hub"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    catalogue: str | None = None
    batch_ms: float = 20.0
    batch_max: int = 500
    stall_seconds: float = STALL_SECONDS
    """Merging counts as stalled once a received message has waited this long for its commit (hub/liveness.py)."""
    districts: tuple[str, ...] = ()
    """A province worker's districts (`--district`): it subscribes to their prefixed topics only and acknowledges on
    them. Empty: a district hub, on the kiosks' own topics."""
    acks: str = "district"
    """``district``: a lone district; ``province``: the kiosks also wait for the province's acknowledgements (the
    bridge brings them in on wire.province_ack_topic), so this hub says online only while its bridge is up
    (hub/config.py ProvinceSettings). It publishes its own acknowledgements either way."""

    @property
    def filters(self) -> list[str]:
        """The topic filters `hub run` subscribes to: every district's events and statuses, or the kiosks' own (and
        the bridge's state, for a district whose kiosks hear the province)."""
        if self.districts:
            return [name for district in self.districts for name in wire.district_filters(district)]
        return [wire.EVENT_FILTER, wire.STATUS_FILTER, *([wire.BRIDGE_STATE_TOPIC] if self.acks == "province" else [])]


class Hub:
    """The ingest service: connect, subscribe, gather batches, have the worker commit them, acknowledge; until `stop`.

    ``store`` serves the parent's reads only (the enrolled kiosks and their acks to re-publish on connect); the
    merge worker opens its own connection to ``settings.db`` and is the only writer.
    """

    def __init__(self, settings: RunSettings, store: Store, *, say: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.address = parse_broker(settings.broker)
        self.store = store
        self.say = say
        self.clock = clock
        self.window = settings.batch_ms / 1000.0
        self.gathering = Gathering()
        self.worker: Worker | None = None
        self.worker_dead = False
        self.liveness = Liveness(store.note_merging, stall_seconds=settings.stall_seconds, clock=clock)
        self.heard: Retrying | None = None
        self.totals: Counter = Counter()
        self.client = self.build_client()
        self.state = "down"  # down -> connecting -> up -> down ...
        self.generation = 0
        self.next_attempt = 0.0
        self.backoff = RECONNECT_FIRST_SECONDS
        self.announced = False
        self.bridge_up = False
        """With ``acks = "province"``: whether the district broker's bridge to the province is connected (its retained
        notification, wire.BRIDGE_STATE_TOPIC); until it says so, the hub says it is offline."""
        self.stopping = threading.Event()
        """Set by `stop` (the signal handlers): `run` finishes its turn, commits what is pending and returns."""
        self.iterated_at = clock()
        self.reported_at = clock()
        self.districts: dict[str, str] = {}
        """kiosk -> district, for a province worker's acks (read_districts)."""
        self.publishing: dict[int, str] = {}
        """mid of an outgoing publish -> what it was (for the log when the broker refuses it)."""

    # -- the client ---------------------------------------------------------------------------------------------------

    def build_client(self) -> mqtt.Client:
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=self.settings.client_id,
            protocol=mqtt.MQTTv5, manual_ack=True, reconnect_on_failure=False,
        )
        # Acknowledgements must not queue behind paho's default of 20 in flight: during a catch-up their PUBACKs
        # come back behind thousands of events, the kiosks hear nothing for resend_seconds and send it all again.
        client.max_inflight_messages_set(ACKS_IN_FLIGHT)
        if self.settings.password is not None:
            client.username_pw_set(self.settings.username or self.settings.client_id, self.settings.password)
        elif self.settings.username:
            client.username_pw_set(self.settings.username)
        if self.address.tls:
            client.tls_set(ca_certs=self.settings.ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self.on_connect
        client.on_disconnect = self.on_disconnect
        client.on_subscribe = self.on_subscribe
        client.on_message = self.on_message
        client.on_publish = self.on_publish
        return client

    def connect_properties(self) -> Properties:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        # enough in flight to fill a batch while the previous one commits
        properties.ReceiveMaximum = min(65535, max(100, 2 * self.settings.batch_max))
        return properties

    def connect(self) -> None:
        """Open a connection (Clean Start 0, Last Will 'offline'); on failure schedule the next attempt."""
        self.client.will_set(wire.HUB_STATUS_TOPIC, self.status_body("offline"), qos=1, retain=True)
        try:
            self.client.connect(self.address.host, self.address.port, keepalive=KEEPALIVE_SECONDS,
                                clean_start=False, properties=self.connect_properties())
        except (OSError, ValueError) as exc:
            self.connection_failed(f"cannot reach the broker: {exc}")
            return
        self.state = "connecting"

    def connection_failed(self, why: str) -> None:
        logger.warning("%s; next attempt in %.1f s", why, self.backoff)
        self.state = "down"
        self.next_attempt = self.clock() + self.backoff
        self.backoff = min(RECONNECT_MAX_SECONDS, self.backoff * 2)

    def status_body(self, state: str) -> bytes:
        return wire.hub_status(state, at=utc_now(), version=version())

    # -- callbacks (paho calls them from inside client.loop, on this thread) -------------------------------------------

    def on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.connection_failed(f"the broker refused the connection: {reason_code} ({reason_code.value})")
            return
        self.state, self.backoff = "up", RECONNECT_FIRST_SECONDS
        self.generation += 1
        logger.info("connected to %s (session %s)", self.settings.broker,
                    "resumed" if flags.session_present else "new: the broker had kept nothing for the hub")
        options = mqtt.SubscribeOptions(qos=1)
        client.subscribe([(name, options) for name in self.settings.filters])
        self.republish_acks()

    def on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        refused = [(name, code) for name, code in zip(self.settings.filters, reason_codes) if code.is_failure]
        for name, code in refused:
            logger.error("the broker refused the subscription to %s: %s (%s)", name, code, code.value)
        if refused:
            self.client.disconnect()  # not receiving is not running: retry from scratch with backoff
            return
        logger.info("subscribed to %s", ", ".join(self.settings.filters))
        # Online only once subscribed: a kiosk that saw `online` and published before the subscription existed
        # (a broker that lost the hub's session) would get reason code 16 and wait to send again.
        self.publish_status()
        if not self.announced:
            self.announced = True
            self.say(f"hub: merging from {self.settings.broker} into {self.settings.db}")
            systemd.ready(f"merging from {self.settings.broker}")

    def on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was, self.state = self.state, "down"
        self.publishing.clear()
        if self.stopping.is_set():
            return
        if was == "up":
            logger.warning("disconnected from the broker: %s", reason_code)
        if was != "down":  # a refused CONNACK has already scheduled the next attempt
            self.connection_failed("not connected")

    def on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        if message.topic == wire.BRIDGE_STATE_TOPIC:
            self.bridge_state(message)
            return
        gathering = self.gathering
        if gathering.since is None:
            gathering.since = self.clock()
        gathering.messages.append((message.topic, message.payload))
        gathering.deliveries.append(Delivery(self.generation, message.mid, message.qos))

    def on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        what = self.publishing.pop(mid, "a message")
        if reason_code.is_failure:
            logger.error("the broker refused %s: %s (%s)", what, reason_code, reason_code.value)

    def bridge_state(self, message: mqtt.MQTTMessage) -> None:
        """The bridge to the province connected (``1``) or not: say online or offline to the kiosks accordingly, so
        that they send their backlog again only when it can reach the province (kiosk/uplink/flow.py)."""
        if message.qos:
            self.client.ack(message.mid, message.qos)
        up = message.payload.strip() == b"1"
        if up != self.bridge_up:
            self.bridge_up = up
            logger.log(logging.INFO if up else logging.WARNING, "the bridge to the province is %s: the hub says it is %s",
                       "up" if up else "down", "online" if up else "offline")
            self.publish_status()

    # -- publishing and acknowledging ----------------------------------------------------------------------------------

    def publish_status(self) -> None:
        """The retained hub status, once subscribed: online, or offline for a district whose kiosks hear the province
        while its bridge is down (nothing they send can be acknowledged then)."""
        state = "offline" if self.settings.acks == "province" and not self.bridge_up else "online"
        self.publish(wire.HUB_STATUS_TOPIC, self.status_body(state), f"hub status {state}")

    def publish(self, topic: str, body: bytes, what: str) -> None:
        info = self.client.publish(topic, body, qos=1, retain=True)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            logger.warning("could not publish %s: %s", what, mqtt.error_string(info.rc))
            return
        self.publishing[info.mid] = what

    def publish_ack(self, ack: wire.Ack) -> None:
        """Publish a kiosk's ack on its topic: a province worker's on the kiosk's district topic, which the bridge
        carries to the district broker."""
        if not self.settings.districts:
            name = wire.topic(ack.kiosk, wire.ACK)
        elif ack.kiosk in self.districts or self.read_districts():
            name = wire.district_topic(self.districts[ack.kiosk], ack.kiosk, wire.ACK)
        else:  # cannot be: an event only merges here under its kiosk's district (hub/ingest.py is_in)
            logger.error("no district known for kiosk %s: its ack (watermark %d) is not published", ack.kiosk, ack.watermark)
            return
        self.publish(name, ack.encode(), f"the ack for kiosk {ack.kiosk} (watermark {ack.watermark})")

    def read_districts(self) -> bool:
        """Read which kiosk belongs to which of this worker's districts again; True when it worked."""
        try:
            self.districts = {kiosk: district for kiosk, district in self.store.districts().items()
                              if district in self.settings.districts}
        except Exception as exc:  # noqa: BLE001 -- the next batch's acks follow anyway
            logger.error("cannot read the kiosks' districts: %s: %s", type(exc).__name__, exc)
            return False
        return True

    def acknowledged_kiosks(self) -> list[str]:
        """The kiosks whose acks this hub publishes: every enrolled one, or a province worker's districts' ones."""
        if self.settings.districts:
            return sorted(self.districts) if self.read_districts() else []
        return sorted(self.store.enrolled())

    def republish_acks(self) -> None:
        """The current ack of every kiosk this hub acknowledges: a broker that crashed may have lost the retained ones."""
        at = utc_now()
        try:
            acks = [self.store.ack_for(kiosk, at) for kiosk in self.acknowledged_kiosks()]
        except Exception as exc:  # noqa: BLE001 -- the next batch's acks follow anyway
            logger.error("cannot read the acknowledgements to re-publish: %s: %s", type(exc).__name__, exc)
            return
        for ack in acks:
            self.publish_ack(ack)
        logger.info("re-published the acknowledgements of %d enrolled kiosks", len(acks))

    def acknowledge(self, flushed: Flushed) -> None:
        """The worker committed a batch: now, and only now, publish its acks and acknowledge its messages."""
        self.totals.update(merged=flushed.merged, duplicates=flushed.duplicates, quarantined=flushed.quarantined)
        self.liveness.committed()
        if self.state != "up":
            return  # not connected: the broker re-delivers these messages, and the acks go out on connect
        for ack in flushed.acks:
            self.publish_ack(ack)
        for delivery in flushed.deliveries:
            if delivery.generation == self.generation:  # a packet id from an earlier connection names another message now
                self.client.ack(delivery.mid, delivery.qos)

    # -- the loop ------------------------------------------------------------------------------------------------------

    def stop(self, *_signal_args) -> None:
        """Ask `run` to finish (the signal handlers call this, so it does not wait): the kiosk's and daemon's one stop verb."""
        self.stopping.set()

    def healthy(self) -> bool:
        """For the systemd watchdog: the loop has turned recently, the merge worker lives and merging is not stalled
        (a broker that is down is not a reason to restart)."""
        return not self.worker_dead and self.clock() - self.iterated_at < HEALTHY_SECONDS and not self.liveness.stalled

    def run(self) -> None:
        """Run until `stop`; then commit what is pending, publish 'stopped' and disconnect.

        Raise WorkerDied when the merge worker exits on its own: nothing more is acknowledged, and the broker
        publishes the hub's will ('offline') when the process ends.
        """
        watchdog = systemd.Watchdog(self.healthy).start()
        self.worker = Worker(self.settings.db, self.settings.catalogue, self.settings.client_id)
        try:
            while not self.stopping.is_set():
                self.turn()
        except WorkerDied as exc:
            self.worker_dead = True
            logger.error("%s; stopping, nothing more acknowledged", exc)
            raise
        finally:
            systemd.stopping()
            watchdog.stop()
            self.shut_down()

    def turn(self) -> None:
        """One turn of the loop: (re)connect when due, let paho read and write, pass batches to the worker, report."""
        now = self.clock()
        self.iterated_at = now
        if self.state == "down" and now >= self.next_attempt:
            self.connect()
        wait = WORKER_POLL_SECONDS if self.worker.busy else self.seconds_until_due()
        if self.state == "down":
            time.sleep(min(wait, max(0.0, self.next_attempt - now)))
        else:
            self.client.loop(wait)
        self.pass_batches()
        self.watch_merging()
        if now - self.reported_at >= REPORT_SECONDS:
            self.report()

    def seconds_until_due(self) -> float:
        """Seconds until the gathered batch should go to the worker, at most LOOP_MAX_WAIT_SECONDS."""
        since = self.gathering.since
        if since is None:
            return LOOP_MAX_WAIT_SECONDS
        if len(self.gathering) >= self.settings.batch_max:
            return 0.0
        return min(LOOP_MAX_WAIT_SECONDS, max(0.0, since + self.window - self.clock()))

    def pass_batches(self) -> None:
        """Acknowledge the batch the worker committed; hand it the gathered one when that is due and the worker idle."""
        worker = self.worker
        if worker.busy:
            flushed = worker.collect()
            if flushed is None:
                return
            self.acknowledge(flushed)
        elif not worker.alive():
            raise worker.died()
        if self.gathering.since is not None and self.seconds_until_due() <= 0.0:
            worker.submit(self.gathering)
            self.gathering = Gathering()

    def watch_merging(self) -> None:
        """Tell the liveness what waits for a commit, and since when; on a change, tell systemd's status line."""
        worker = self.worker
        if worker.retrying is not self.heard:
            self.heard = worker.retrying
            if worker.retrying is not None:
                self.liveness.retrying(worker.retrying.error)
        since = [t for t in (worker.in_flight_since, self.gathering.since) if t is not None]
        was = self.liveness.stalled
        self.liveness.check(len(self.gathering) + len(worker.in_flight or ()), min(since) if since else None)
        if self.liveness.stalled != was:
            systemd.status(summary(self.liveness.state) if self.liveness.stalled else f"merging from {self.settings.broker}")

    def report(self) -> None:
        totals = self.totals
        if totals:
            logger.info("in the last %.0f s: %d events merged, %d duplicates absorbed, %d quarantined",
                        self.clock() - self.reported_at, totals["merged"], totals["duplicates"], totals["quarantined"])
        totals.clear()
        self.reported_at = self.clock()

    def shut_down(self) -> None:
        """Commit and acknowledge what is pending, stop the worker, leave 'stopped' as the retained status, disconnect."""
        if self.worker is None or self.worker_dead:
            return  # the process ends without DISCONNECT: the broker publishes the will
        try:
            self.commit_the_rest()
        except WorkerDied as exc:
            logger.error("%s while stopping; the rest stays unacknowledged", exc)
        self.worker.stop(STOP_WAIT_SECONDS)
        self.liveness.stopped()
        if self.state == "up":
            info = self.client.publish(wire.HUB_STATUS_TOPIC, self.status_body("stopped"), qos=1, retain=True)
            self.loop_until(lambda: settled(info))
            self.client.disconnect()
            self.loop_until(lambda: self.state == "down")
        logger.info("stopped")

    def commit_the_rest(self) -> None:
        """The batch in the worker and the gathered one, committed and acknowledged within STOP_COMMIT_SECONDS."""
        deadline = self.clock() + STOP_COMMIT_SECONDS
        worker = self.worker
        while worker.busy or len(self.gathering):
            if worker.busy:
                flushed = worker.collect(max(0.0, deadline - self.clock()))
                if flushed is None:
                    return  # still committing: stop() kills it, the broker re-delivers the batch
                self.acknowledge(flushed)
            if len(self.gathering):
                worker.submit(self.gathering)
                self.gathering = Gathering()

    def loop_until(self, done: Callable[[], bool]) -> None:
        deadline = self.clock() + STOP_WAIT_SECONDS
        while not done() and self.clock() < deadline and self.client.loop(0.05) == mqtt.MQTT_ERR_SUCCESS:
            pass


def settled(info: mqtt.MQTTMessageInfo) -> bool:
    """Whether a publish is over: acknowledged, or failed because the connection went (paho raises for that; at
    shutdown the broker may be gone first, and the will then says offline instead of stopped)."""
    try:
        return info.is_published()
    except (RuntimeError, ValueError):
        return True


def install_signal_handlers(hub: Hub) -> None:
    """SIGTERM (systemctl stop) and SIGINT (Ctrl-C) stop the hub cleanly."""
    signal.signal(signal.SIGTERM, hub.stop)
    signal.signal(signal.SIGINT, hub.stop)
