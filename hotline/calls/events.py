"""Events the call layer records in a contact's log and publishes on the bus.

They complete what the router records (`hotline.routing.events`: queued, offered, answered,
ended): how the call arrived, what the caller did in the IVR, which agent phones could not be
reached, callbacks dialled, transfers, recordings, the quality of each leg, and who hung up and
why. Caller numbers are never in these payloads (the contact row holds the number); a log can be
shown to anyone who may see the contact."""

from __future__ import annotations

from typing import Any, ClassVar

from hotline.core.events import Event, register


@register
class CallArrived(Event):
    """An INVITE reached a line (the contact exists from here on)."""

    type: ClassVar[str] = "contact.arrived"
    line_id: str | None
    dialled: str | None  # the Request-URI user: the hotline number or line id that was dialled
    trunk: str | None = None
    sip_user: str | None = None  # the authenticated SIP account, when it came from a phone


@register
class IvrCompleted(Event):
    """The IVR is over: the path the caller took, what it learned, and how it ended."""

    type: ClassVar[str] = "ivr.completed"
    flow: str
    flow_version: int | None = None
    path: list[dict[str, Any]]
    attributes: dict[str, Any]
    outcome: str | None  # enqueue, offercallback, transfer, hangup; None: the caller hung up
    ended_by: str | None


@register
class CallRejected(Event):
    """The INVITE was refused before answer, with this SIP status."""

    type: ClassVar[str] = "call.rejected"
    status: int
    reason: str


@register
class AgentUnreachable(Event):
    """An offer rang no phone of the agent to an answer (busy, refused, not registered)."""

    type: ClassVar[str] = "call.agent_unreachable"
    agent_id: str
    status: int
    reason: str


@register
class CallbackDialling(Event):
    """An agent took the callback; Hotline dials the caller."""

    type: ClassVar[str] = "callback.dialling"
    agent_id: str
    attempt: int


@register
class CallbackDialFailed(Event):
    """The caller did not answer the callback; `retry_in` None: no more attempts."""

    type: ClassVar[str] = "callback.dial_failed"
    attempt: int
    status: int
    reason: str
    retry_in: float | None


@register
class CallTransferred(Event):
    """A transfer: blind (`stage` done at once) or warm (started, then completed or cancelled).
    `consult_contact_id` is the consultation's own contact in a warm transfer."""

    type: ClassVar[str] = "call.transferred"
    kind: str  # queue, line or external
    target: str
    warm: bool = False
    stage: str = "done"  # done (blind), started, completed, cancelled
    from_agent: str | None = None
    consult_contact_id: str | None = None


@register
class CallRecorded(Event):
    """A recording of the call: stereo WAV, caller left, what the caller heard right."""

    type: ClassVar[str] = "call.recording"
    path: str
    seconds: float


@register
class LegQualityRecorded(Event):
    """The figures of one leg when it was released (see docs/media.md for their meaning)."""

    type: ClassVar[str] = "call.quality"
    leg: str  # caller, agent or consult
    agent_id: str | None = None
    figures: dict[str, Any]


@register
class CallEnded(Event):
    """Who ended the call and why: `by` is caller, agent or hotline."""

    type: ClassVar[str] = "call.ended"
    by: str
    reason: str


@register
class CallHeld(Event):
    """The agent put the caller on hold from the desktop: music to the caller, nothing relayed."""

    type: ClassVar[str] = "call.held"
    agent_id: str


@register
class CallResumed(Event):
    """The agent took the caller off hold: they hear each other again."""

    type: ClassVar[str] = "call.resumed"
    agent_id: str


@register
class AgentLegLost(Event):
    """The agent's browser softphone went away mid-call (the page reloaded, its connection
    failed): the caller is held while the agent's desktop reconnects, for up to `grace` seconds
    (hotline/calls/rejoin.py)."""

    type: ClassVar[str] = "call.agent_lost"
    agent_id: str
    reason: str
    grace: float


@register
class AgentRejoined(Event):
    """The agent's softphone came back within the grace period and is bridged to the caller
    again, after `away_seconds` without it."""

    type: ClassVar[str] = "call.agent_rejoined"
    agent_id: str
    away_seconds: float
