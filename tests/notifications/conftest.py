"""The `field_api` fixture (tests/requests/field_api.py)."""

from tests.requests.field_api import field_api

__all__ = ["field_api"]
