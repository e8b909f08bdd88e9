"""Vaccination-site kiosk: scan a QR code, check the person in, queue them, report doses."""

__version__ = "0.1.0"
