"""Arrangements shared by the web-layer tests: sign in, check a person in, walk a ticket along, snapshot what an action could change."""

import re

from kiosk.payloads import parse_payload
from kiosk.queue import actions, dosing
from kiosk.queue.checkin import check_in

from .conftest import LAN


def csrf_token(client, path="/login") -> str:
    """The CSRF token in the form of the page at path (the sign-in page by default), as this session's browser gets it."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, member_id, pin, next=None, **post):
    """Send the sign-in form as the login page would; return the response (a 302 when the PIN is accepted)."""
    form = {"csrf_token": csrf_token(client), "staff_id": str(member_id), "pin": pin}
    if next is not None:
        form["next"] = next
    return client.post("/login", data=form, **post)


def board_alerts(config, site) -> str:
    """The text of the board's alerts about the district hub (refused events, security), as a supervisor sees it in
    English; "" when there are none."""
    from kiosk.queue.staff import add_staff
    from kiosk.web import Services, create_app

    from .conftest import STAFF_ADDED

    client = create_app(Services(config.replace("web", language="en"), site)).test_client()
    found = site.store.db.execute("select id from staff where name = 'Giám sát bảng'").fetchone()
    member_id = found[0] if found else add_staff(site.store, "Giám sát bảng", "supervisor", "2580", STAFF_ADDED).id
    assert sign_in(client, member_id, "2580").status_code == 302
    page = client.get("/supervisor/").get_data(as_text=True)
    section = re.search(r'<section class="alarms hub-verdicts"[^>]*>(.*?)</section>', page, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", section.group(1))).strip() if section else ""


def arrive(site, payload=LAN) -> int:
    """A person scans their card at the kiosk; return their ticket id."""
    return check_in(site, parse_payload(payload, today=site.clock.now().wall.date()), source="camera").id


def walk(site, ticket_id, by, *steps, lot_id=None):
    """Move a ticket along the workflow with the use cases (the arrangement, not what is tested)."""
    for step in steps:
        if step == "call":
            actions.call(site, ticket_id, by, desk=1)
        elif step == "inject":
            dosing.inject(site, ticket_id, by, lot_id=lot_id)
        else:
            getattr(actions, step)(site, ticket_id, by)


def snapshot(store) -> dict:
    """Everything an action could change."""
    db = store.db
    rows = lambda sql: [tuple(r) for r in db.execute(sql).fetchall()]  # noqa: E731
    return {
        "tickets": rows("select id, state, desk, priority, reason, return_on, observe_mono from tickets order by id"),
        "people": rows("select id_number from people order by id_number"),
        "events": rows("select seq, type from events order by seq"),
        "outbox": rows("select seq from outbox order by seq"),
        "doses": rows("select id from doses"),
        "lots": rows("select id, vials_opened, wasted, closed_at from lots order by id"),
        "aefi": rows("select id, acknowledged_at from aefi order by id"),
        "identity_questions": rows("select id, scans, resolution from identity_questions order by id"),
    }


def tap(page, action: str) -> None:
    """Tap an action's button in a browser and wait for its answer: the message saying what was done or why not (the
    screens send forms with fetch and change the page in place, so there may be no page load to wait for)."""
    page.evaluate("document.getElementById('messages') && (document.getElementById('messages').innerHTML = '')")
    page.locator(f"button[data-action='{action}']").first.click()
    page.wait_for_load_state()
    page.locator("#messages p").first.wait_for(timeout=10000)


def pass_screening(page) -> None:
    """On a ticket's page at the screening desk: answer every question of the checklist "no" and save it."""
    for question in page.locator("fieldset.questions .ask").all():
        question.locator("label.choice.no").click()
    tap(page, "screening")
