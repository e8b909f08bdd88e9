"""The screens' HTTP server: werkzeug's threaded server, with an access log that never shows a query string."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

QUERY = re.compile(r"\?[^\s\"']*")
"""A query string inside a logged request line: from the ``?`` to the next space or quote."""


class PathOnlyLog(WSGIRequestHandler):
    """Logs each request by method, path and status: a query can carry what must not be kept (a token pasted into a URL)."""

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


def screen_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """The server `kiosk web` and `kiosk run` serve the screens with: one thread per request."""
    return make_server(host, port, app, threaded=True, request_handler=PathOnlyLog)
