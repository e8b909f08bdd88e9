"""Vaccination-site kiosk: scan a QR code, check the person in, queue them, report doses."""
