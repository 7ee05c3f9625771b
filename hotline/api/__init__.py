"""The HTTP API (FastAPI). This issue serves health and live queue figures; the browser API
(agent desktop, wallboard, admin) grows here in the next one."""
