"""Events the live router records in a contact's log and publishes on the bus.

Words follow the glossary: a contact *arrives* at the hotline, waits in a queue, is *offered* to an
agent (the phone rings), is *answered*, and *ends* with an outcome."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from hotline.core.events import Event, register


@register
class ContactQueued(Event):
    type: ClassVar[str] = "contact.queued"
    queue_id: str
    priority: int = 0


@register
class ContactOffered(Event):
    type: ClassVar[str] = "contact.offered"
    queue_id: str
    agent_id: str
    is_callback: bool = False
    deadline: float


@register
class OfferWithdrawn(Event):
    type: ClassVar[str] = "contact.offer_withdrawn"
    agent_id: str
    reason: str


@register
class ContactAnswered(Event):
    type: ClassVar[str] = "contact.answered"
    queue_id: str
    agent_id: str
    waited: float


@register
class ContactMoved(Event):
    type: ClassVar[str] = "contact.moved"
    from_queue: str
    to_queue: str
    widened: bool = False


@register
class CallbackRequested(Event):
    type: ClassVar[str] = "contact.callback_requested"
    queue_id: str


@register
class CallbackRescheduled(Event):
    """The caller did not answer the callback: it waits again, to be dialled from `retry_at`."""

    type: ClassVar[str] = "contact.callback_rescheduled"
    retry_at: datetime


@register
class CallbackSuggested(Event):
    type: ClassVar[str] = "contact.callback_suggested"
    queue_id: str
    message: str | None = None


@register
class ContactEnded(Event):
    type: ClassVar[str] = "contact.ended"
    queue_id: str | None
    outcome: str
    waited: float
    message: str | None = None


@register
class AgentStateChanged(Event):
    """Not part of a contact's log: kept in the agent state history, and published."""

    type: ClassVar[str] = "agent.state_changed"
    agent_id: str
    state: str
    reason: str | None = None
    contact_id: str | None = None


@register
class AgentSkillsChanged(Event):
    """An agent's skills were changed (stored first): the router offers by them from now on, and
    the wallboard shows the agent's queues anew. Not part of a contact's log."""

    type: ClassVar[str] = "agent.skills_changed"
    agent_id: str
    skills: list[dict[str, str | int]]


@register
class QueuesConfigured(Event):
    """A configuration publish reached the router: `queue_ids` were added or changed (their new
    specs, business hours included, route the next contact), `removed` are routed to no more.
    Not part of a contact's log; the call path re-reads its calendars on it."""

    type: ClassVar[str] = "routing.queues_configured"
    queue_ids: list[str]
    removed: list[str] = []
