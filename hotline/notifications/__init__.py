"""Messages back to the caller: a request's status (accepted, done, failed) sent by SMS through a
configurable gateway, or kept in the outbox for the demo (see docs/requests.md)."""
