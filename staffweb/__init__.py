"""What the kiosk's staff screens and the hub's district workspace share: lockout rules, the session cookie, the access log.

Both programs serve staff pages with Flask in the same way (sign-in with
lockouts, server-side sessions behind a signed cookie, view guards, an access
log without query strings, a language switch) but may not import each other;
the pieces that are the same on both sides live here, parametrised where the
two differ. This package imports neither kiosk nor hub. Only ``auth``,
``serving``, ``pages`` and ``i18n`` import Flask or werkzeug: ``lockouts`` is
pure, so the stores can use it without loading a web framework.
"""
