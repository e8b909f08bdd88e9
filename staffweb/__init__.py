"""What the kiosk's staff screens and the hub's district workspace share: lockout rules, the session cookie, the access log.

Both programs serve staff pages with Flask in the same way (sign-in with
lockouts, server-side sessions behind a signed cookie, an access log without
query strings, a language switch) but may not import each other; the pieces
that are the same on both sides live here. This package imports neither
kiosk nor hub. Only ``auth``, ``serving`` and ``pages`` import Flask or
werkzeug: ``lockouts`` is pure, so the stores can use it without loading a web
framework.
"""
