"""The kiosk's SQLite store and the only code that touches its tables: the check-in queue and its use cases, staff, sign-in lockouts and sessions."""
