"""The `city` fixture (tests/requests/city.py) and the `field_api` fixture
(tests/requests/field_api.py)."""

from tests.requests.city import city
from tests.requests.field_api import field_api

__all__ = ["city", "field_api"]
