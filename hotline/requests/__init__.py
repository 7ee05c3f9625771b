"""Service requests: categories, the lifecycle with its audit trail, SLA clocks, priority and
duplicate detection. What a call becomes once the agent has heard what the caller needs."""
