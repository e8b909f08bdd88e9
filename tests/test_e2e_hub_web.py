"""The district workspace against a real `hub web` process on a real hub database, in real Chromium at 1366×768.

Sign-in (wrong password, lockout that survives a restart), the front page with
conflicts merged by the real store, the language switch, the admin's audit log,
a refused role, sign-out; the access log; HTTPS with the district CA's
certificate. Screenshots go to test-artifacts/hub-web-*.png.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hub import passwords
from hub.store import Batch
from hub.store.sqlite import open_store

from . import pki
from .browser import chromium
from .child import Child
from .hub_helpers import HUNG_ID, check_in, dose

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
VIEWPORT = {"width": 1366, "height": 768}
ADMIN, OFFICER = "Nguyễn Thị Lan", "Lê Văn Hùng"
PASSWORD = "ngày tiêm 2026"
SECRET = "e2e-hub-web-secret-not-for-production"


class HubWeb(Child):
    """`python -m hub web --db PATH --port 0 ...`, waited for until it prints its address."""

    def __init__(self, db: Path, *args: str, env: dict[str, str] | None = None):
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HUB_WEB_SECRET": SECRET, **(env or {})}
        env.pop("CREDENTIALS_DIRECTORY", None)
        command = [sys.executable, "-m", "hub", "web", "--db", str(db), "--port", "0", *args]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr: list[str] = []
        self.start_drains((self.drain,))
        self.url = self.wait_for_url()

    def drain(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line)

    def wait_for_url(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            match = re.search(r"workspace at (https?://[\d.]+:\d+)/", line)
            if match:
                return match.group(1)
            if self.proc.poll() is not None:
                break
        raise AssertionError("hub web did not start: " + "".join(self.stderr))

    @property
    def log(self) -> str:
        return "".join(self.stderr)


def add_staff(db: Path, name: str, role: str) -> None:
    """`hub staff add` as an administrator types it, the password on stdin."""
    command = [sys.executable, "-m", "hub", "staff", "add", name, "--role", role, "--password-stdin", "--db", str(db)]
    subprocess.run(command, input=PASSWORD + "\n", text=True, check=True, cwd=ROOT, capture_output=True)


@pytest.fixture
def db(tmp_path) -> Path:
    """A hub database with an admin and an officer, and conflicts merged by the real store three days ago."""
    path = tmp_path / "hub.db"
    add_staff(path, ADMIN, "admin")
    add_staff(path, OFFICER, "officer")
    received = (datetime.now(timezone.utc) - timedelta(days=3, hours=2)).isoformat(timespec="seconds")
    events = [check_in("ka", 1), dose("ka", 2), dose("kb", 1), check_in("kb", 2, HUNG_ID), check_in("ka", 3, HUNG_ID, full_name="Trần Văn Hưng")]
    with open_store(path) as store:
        store.commit(Batch(events=events), received)
    return path


@pytest.fixture
def web(db):
    process = HubWeb(db)
    yield process
    process.kill()


@pytest.fixture
def browser():
    yield from chromium(ARTIFACTS)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"hub-web-{name}.png"))


def whole_page_shot(page, file_name: str) -> None:
    """A full-page screenshot in test-artifacts/, once the page is checked not to scroll sideways at the viewport."""
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"], f"{file_name} scrolls sideways"
    page.screenshot(path=str(ARTIFACTS / f"{file_name}.png"), full_page=True)


def sign_in(page, name: str, password: str) -> None:
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("form button.primary")


@pytest.mark.timeout(120)
def test_ok__an_admin_signs_in_sees_today_switches_language_reads_the_audit_log_and_signs_out(web, browser):
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(web.url + "/")
    assert urlsplit(page.url).path == "/login"
    assert page.inner_text("h1") == "Đăng nhập" and page.get_attribute("html", "lang") == "vi"
    shot(page, "1-sign-in-vi")

    sign_in(page, ADMIN, "sai mật khẩu 1")
    assert page.inner_text("p.error") == "Sai tên hoặc mật khẩu. Vui lòng thử lại."
    assert page.input_value("#name") == ADMIN and page.input_value("#password") == ""
    shot(page, "2-wrong-password-vi")

    sign_in(page, ADMIN.upper(), PASSWORD)
    page.wait_for_url(web.url + "/")
    assert page.inner_text("h1") == "Việc cần làm hôm nay"
    assert page.inner_text("tr[data-kind=duplicate_dose] td.num") == "1"
    assert page.inner_text("tr[data-kind=identity_mismatch] td.num") == "1"
    assert page.inner_text("tr[data-kind=duplicate_dose] td:last-child") == "3 ngày"
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    shot(page, "3-today-vi")

    page.click("header .lang button[value=en]")
    page.wait_for_url(web.url + "/")
    assert page.inner_text("h1") == "What needs you today"
    assert page.inner_text("tr[data-kind=duplicate_dose] td:last-child") == "3 days"
    shot(page, "4-today-en")

    page.click("header nav a[href='/admin/audit']")
    page.wait_for_url(web.url + "/admin/audit")
    actions = page.eval_on_selector_all("table.audit tbody tr", "rows => rows.map(r => r.dataset.action)")
    assert actions == ["sign_in", "sign_in_failed", "staff_add", "staff_add"]
    assert "command line on the hub" in page.inner_text("table.audit")
    shot(page, "5-audit-en")

    page.click("form.signout button")
    page.wait_for_url(web.url + "/login")
    assert page.inner_text(".flash.info") == "You are signed out."
    shot(page, "6-signed-out-en")
    page.goto(web.url + "/admin/audit")
    assert urlsplit(page.url).path == "/login"  # the session ended on the server
    web.terminate()
    assert PASSWORD not in web.log and "sai mật khẩu" not in web.log and ADMIN not in web.log


@pytest.mark.timeout(120)
def test_fail__an_officer_is_refused_the_audit_log(web, browser):
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(web.url + "/admin/audit")
    sign_in(page, OFFICER, PASSWORD)
    page.wait_for_url(web.url + "/admin/audit")
    assert page.inner_text("p.error") == "Vai trò của bạn không được xem trang này."
    assert page.locator("header nav a[href='/admin/audit']").count() == 0
    shot(page, "7-officer-refused-vi")
    with urllib.request.urlopen(web.url + "/healthz", timeout=5) as response:
        assert response.status == 200


@pytest.mark.timeout(150)
def test_fail__five_wrong_passwords_lock_the_account_across_a_restart_of_hub_web(db, browser):
    first = HubWeb(db)
    try:
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.goto(first.url + "/login")
        for n in range(4):
            sign_in(page, ADMIN, f"sai mật khẩu {n}")
            assert page.inner_text("p.error") == "Sai tên hoặc mật khẩu. Vui lòng thử lại."
        sign_in(page, ADMIN, "sai mật khẩu 4")
        assert page.inner_text("p.error") == "Nhập sai mật khẩu quá nhiều lần. Đăng nhập bị khóa: thử lại sau 5 phút."
        shot(page, "8-locked-vi")
    finally:
        assert first.terminate() == 0
    second = HubWeb(db)
    try:
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.goto(second.url + "/login")
        sign_in(page, ADMIN, PASSWORD)
        assert "Đăng nhập bị khóa" in page.inner_text("p.error") and urlsplit(page.url).path == "/login"
        shot(page, "9-still-locked-after-restart-vi")
    finally:
        second.terminate()
    assert "signed in from" not in second.log


@pytest.mark.timeout(90)
def test_ok__the_access_log_shows_paths_without_their_query_strings(web):
    with urllib.request.urlopen(web.url + "/login?next=%2Fpeople%3Fid%3D001190012345", timeout=5) as response:
        assert response.status == 200
    web.terminate()
    requests = [line for line in web.stderr if '"GET ' in line]
    assert any('"GET /login HTTP/1.1" 200' in line for line in requests), web.log
    assert "?" not in "".join(requests) and "001190012345" not in web.log


@pytest.mark.timeout(90)
def test_ok__over_tls_with_the_district_ca_the_cookie_is_secure_and_a_stalled_handshake_blocks_nobody(db, tmp_path):
    folder = pki.district_ca(tmp_path / "ca")
    process = HubWeb(db, "--tls-cert", str(folder / "server.crt"), "--tls-key", str(folder / "server.key"))
    try:
        assert process.url.startswith("https://")
        port = urlsplit(process.url).port
        stalled = socket.create_connection(("127.0.0.1", port))  # connects, never says hello
        context = ssl.create_default_context(cafile=str(folder / "ca.crt"))
        with urllib.request.urlopen(f"https://localhost:{port}/login", context=context, timeout=10) as response:
            cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        stalled.close()
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10)  # plain HTTP gets no page
    finally:
        process.terminate()


def test_fail__half_a_tls_pair_is_refused_before_anything_starts(db):
    done = subprocess.run([sys.executable, "-m", "hub", "web", "--db", str(db), "--port", "0", "--tls-cert", "x.pem"],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "hub: --tls-cert and --tls-key go together" in done.stderr


def test_ok__a_hash_made_by_hub_staff_add_uses_the_full_cost(db):
    with open_store(db) as store:
        assert not passwords.needs_rehash(store.staff_named(ADMIN).password_hash)


def test_ok__systemd_hears_ready_watchdog_and_stopping(db):
    name = f"hub-web-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(10)
        process = HubWeb(db, env={"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "1000000"})
        heard = [listener.recv(4096).decode() for _ in range(3)]
        assert [m for m in heard if m.startswith("READY=1\nSTATUS=hub web: workspace at http://127.0.0.1:")] and "WATCHDOG=1" in heard
        assert process.terminate() == 0
        while (message := listener.recv(4096).decode()) == "WATCHDOG=1":
            pass
        assert message == "STOPPING=1"
