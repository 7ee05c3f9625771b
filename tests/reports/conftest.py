"""Reports' tests build their own `centre` fixture on tests/requests/field_api.py."""
