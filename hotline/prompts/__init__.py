"""Prompts administrators manage: uploaded recordings and text spoken by espeak-ng, by name."""
