"""The workspace's HTTP(S) server: werkzeug's threaded server, with an access log that never shows a query string.

With a certificate, each connection's TLS handshake happens in its own request
thread (not in the accepting loop, where one slow client would stall everyone),
under the handler's timeout.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer

from staffweb.serving import PathOnlyLog

TIMEOUT_SECONDS = 60
"""A connection that sends nothing (or stalls its TLS handshake) this long is closed."""


class TimedRequests(PathOnlyLog):
    """The access log without query strings (staffweb/serving.py), and a timeout on every connection."""

    timeout = TIMEOUT_SECONDS


class TlsServer(ThreadedWSGIServer):
    """werkzeug's threaded server over TLS, each handshake in its connection's thread."""

    def __init__(self, host: str, port: int, app: Flask, context: ssl.SSLContext):
        super().__init__(host, port, app, TimedRequests)
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
    return ThreadedWSGIServer(host, port, app, TimedRequests)
