"""The `city` fixture: see tests/requests/city.py."""

from tests.requests.city import city

__all__ = ["city"]
