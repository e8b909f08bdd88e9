"""Sign-in against a real `kiosk web` process: parallel PINs, lockouts across restarts, the access log, cookies behind a proxy."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import threading
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import pytest

from .kiosk_process import ROOT, KioskProcess

PIN, WRONG = "2580", "9031"
TOKEN = "e2e-api-token-7f3a9c"
SETTINGS = {
    "KIOSK_WEB_SECRET_KEY": "e2e-signin-secret-key-not-for-production",
    "KIOSK_WEB_API_TOKEN": TOKEN,
    "KIOSK_WEB_LOCKOUT_SECONDS": "600",  # far longer than any restart in these tests takes
    "KIOSK_WEB_LANGUAGE": "en",
}


class Browser:
    """One browser's cookie jar against a server; never follows redirects, so a test sees each 302."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        """Return (status, headers, text) of one request carrying this browser's cookies."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        sent = {**(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update({k: m.value for k, m in SimpleCookie(header).items()})
        return response.status, response.headers, text

    def csrf_token(self) -> str:
        status, _headers, html = self.request("GET", "/login")
        assert status == 200
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def sign_in(self, staff_id: int, pin: str, token: str | None = None):
        form = {"csrf_token": token or self.csrf_token(), "staff_id": str(staff_id), "pin": pin}
        return self.request("POST", "/login", form)


def add_member(db, name="Điều dưỡng Hoa", pin=PIN) -> int:
    add = [sys.executable, "-m", "kiosk", "staff", "add", name, "--role", "supervisor", "--pin-stdin", "--db", str(db)]
    subprocess.run(add, input=pin + "\n", text=True, check=True, cwd=ROOT, capture_output=True)
    return 1


@pytest.fixture
def web(tmp_path):
    add_member(tmp_path / "kiosk.db")
    process = KioskProcess(tmp_path, None, SETTINGS, command="web")
    yield process
    process.kill()


def verified(stderr: list[str]) -> int:
    """How many PINs the process checked: each wrong one logs "sign-in failed", each right one "signed in"."""
    return sum("sign-in failed for staff" in line or "signed in from" in line for line in stderr)


@pytest.mark.timeout(90)
def test_fail__sixty_wrong_pins_at_once_check_at_most_pin_attempts_and_the_right_pin_is_then_refused(web):
    browser = Browser(web.url)
    token = browser.csrf_token()
    start = threading.Barrier(60)
    statuses: list[int] = []

    def guess(n: int) -> None:
        start.wait()
        statuses.append(browser.sign_in(1, f"{1000 + n:04d}" if n else WRONG, token)[0])

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [401, 401] + [429] * 58
    status, headers, html = browser.sign_in(1, PIN, token)
    assert status == 429 and "Sign-in is locked" in html and int(headers["Retry-After"]) > 500
    web.terminate()
    assert verified(web.stderr) == 3, "".join(web.stderr)


@pytest.mark.timeout(90)
def test_fail__wrong_pins_count_and_lock_across_restarts_of_kiosk_web(tmp_path, web):
    assert [Browser(web.url).sign_in(1, WRONG)[0] for _ in range(2)] == [401, 401]
    assert web.terminate() == 0
    second = KioskProcess(tmp_path, None, SETTINGS, command="web")
    try:
        assert Browser(second.url).sign_in(1, WRONG)[0] == 429  # the third wrong PIN in a row, across the restart
    finally:
        assert second.terminate() == 0
    third = KioskProcess(tmp_path, None, SETTINGS, command="web")
    try:
        status, headers, html = Browser(third.url).sign_in(1, PIN)
        assert status == 429 and "Sign-in is locked" in html and int(headers["Retry-After"]) > 500
    finally:
        third.terminate()
    assert "signed in from" not in "".join(third.stderr)


@pytest.mark.timeout(90)
def test_ok__the_access_log_shows_paths_without_their_query_strings(web):
    browser = Browser(web.url)
    assert browser.request("GET", "/login?next=%2Fsupervisor%2Ftickets%2F7%3Fdesk%3D2")[0] == 200
    status, _headers, body = browser.request("GET", f"/api/queue?access_token={TOKEN}")
    assert status == 400 and '"error":"credential_in_url"' in body.replace(" ", "")
    web.terminate()
    log = "".join(web.stderr)
    requests = [line for line in web.stderr if '"GET ' in line]
    assert any('"GET /login HTTP/1.1" 200' in line for line in requests), log
    assert any('"GET /api/queue HTTP/1.1" 400' in line for line in requests), log
    assert "?" not in "".join(requests) and TOKEN not in log and "desk" not in log


@pytest.mark.timeout(90)
def test_ok__behind_a_trusted_tls_proxy_the_session_cookie_is_secure(tmp_path):
    add_member(tmp_path / "kiosk.db")
    process = KioskProcess(tmp_path, None, {**SETTINGS, "KIOSK_WEB_TRUSTED_PROXIES": "1"}, command="web")
    try:
        proxied = Browser(process.url)
        https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.168.1.23"}
        status, headers, _html = proxied.request("GET", "/login", headers=https)
        assert status == 200 and "Secure" in headers["Set-Cookie"]
        plain = Browser(process.url)
        assert "Secure" not in plain.request("GET", "/login")[1]["Set-Cookie"]
    finally:
        process.terminate()
