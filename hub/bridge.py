"""The district broker's bridge to its province (`hub bridge-config`) and the province broker's ACL (`hub province-acl`):
the Mosquitto configuration lines, pure.

The bridge carries the district's kiosk events and statuses out to the
province broker under the district's prefix, and the province's
acknowledgements back in, to ``vax/p/k/<kiosk>/ack`` (wire.district_topic,
wire.province_ack_topic; docs/province.md says why each setting is what it is):

- ``cleansession false`` and a fixed ``remote_clientid``: the province broker
  keeps the bridge's session, so acknowledgements published while the bridge
  is down wait for it; the district broker keeps what the bridge has not sent.
- ``max_queued_messages 0``: no limit on what a broker queues for a client
  that is away, the bridge included. Mosquitto's default of 1000 drops the
  rest silently (issue 15 measured a bridge losing queued events that way).
  It is a setting of the whole district broker, not of the bridge alone.
- ``persistence true``: the queues survive a restart of the district broker.
- ``bridge_protocol_version mqttv311``: Mosquitto 2.0's bridge speaks 3.1.1 at
  most; QoS 1 both ways.
- ``notifications`` on the district broker only, on wire.BRIDGE_STATE_TOPIC:
  Mosquitto keeps ``1`` there, retained, while the bridge is connected and
  ``0`` while it is not. The district hub (``province.acks = "province"``)
  reads it and says it is online only while the province can be reached, so
  that kiosks do not send their backlog again into a bridge that is down.

None of it is what makes delivery safe: a kiosk keeps each event until an
acknowledgement's watermark covers it (with ``province.acks = "province"``
and ``hub.province_acks`` on the kiosk, both the district hub's and the
province's), so whatever any queue drops is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass

import wire

RESTART_TIMEOUT = "1 30"
"""Mosquitto's backoff between the bridge's connection attempts: from about 1 s, growing to at most 30 s."""
SYSTEM_CA_PATH = "/etc/ssl/certs"
"""The CAs an mqtts:// bridge trusts when no --ca-file is given."""


@dataclass(frozen=True)
class BridgeSettings:
    """What `hub bridge-config` is told: the district, the province broker and the bridge's TLS files."""

    district: str
    province: str
    """mqtt://host[:1883] or mqtts://host[:8883]."""
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


def topic_lines(district: str) -> list[str]:
    """The bridge's topic lines: events and statuses out under the district's prefix; the province's acknowledgements
    in, to a topic of their own on the district broker (wire.province_ack_topic), beside the district hub's."""
    prefix = f"{wire.ROOT}/{wire.DISTRICT_LEVEL}/{wire.check_district(district)}/"
    return [f"topic k/+/{wire.EVENT} out 1 {wire.ROOT}/ {prefix}", f"topic k/+/{wire.STATUS} out 1 {wire.ROOT}/ {prefix}",
            f"topic k/+/{wire.ACK} in 1 {wire.ROOT}/{wire.PROVINCE_LEVEL}/ {prefix}"]


def tls_lines(settings: BridgeSettings, tls: bool) -> list[str]:
    """The bridge's TLS lines; raise ValueError for TLS files given to a plain mqtt:// bridge, or half a client pair."""
    files = (settings.ca_file, settings.cert_file, settings.key_file)
    if not tls:
        if any(files):
            raise ValueError("--ca-file, --cert-file and --key-file are for an mqtts:// province broker")
        return []
    if bool(settings.cert_file) != bool(settings.key_file):
        raise ValueError("--cert-file and --key-file go together")
    lines = [f"bridge_cafile {settings.ca_file}" if settings.ca_file else f"bridge_capath {SYSTEM_CA_PATH}"]
    if settings.cert_file:
        lines += [f"bridge_certfile {settings.cert_file}", f"bridge_keyfile {settings.key_file}"]
    return lines


def config(settings: BridgeSettings) -> str:
    """The lines to add to the district broker's configuration (a conf.d file); raise ValueError for bad settings."""
    district = wire.check_district(settings.district)
    address = wire.parse_broker(settings.province)
    return "\n".join([
        f"# The district {district}'s bridge to its province, written by `hub bridge-config` (docs/province.md).",
        "# Whole-broker settings the bridge needs: no limit on queued messages (Mosquitto drops what is over it),",
        "# and the queues kept across a restart.",
        "max_queued_messages 0",
        "persistence true",
        "",
        f"connection province-{district}",
        f"address {address.host}:{address.port}",
        f"remote_clientid {bridge_user(district)}",
        "cleansession false",
        f"restart_timeout {RESTART_TIMEOUT}",
        "bridge_protocol_version mqttv311",
        "notifications true",
        "notifications_local_only true",
        f"notification_topic {wire.BRIDGE_STATE_TOPIC}",
        *tls_lines(settings, address.tls),
        *topic_lines(district),
    ]) + "\n"


PROVINCE_ACL_HEADER = """\
# The province broker's ACL, written by `hub province-acl` from the province database's districts: do not edit, it
# is rewritten whole (docs/province.md). Mosquitto reads it again on SIGHUP. Each district's bridge is the user
# bridge-<district> (the CN of its client certificate, with use_identity_as_username, or its password's user): it may
# publish its own district's kiosk events and statuses and read its own district's acknowledgements, nothing else.
# Each province worker (its --client-id) reads every district's and writes every district's acknowledgements, so a
# district can move from one worker to another without a new ACL; the workers' status is theirs alone.
"""


def bridge_user(district: str) -> str:
    """The province broker's user (and the bridge's client id there) of a district's bridge."""
    return f"bridge-{wire.check_district(district)}"


def province_acl(districts: list[str], workers: list[str]) -> str:
    """The province broker's ACL text: a section per province worker, then one per district's bridge."""
    root, level = wire.ROOT, wire.DISTRICT_LEVEL
    sections = [[f"user {worker}", f"topic read {root}/{level}/+/k/+/{wire.EVENT}",
                 f"topic read {root}/{level}/+/k/+/{wire.STATUS}", f"topic write {root}/{level}/+/k/+/{wire.ACK}",
                 f"topic readwrite {wire.HUB_STATUS_TOPIC}"] for worker in sorted(set(workers))]
    for district in sorted(set(districts)):
        prefix = f"{root}/{level}/{wire.check_district(district)}/k/+"
        sections.append([f"user {bridge_user(district)}", f"topic write {prefix}/{wire.EVENT}",
                         f"topic write {prefix}/{wire.STATUS}", f"topic read {prefix}/{wire.ACK}"])
    return PROVINCE_ACL_HEADER + "".join("\n" + "\n".join(lines) + "\n" for lines in sections)
