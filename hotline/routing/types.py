"""The routing engine's vocabulary: specifications it is configured with, the states it keeps and
the decisions it returns. Plain frozen dataclasses with slots: the engine is pure and hot, and the
simulator creates millions of these."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Strategy(StrEnum):
    """How a queue picks among ready agents."""

    LONGEST_IDLE = "longest_idle"
    LEAST_OCCUPIED = "least_occupied"
    ROUND_ROBIN = "round_robin"
    BEST_SKILL = "best_skill"  # highest level on the queue's skills, then longest idle


class AgentState(StrEnum):
    OFFLINE = "offline"
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVED = "reserved"  # an offer is ringing
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class ContactState(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    CONNECTED = "connected"
    ENDED = "ended"


class Outcome(StrEnum):
    """How a contact left the router."""

    HANDLED = "handled"  # answered by an agent and finished
    ABANDONED = "abandoned"  # the caller hung up while waiting (or while an offer rang)
    CLOSED = "closed"  # the queue was closed (business hours) on arrival
    MESSAGE = "message"  # max wait reached: a message was played and the call ended
    TRANSFERRED = "transferred"  # left this queue for another by transfer (the contact goes on)
    CALLBACK_FAILED = "callback_failed"  # the callback could not reach the caller
    CANCELLED = "cancelled"  # removed by the service (e.g. the caller's leg failed)


class OverflowAction(StrEnum):
    WIDEN = "widen"  # also offer to agents with these skills
    MOVE = "move"  # move to another queue, keeping the arrival time
    CALLBACK = "callback"  # offer the caller a callback (the IVR asks; the caller may accept)
    MESSAGE = "message"  # play a message and end the contact


@dataclass(frozen=True, slots=True)
class SkillRequirement:
    skill: str
    min_level: int = 1


@dataclass(frozen=True, slots=True)
class OverflowRule:
    """After `after` seconds of waiting in its queue, do `action` to the contact."""

    after: float
    action: OverflowAction
    skills: tuple[SkillRequirement, ...] = ()  # WIDEN
    queue: str | None = None  # MOVE
    message: str | None = None  # MESSAGE (and CALLBACK: the prompt that offers it)


class OpenHours(Protocol):
    """A business-hours calendar: pure, answers for an epoch time."""

    def is_open(self, at: float) -> bool: ...


@dataclass(frozen=True, slots=True)
class QueueSpec:
    id: str
    skills: tuple[SkillRequirement, ...]
    strategy: Strategy = Strategy.LONGEST_IDLE
    priority: int = 0  # contacts of higher-priority queues are taken first by multi-skilled agents
    wrap_up_seconds: float = 0.0
    offer_timeout_seconds: float = 20.0
    sl_target_seconds: float = 20.0
    overflow: tuple[OverflowRule, ...] = ()
    hours: OpenHours | None = None  # None: always open
    closed_message: str | None = None
    # The topic the queue serves (its first required skill of kind "topic") and that skill's
    # name: labels for the wallboard's grouping; the engine does not look at them.
    topic: str | None = None
    topic_name: str | None = None


@dataclass(frozen=True, slots=True)
class AgentSkill:
    skill: str
    level: int = 1  # 1 (novice) .. 10 (expert)
    preference: int = 0  # lower is preferred: a free agent serves preferred skills' queues first


# ---- decisions: what the engine tells the service (or the simulator) to do ----
# Slotted but not frozen: a frozen dataclass sets each field through object.__setattr__, which
# was a sixth of the simulator's time. Treat them as read-only.


@dataclass(slots=True)
class Offer:
    """Ring `agent_id` with `contact_id` until `deadline`; for a callback, dial the caller on
    acceptance."""

    contact_id: str
    agent_id: str
    queue_id: str
    deadline: float
    is_callback: bool = False


@dataclass(slots=True)
class OfferWithdrawn:
    """Stop ringing: the offer timed out (`missed`) or the caller abandoned (`abandoned`)."""

    contact_id: str
    agent_id: str
    reason: str


@dataclass(slots=True)
class AgentStateChanged:
    agent_id: str
    state: AgentState
    reason: str | None = None
    at: float = 0.0


@dataclass(slots=True)
class ContactMoved:
    """Overflow or transfer took the contact to another queue, or widened who may take it."""

    contact_id: str
    from_queue: str
    to_queue: str
    widened: bool = False


@dataclass(slots=True)
class CallbackSuggested:
    """Max wait reached: the service should offer the caller a callback (prompt `message`)."""

    contact_id: str
    queue_id: str
    message: str | None = None


@dataclass(slots=True)
class ContactEnded:
    contact_id: str
    queue_id: str
    outcome: Outcome
    waited: float  # seconds from arrival to answer (HANDLED) or to the end
    message: str | None = None  # the prompt to play before hanging up (CLOSED, MESSAGE)
    at: float = 0.0


Decision = (
    Offer | OfferWithdrawn | AgentStateChanged | ContactMoved | CallbackSuggested | ContactEnded
)


@dataclass(slots=True)
class AgentSnapshot:
    agent_id: str
    state: AgentState
    since: float
    reason: str | None
    contact_id: str | None
    skills: dict[str, AgentSkill] = field(default_factory=dict)


@dataclass(slots=True)
class ContactSnapshot:
    contact_id: str
    queue_id: str
    state: ContactState
    arrived: float
    priority: int
    is_callback: bool
    agent_id: str | None
    # who may take it: the queue's requirement, then each widening overflow has added
    requirements: tuple[tuple[SkillRequirement, ...], ...] = ()
