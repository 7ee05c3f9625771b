"""Contacts (interactions with callers), their append-only event logs, and wrap-up codes."""
