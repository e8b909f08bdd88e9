"""The check-in desk: turns one decoded code into a ticket, a clear refusal, or a question for the supervisor, with feedback."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Callable

from ..decode import Code
from ..errors import PayloadRejected, StoreError
from ..payloads import parse_payload
from ..queue.checkin import Ticket, check_in, note_rejected_scan
from ..queue.errors import IdentityMismatch
from ..queue.questions import ask_about_identity
from ..queue.site import Site
from .feedback import Feedback

logger = logging.getLogger(__name__)

NOT_SAVED = (
    "not_saved",
    "The kiosk could not save your check-in. Please ask the staff.",
    "Máy không lưu được lượt đăng ký của bạn. Vui lòng gặp nhân viên.",
)
SEE_SUPERVISOR = (
    "identity_mismatch",
    "Please see the supervisor to check your details.",
    "Vui lòng gặp cán bộ giám sát để kiểm tra thông tin.",
)
"""A card whose ID number is stored here with other details: the public screen says only this, in both languages."""


@dataclass(frozen=True)
class ScanOutcome:
    """What the citizen is told after a scan. Holds no personal data beyond the given name."""

    accepted: bool
    reason: str | None
    message_en: str
    message_vi: str
    ticket: int | None = None
    given_name: str | None = None
    returning: bool = False
    warnings: tuple[str, ...] = ()
    due_dose: int | None = None
    """The dose number due, from this kiosk's records (the hub's roster later)."""

    def public(self) -> dict:
        """The outcome as the public screen may show it."""
        return asdict(self)


class Desk:
    """Parses, checks in and gives feedback; tells ``announce`` about every outcome."""

    def __init__(
        self,
        site: Site,
        feedback: Feedback,
        *,
        announce: Callable[[ScanOutcome], None] = lambda outcome: None,
    ):
        self.site = site
        self.feedback = feedback
        self.announce = announce

    def handle(self, code: Code, source: str = "camera") -> ScanOutcome:
        """Check in the holder of a scanned code; never raises for bad payloads or a failed write."""
        try:
            now = self.site.clock.now()
            card = parse_payload(code.raw, today=now.wall.date() if now.plausible else None)
            ticket = check_in(self.site, card, source=source)
        except PayloadRejected as exc:
            logger.info("scan rejected: %s", exc.reason)
            self.note_rejection(exc.reason)
            return self.finish(refused(exc.reason, exc.message_en, exc.message_vi))
        except IdentityMismatch as exc:
            logger.info("scan held for the supervisor: the ID number is stored with another %s", ", ".join(exc.fields))
            self.hold(card, source)
            return self.finish(refused(*SEE_SUPERVISOR))
        except StoreError as exc:
            logger.error("check-in not saved: %s", exc)
            return self.finish(refused(*NOT_SAVED))
        logger.info("checked in: ticket %d (%s)", ticket.number, "returning" if not ticket.new else "new")
        return self.finish(welcomed(ticket))

    def hold(self, card, source: str) -> None:
        """Leave the scan as an identity question on the supervisor's board; never attach it to the stored person."""
        try:
            ask_about_identity(self.site, card, source)
        except StoreError as exc:  # the person is still sent to the supervisor, who can check them in by hand
            logger.error("identity question not saved: %s", exc)

    def note_rejection(self, reason: str) -> None:
        try:
            note_rejected_scan(self.site, reason)
        except StoreError as exc:  # the figure is lost, the citizen is still told why
            logger.error("rejected scan not counted: %s", exc)

    def finish(self, outcome: ScanOutcome) -> ScanOutcome:
        if outcome.accepted:
            self.feedback.accepted()
        else:
            self.feedback.rejected()
        self.announce(outcome)
        return outcome


def welcomed(ticket: Ticket) -> ScanOutcome:
    if ticket.new:
        en, vi = "Checked in. Please wait to be called.", "Đã đăng ký. Vui lòng chờ gọi tên."
    else:
        en, vi = "You are already checked in today.", "Bạn đã đăng ký hôm nay rồi."
    return ScanOutcome(
        True, None, en, vi, ticket=ticket.number, given_name=ticket.given_name,
        returning=not ticket.new, warnings=ticket.warnings, due_dose=ticket.due_dose,
    )


def refused(reason: str, message_en: str, message_vi: str) -> ScanOutcome:
    return ScanOutcome(False, reason, message_en, message_vi)
