"""What the supervisor screens call things: states, actions, events, fields and choices in the user's words, and dates
as Vietnamese staff write them (dd/mm/yyyy). No code, event type or field name reaches a screen."""

from __future__ import annotations

import datetime

from flask import Flask, current_app
from flask_babel import lazy_gettext as L

from .i18n import current_language

STATE_LABELS = {
    "waiting": L("Waiting"), "called": L("Called"), "screening": L("Screening"), "cleared": L("Cleared"),
    "injected": L("Injected"), "observing": L("Observing"), "released": L("Released"), "deferred": L("Deferred"),
    "refused": L("Refused"), "left": L("Left"), "left_early": L("Left early"),
}
ACTION_LABELS = {
    "call": L("Call"), "screen": L("Arrived"), "clear": L("Cleared to vaccinate"), "inject": L("Record dose"),
    "observe": L("Observe"), "release": L("Release"), "defer": L("Defer"), "refuse": L("Not vaccinated"),
    "requeue": L("Back to queue"), "leave": L("Left"), "leave_early": L("Left early"),
}
EVENT_LABELS = {
    "PersonCheckedIn": L("Checked in"), "PersonCalled": L("Called to a desk"), "ScreeningStarted": L("Arrived at screening"),
    "PersonCleared": L("Cleared to vaccinate"), "DoseRecorded": L("Dose recorded"), "ObservationStarted": L("Observation started"),
    "PersonReleased": L("Released"), "PersonDeferred": L("Deferred"), "VaccinationRefused": L("Not vaccinated"),
    "PersonRequeued": L("Back to the queue"), "PersonLeft": L("Left"), "PersonLeftEarly": L("Left early"),
    "PriorityGranted": L("Priority given"), "PriorityRemoved": L("Priority removed"),
    "AefiRecorded": L("Adverse reaction recorded"), "AefiAcknowledged": L("Alarm acknowledged"),
    "EventVoided": L("Dose voided"), "IdentityCorrected": L("Identity corrected"),
}
"""The history's lines: what happened, never the event's type name."""
FLAG_LABELS = {"age65": L("65 or older"), "pregnant": L("Pregnant"), "disabled": L("Disability"), "chronic": L("Chronic illness")}
SEVERITY_LABELS = {"mild": L("Mild"), "moderate": L("Moderate"), "severe": L("Severe")}
REFUSAL_CODE_LABELS = {
    "declined": L("Declined vaccination"), "contraindicated": L("Contraindicated"),
    "referred": L("Referred to hospital for vaccination"),
}
"""Why a person was not vaccinated (REFUSAL_CODES), as the refuse form and the board name it."""
QUESTION_LABELS = {
    "prior_dose_reaction": L("Severe reaction (anaphylaxis) after an earlier dose"),
    "allergy": L("Severe allergy (anaphylaxis) to anything before"),
    "immunocompromised": L("Weakened immunity (cancer, immunosuppressants)"),
    "acute_illness": L("Acute illness, or a chronic one getting worse"),
    "fever": L("Temperature 37.5 °C or more, or 35.5 °C or less"),
    "pregnant": L("Pregnant"),
}
"""The screening checklist's questions (kiosk/queue/screening.py QUESTIONS), as the Ministry of Health's form asks them."""
OUTCOME_LABELS = {
    "cleared": L("Cleared to vaccinate"), "deferred": L("Deferred"), "contraindicated": L("Contraindicated"),
    "referred": L("Referred to hospital for vaccination"),
}
INJECTION_SITE_LABELS = {
    "left_deltoid": L("Left arm"), "right_deltoid": L("Right arm"), "left_thigh": L("Left thigh"), "right_thigh": L("Right thigh"),
}
SEX_LABELS = {"Nam": L("Male"), "Nữ": L("Female")}
FIELD_LABELS = {
    "id_number": L("ID number"), "full_name": L("Full name"), "birth_date": L("Date of birth"), "sex": L("Sex"),
    "old_id": L("Old ID number"), "reason": L("Reason"), "return_on": L("Come back on"), "desk": L("Desk"),
    "ticket": L("Ticket"), "lot": L("Lot"), "lot_number": L("Lot number"), "expiry": L("Expiry"),
    "doses_per_vial": L("Doses per vial"), "doses": L("Doses wasted"), "product": L("Product"),
    "symptoms": L("Symptoms"), "severity": L("Severity"), "flag": L("Priority"), "aefi": L("Adverse reaction"),
    "question": L("Identity check"), "override": L("Override reason (recorded)"), "vaccinator": L("Vaccinator"),
    "injection_site": L("Injection site"), "reason_code": L("Why not vaccinated"), "action": L("Action"),
}
"""Every form field by the label its form shows; an error names the label, never the field's name."""


def field_label(name: str) -> str:
    """The label of a form field for an error message; a name the forms do not have is shown as it is."""
    return str(FIELD_LABELS.get(name, name))


def dmy(value: str | datetime.date | None) -> str:
    """A date (ISO text or date) as dd/mm/yyyy; a timestamp keeps only its date; None and "" give ""."""
    if not value:
        return ""
    text = value.isoformat() if isinstance(value, datetime.date) else str(value)
    try:
        return datetime.date.fromisoformat(text[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return text


def sex_label(sex: str) -> str:
    return str(SEX_LABELS.get(sex, sex))


def product_name(code: str) -> str:
    """A product's name in the page's language, from its catalogue code (a code the catalogue lacks is shown as is)."""
    product = current_app.extensions["kiosk"].site.catalogue.products.get(code)
    if product is None:
        return code
    return (product.name_vi or product.name) if current_language() == "vi" else product.name


def init_app(app: Flask) -> None:
    """Filters and labels for every template: ``|dmy``, ``|sex``, and the label tables."""
    app.add_template_filter(dmy, "dmy")
    app.add_template_filter(sex_label, "sex")
    app.context_processor(lambda: {
        "state_labels": STATE_LABELS, "action_labels": ACTION_LABELS, "event_labels": EVENT_LABELS,
        "flag_labels": FLAG_LABELS, "severity_labels": SEVERITY_LABELS, "refusal_code_labels": REFUSAL_CODE_LABELS,
        "question_labels": QUESTION_LABELS, "outcome_labels": OUTCOME_LABELS,
        "injection_site_labels": INJECTION_SITE_LABELS, "product_name": product_name,
    })
