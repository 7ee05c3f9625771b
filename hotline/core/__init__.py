"""Settings, the composition root, clock, ids, the error catalogue, event types and the bus."""
