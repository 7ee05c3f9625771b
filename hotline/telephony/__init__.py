"""Telephony: SIP signalling, media workers and prompts."""
