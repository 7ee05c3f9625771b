"""The events browsers receive on `GET /api/v1/events` (see docs/web-api.md, "Live events").

These are not the domain events of the bus (`hotline.core.events.Event`): they are what a browser
page is told, numbered by the live feed so a page can resume after a network drop. Each is
serialised once, whoever receives it, and carries who may see it (the agent it concerns, the
queue whose figures it holds); those two fields never leave the server."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

AGENT_STATE = "agent.state"
QUEUE_FIGURES = "queue.figures"
CONTACT_OFFERED = "contact.offered"
CONTACT_ANSWERED = "contact.answered"
CONTACT_ENDED = "contact.ended"
OFFER_WITHDRAWN = "offer.withdrawn"
REQUEST_CHANGED = "request.changed"  # a request's step, to its field worker and its creator
SNAPSHOT = "snapshot"  # the first message of a stream that does not resume
# Not an event: sent on a page's socket when nothing else was sent for `live_heartbeat_seconds`,
# so that a page notices a connection that died silently. It has no id (it takes no place in the
# numbering, is never replayed) and only `{"type", "at", "data": {"interval"}}` on the wire.
HEARTBEAT = "heartbeat"

# WebSocket close codes the browser app acts on (4000-4999 are the application's own).
CLOSE_RESUME = 4001  # the page fell behind: reconnect with ?last_event_id=<last id seen>
CLOSE_NOT_SIGNED_IN = 4401  # no valid session: sign in again
CLOSE_FORBIDDEN = 4403  # signed in, but not allowed (e.g. the password must be changed first)
CLOSE_GOING_AWAY = 1001  # the server is stopping: reconnect (and resume) in a moment


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One message of the stream: `{"id", "type", "at", "data"}` on the wire.

    `agent` is the username of the agent the event concerns (their state, their offer, their
    contact); `queue` the queue whose figures it carries. Supervisors see everything; an agent
    sees what concerns them and their queues' figures."""

    id: int
    type: str
    at: float
    data: dict[str, Any]
    agent: str | None = None
    queue: str | None = None
    text: str = field(default="", compare=False, repr=False)
    audience: frozenset[str] | None = None  # usernames it is for (besides supervisors)

    @classmethod
    def make(
        cls,
        id: int,
        type: str,
        at: float,
        data: dict[str, Any],
        *,
        agent: str | None = None,
        queue: str | None = None,
        audience: frozenset[str] | None = None,
        heartbeat: float | None = None,
    ) -> LiveEvent:
        """An event with its wire text made now: one `json.dumps` for every page it goes to.
        `heartbeat` (the snapshot's) tells the page the heartbeat interval, in seconds."""
        message: dict[str, Any] = {"id": id, "type": type, "at": at, "data": data}
        if heartbeat is not None:
            message["heartbeat"] = heartbeat
        text = json.dumps(message, separators=(",", ":"))
        return cls(id, type, at, data, agent, queue, text, audience)

    def message(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "at": self.at, "data": self.data}


def heartbeat_text(at: float, interval: float) -> str:
    """The wire text of a heartbeat sent at server time `at` (see `HEARTBEAT`)."""
    message = {"type": HEARTBEAT, "at": at, "data": {"interval": interval}}
    return json.dumps(message, separators=(",", ":"))
