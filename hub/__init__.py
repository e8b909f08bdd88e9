"""District hub: ingest kiosk event streams, merge them, report."""
