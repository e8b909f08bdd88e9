"""The workspace's HTTP(S) server: werkzeug's threaded server, with an access log that never shows a query string.

With a certificate, each connection's TLS handshake happens in its own request
thread (not in the accepting loop, where one slow client would stall everyone),
under the handler's timeout.
"""

from __future__ import annotations

import re
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler

QUERY = re.compile(r"\?[^\s\"']*")
"""A query string inside a logged request line: from the ``?`` to the next space or quote."""
TIMEOUT_SECONDS = 60
"""A connection that sends nothing (or stalls its TLS handshake) this long is closed."""


class PathOnlyLog(WSGIRequestHandler):
    """Logs each request by method, path and status: a query could carry a search term (an ID number, a name)."""

    timeout = TIMEOUT_SECONDS

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        try:
            line = f"{self.command} {urlsplit(self.path).path} {self.request_version}"
        except AttributeError:  # the request line was malformed, so it was never split
            line = self.requestline
        line = without_query(line).translate(self._control_char_table)
        self.log("info", '"%s" %s %s', line, code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        """Every line werkzeug writes, its own errors about malformed request lines included, loses its query strings."""
        text = message % args if args else message
        super().log(type, "%s", without_query(text))


def without_query(text: str) -> str:
    return QUERY.sub("", text)


class TlsServer(ThreadedWSGIServer):
    """werkzeug's threaded server over TLS, each handshake in its connection's thread."""

    def __init__(self, host: str, port: int, app: Flask, context: ssl.SSLContext):
        super().__init__(host, port, app, PathOnlyLog)
        self.ssl_context = context  # werkzeug reads it for wsgi.url_scheme; the listening socket stays plain

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = self.socket.accept()
        return self.ssl_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context for browsers: TLS 1.2 and up, the certificate chain and its key (PEM); raise OSError or
    ssl.SSLError when they cannot be read or do not match."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def workspace_server(app: Flask, host: str, port: int, context: ssl.SSLContext | None = None) -> BaseWSGIServer:
    """The server `hub web` serves with: one thread per request, HTTPS when given a context."""
    if context is not None:
        return TlsServer(host, port, app, context)
    return ThreadedWSGIServer(host, port, app, PathOnlyLog)
