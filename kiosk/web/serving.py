"""The screens' HTTP server: werkzeug's threaded server, with an access log that never shows a query string (staffweb/serving.py)."""

from __future__ import annotations

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from staffweb.serving import PathOnlyLog


def screen_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """The server `kiosk web` and `kiosk run` serve the screens with: one thread per request."""
    return make_server(host, port, app, threaded=True, request_handler=PathOnlyLog)
