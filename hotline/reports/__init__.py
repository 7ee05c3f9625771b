"""Historical reports: contacts, service level, agents and requests over a period, as tables for
the browser's charts and as CSV or XLSX (docs/reports.md)."""
