"""Hotline: an open-source, software-only contact center for crisis and public-service hotlines."""

__version__ = "0.1.0"
