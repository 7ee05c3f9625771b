"""The audit log: who read or changed a caller's personal data, and who published configuration,
when and from where (docs/web-api.md, "Audit")."""
