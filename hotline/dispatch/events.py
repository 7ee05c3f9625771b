"""Events of the dispatch domain's calls: a field worker calling a citizen through the platform.
They go into the log of the call's own contact (direction `outbound`, or `callback` when an agent
makes the call for them), with the request's id; the citizen's number stays in the contact row."""

from __future__ import annotations

from typing import ClassVar

from hotline.core.events import Event, register


@register
class CitizenCallStarted(Event):
    """A field worker asked to be connected with the citizen of their task. `mode`: `bridge`
    (their phone rings, then the citizen's, and the two are bridged) or `agent_callback` (their
    phone is not reachable: a callback for an agent is queued instead)."""

    type: ClassVar[str] = "field_call.started"
    request_id: str
    worker_id: str
    mode: str


@register
class CitizenCallConnected(Event):
    """The field worker and the citizen are talking."""

    type: ClassVar[str] = "field_call.connected"
    request_id: str
    worker_id: str
