"""Events the agent desktop records in a contact's log."""

from __future__ import annotations

from typing import ClassVar

from hotline.core.events import Event, register


@register
class ContactWrappedUp(Event):
    """An agent closed their part of the contact with a disposition (the note itself is on the
    contact's row: it is free text and may hold personal data)."""

    type: ClassVar[str] = "contact.wrapped_up"
    agent_id: str
    code: str
    has_note: bool = False
