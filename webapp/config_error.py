"""Kept apart from ``config.py`` so entry points can catch it even when reading the
environment (the ``Config`` class body) is what fails."""


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""
