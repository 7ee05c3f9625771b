"""An agent's browser softphone lost mid-call, and the wait for it to come back.

When the agent desktop's softphone goes away while it carries a call (the page reloads, the
browser's connection fails or closes, the network drops and the page connects anew), the caller is
not hung up: they are held (music on hold, or silence) while the same agent's desktop reconnects
its softphone, whose new leg is then bridged to the caller again. Past a grace period the call
ends, with the reason `AGENT_LEG_LOST` in the contact's log.

This module is the pure part: which ends of an agent's leg are worth waiting out, and the wait
itself (whose, since when, until when). The call actor (`hotline.calls.call`) does the media
(hold, re-bridge) and the records."""

from __future__ import annotations

from dataclasses import dataclass

AGENT_LEG_LOST = "agent_leg_lost"
"""The reason a call ends with when its agent's softphone did not come back in time."""


def worth_waiting(*, leg_kind: str, deliberate: bool, grace: float) -> bool:
    """Whether the end of a connected agent's leg is a loss to wait out rather than a hang-up:
    only a browser softphone's (a page can reconnect it; a SIP phone's BYE is the agent putting
    the phone down), only when the agent did not end it on purpose, and only with a grace period
    (0 turns the wait off)."""
    return leg_kind == "webrtc" and not deliberate and grace > 0


@dataclass(frozen=True, slots=True)
class AgentAway:
    """A call waiting for its agent's softphone: `contact_id` is the agent's contact (the one
    the router has them on), `reason` why their leg ended."""

    contact_id: str
    agent_id: str
    reason: str
    since: float
    until: float

    @classmethod
    def begin(
        cls, *, contact_id: str, agent_id: str, reason: str, now: float, grace: float
    ) -> AgentAway:
        return cls(contact_id, agent_id, reason, now, now + grace)

    def remaining(self, now: float) -> float:
        """Seconds left to come back (0 once the grace period is over)."""
        return max(0.0, self.until - now)

    def expired(self, now: float) -> bool:
        return now >= self.until

    def rejoins(self, agent_id: str, now: float) -> bool:
        """Whether `agent_id`'s softphone coming back at `now` takes the call up again: the
        same agent, within the grace period."""
        return agent_id == self.agent_id and not self.expired(now)

    def away_for(self, now: float) -> float:
        return max(0.0, now - self.since)
