"""The staff pages' access log: werkzeug's request handler, logging each request without its query string.

A query can carry what must not be kept: a search term (an ID number, a name)
or a token pasted into a URL. The servers themselves stay with each program
(kiosk/web/serving.py, hub/web/serving.py).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import WSGIRequestHandler

QUERY = re.compile(r"\?[^\s\"']*")
"""A query string inside a logged request line: from the ``?`` to the next space or quote."""


class PathOnlyLog(WSGIRequestHandler):
    """Logs each request by method, path and status, never its query."""

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
    """``text`` with every query string (``?`` up to a space or quote) cut out."""
    return QUERY.sub("", text)
