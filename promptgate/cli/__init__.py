"""The ``promptgate`` command line."""
