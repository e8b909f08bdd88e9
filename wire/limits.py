"""Every bound the wire contract puts on a field: one source for the hub's schemas and the kiosk's parsers and forms.

The JSON schemas beside this module (event.schema.json, status.schema.json)
spell the same numbers, for readers without Python; tests/test_wire.py fails
when a schema and this module disagree, and when a string or a number in a
schema has no bound. The kiosk refuses, with its own words, whatever the hub
would quarantine for these limits (docs/wire.md, "Limits").

Lengths are in characters (Unicode code points, as JSON Schema counts them)
of the text as sent: NFC, edges trimmed where the kiosk trims.
"""

from __future__ import annotations

SQLITE_INTEGER_MAX = 2**63 - 1
"""The largest integer SQLite stores; the bound of every count the hub may copy into a column."""

# -- the envelope --------------------------------------------------------------------------------------------------------

KIOSK_ID_MAX = 63
SEQ_MAX = 999_999_999_999_999_999
"""A kiosk's sequence number, 1 to this (18 digits: under SQLite's largest integer)."""
EVENT_ID_MAX = KIOSK_ID_MAX + 1 + 18
BOOT_MAX = 64
TIMESTAMP_MAX = 40
DATE_MAX = 10

# -- what people and staff type or a card carries -------------------------------------------------------------------------

FULL_NAME_MAX = 100
"""A person's full name as the card encodes it or staff type it."""
SEX_MAX = 10
OLD_ID_MAX = 12
ID_NUMBER_MAX = 12
STAFF_NAME_MAX = 60
"""A staff member's name, as `by.name` carries it."""
TEXT_MAX = 200
"""Free text staff type: reasons (deferral, refusal, early release, override, waste, void) and AEFI symptoms."""
SOURCE_MAX = 20
WARNINGS_MAX = 20
WARNING_MAX = 40

# -- vaccines ----------------------------------------------------------------------------------------------------------------

PRODUCT_MAX = 40
"""A product code of the catalogue."""
LOT_NUMBER_MAX = 40
DOSE_NUMBER_MAX = 20
"""The highest dose number one person can have recorded (boosters included)."""

# -- ticket and staff ids (a kiosk's SQLite assigns them) --------------------------------------------------------------

TICKET_NUMBER_MAX = SQLITE_INTEGER_MAX
STAFF_ID_MAX = SQLITE_INTEGER_MAX

# -- kiosk status ------------------------------------------------------------------------------------------------------------

VERSION_MAX = 40
COUNT_MAX = SQLITE_INTEGER_MAX
"""`outbox` and `unpublished` of a status: row counts of the kiosk's SQLite."""
CAMERA_FPS_MAX = 1000.0

# -- the message as a whole --------------------------------------------------------------------------------------------------

MESSAGE_BYTES_MAX = 64 * 1024
"""A message larger than this is quarantined unread; a real event is under 2 KiB."""
DEPTH_MAX = 32
"""Objects and arrays nested deeper than this are not read (a real event nests 4 deep)."""

SCHEMA_LIMITS: dict[str, dict[str, tuple[str, float]]] = {
    "event": {
        "properties/id": ("maxLength", EVENT_ID_MAX),
        "properties/seq": ("maximum", SEQ_MAX),
        "properties/boot": ("maxLength", BOOT_MAX),
        "definitions/kiosk_id": ("maxLength", KIOSK_ID_MAX),
        "definitions/timestamp": ("maxLength", TIMESTAMP_MAX),
        "definitions/date": ("maxLength", DATE_MAX),
        "definitions/id_number": ("maxLength", ID_NUMBER_MAX),
        "definitions/old_id": ("maxLength", OLD_ID_MAX),
        "definitions/full_name": ("maxLength", FULL_NAME_MAX),
        "definitions/sex": ("maxLength", SEX_MAX),
        "definitions/staff_name": ("maxLength", STAFF_NAME_MAX),
        "definitions/staff_id": ("maximum", STAFF_ID_MAX),
        "definitions/text": ("maxLength", TEXT_MAX),
        "definitions/product": ("maxLength", PRODUCT_MAX),
        "definitions/lot_number": ("maxLength", LOT_NUMBER_MAX),
        "definitions/dose_number": ("maximum", DOSE_NUMBER_MAX),
        "definitions/booster": ("maximum", DOSE_NUMBER_MAX),
        "definitions/ticket/properties/number": ("maximum", TICKET_NUMBER_MAX),
        "definitions/event_id": ("maxLength", EVENT_ID_MAX),
        "definitions/checked_in/properties/source": ("maxLength", SOURCE_MAX),
        "definitions/checked_in/properties/warnings": ("maxItems", WARNINGS_MAX),
        "definitions/checked_in/properties/warnings/items": ("maxLength", WARNING_MAX),
    },
    "status": {
        "properties/boot": ("maxLength", BOOT_MAX),
        "properties/version": ("maxLength", VERSION_MAX),
        "properties/outbox": ("maximum", COUNT_MAX),
        "properties/unpublished": ("maximum", COUNT_MAX),
        "properties/camera_fps": ("maximum", CAMERA_FPS_MAX),
        "definitions/kiosk_id": ("maxLength", KIOSK_ID_MAX),
        "definitions/timestamp": ("maxLength", TIMESTAMP_MAX),
    },
}
"""Where each schema spells a limit of this module: schema name -> JSON pointer -> (keyword, value)."""
