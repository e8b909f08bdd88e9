"""Date-shifted test runs: python -m tests.shifted (see __main__.py)."""
