"""The `api` fixture: the browser API on each database (tests/api/harness.py)."""

from tests.api.harness import api_fixture

__all__ = ["api_fixture"]
