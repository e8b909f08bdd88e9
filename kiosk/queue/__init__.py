"""The check-in queue: its SQLite store and the use cases that change it."""
