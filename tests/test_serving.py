"""The screens' real HTTP server: its access log shows paths, never query strings, even for malformed requests."""

import http.client
import logging
import socket
import threading

import pytest

from kiosk.web import Services, create_app
from kiosk.web.serving import screen_server
from staffweb.serving import without_query


@pytest.fixture
def server(config, site):
    server = screen_server(create_app(Services(config, site)), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(5)
    server.server_close()


def get(server, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def access_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "werkzeug"]


def test_ok__a_request_with_a_query_is_logged_by_its_path_alone(server, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    assert get(server, "/login?next=%2Fsupervisor%2Ftickets%2F7%3Fdesk%3D2") == 200
    assert get(server, "/healthz?probe=1") in (200, 503)
    lines = access_lines(caplog)
    assert any('"GET /login HTTP/1.1" 200' in line for line in lines), lines
    assert any('"GET /healthz HTTP/1.1"' in line for line in lines), lines
    assert not any("?" in line or "desk" in line or "probe" in line for line in lines)


def test_ok__a_malformed_request_line_is_logged_without_its_query(server, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /api/queue?access_token=s3cr3t-token HTTP/1.1 extra\r\n\r\n")
        raw.recv(4096)
    lines = access_lines(caplog)
    assert lines and not any("s3cr3t" in line or "access_token" in line for line in lines), lines


@pytest.mark.parametrize("line, expected", [
    ('"GET /login?next=/x HTTP/1.1" 200 -', '"GET /login HTTP/1.1" 200 -'),
    ("code 400, message Bad request syntax ('GET /a?token=x HTTP/1.1 junk')", "code 400, message Bad request syntax ('GET /a HTTP/1.1 junk')"),
    ('"GET /plain HTTP/1.1" 200 -', '"GET /plain HTTP/1.1" 200 -'),
])
def test_ok__without_query_cuts_every_query_out_of_a_line(line, expected):
    assert without_query(line) == expected
