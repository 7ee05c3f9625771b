"""Events the scripts and forms domain records in a contact's log."""

from __future__ import annotations

from typing import ClassVar

from hotline.core.events import Event, register


@register
class FormSubmitted(Event):
    """An agent submitted the contact's form (checked against its schema). The data stays in
    `contact_forms`; the log says who submitted which form version, and when. Logged on the
    contact the data is stored on: submitted through a warm transfer's consultation, that is the
    caller's contact, and `consultation` names the consultation it came through."""

    type: ClassVar[str] = "form.submitted"

    form_id: str
    form_version: int
    version: int
    agent_id: str
    consultation: str | None = None
