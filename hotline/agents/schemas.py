"""The shapes of the agent desktop's routes (docs/web-api.md, "The agent desktop"). Free text
(reasons, notes, a caller's earlier topics) goes out as data; the browser escapes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hotline.calls.browser import Phone

ChosenState = Literal["ready", "not_ready", "logged_out"]
TransferMode = Literal["blind", "warm"]

REASON_MAX = 100
NOTE_MAX = 4000
SDP_MAX = 16_000
"""A browser's SDP offer with its candidates is a few kilobytes."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StateIn(_In):
    state: ChosenState
    reason: str | None = Field(
        None, min_length=1, max_length=REASON_MAX, description="why not ready (break, training)"
    )


class PhoneIn(_In):
    phone: Phone


class PhoneOut(BaseModel):
    """Which device rings for offers, and whether it can ring now."""

    phone: Phone
    reachable: bool


class SoftphoneIn(_In):
    sdp: str = Field(min_length=1, max_length=SDP_MAX)


class SoftphoneOut(BaseModel):
    sdp: str


class DigitsIn(_In):
    digits: str = Field(pattern=r"^[0-9*#A-Da-d]{1,32}$")


class TransferIn(_In):
    mode: TransferMode
    target: str = Field(
        pattern=r"^(queue|line):[A-Za-z0-9_.-]{1,64}$", description="queue:<id> or line:<id>"
    )


class WrapUpIn(_In):
    code: str = Field(min_length=1, max_length=64, description="a wrap-up code's id")
    note: str | None = Field(None, max_length=NOTE_MAX)
    contact_id: str | None = Field(
        None, max_length=64, description="the contact wrapped up; default the one answered last"
    )


class WrapUpCodeOut(BaseModel):
    id: str
    name: str
    description: str | None


class TransferTargetOut(BaseModel):
    """Where a call may be transferred: `target` is what `POST /agent/call/transfer` takes."""

    target: str
    kind: Literal["queue", "line"]
    id: str
    name: str


class DeskOptions(BaseModel):
    """The desktop's choices: wrap-up codes and transfer targets (queues, department lines)."""

    wrapup_codes: list[WrapUpCodeOut]
    transfer_targets: list[TransferTargetOut]


class Caller(BaseModel):
    number: str | None


class HistoryItem(BaseModel):
    """One of the caller's earlier contacts."""

    id: str
    started_at: datetime
    topic: str | None
    outcome: str | None


class Consultation(BaseModel):
    """A warm transfer's consultation: the colleague who asks, about which caller's contact."""

    for_contact: str = Field(description="the caller's contact the consultation is about")
    from_agent: str | None = Field(description="the name of the agent who consults")


class ContactPop(BaseModel):
    """What the agent sees of a contact the moment it rings: who calls, on which line, what they
    chose in the IVR, how long they waited, and what came before."""

    id: str
    caller: Caller
    line: str | None = Field(description="the line's name")
    line_id: str | None
    topic: str | None
    queue: str | None = Field(description="the queue's name")
    queue_id: str | None
    ivr_path: list[str] = Field(description="the IVR steps taken: `step` or `step=key`")
    waited: float | None = Field(description="seconds from arrival to the answer (or until now)")
    callback: bool
    state: str
    history: list[HistoryItem]
    consultation: Consultation | None = Field(
        None,
        description="set on a warm transfer's consultation: its topic, IVR path and line are "
        "those of the caller's contact it is about",
    )
    requests: list[dict[str, Any]] = Field(
        default_factory=list, description="open requests of this caller (none yet)"
    )


class AgentQueue(BaseModel):
    id: str
    name: str
    waiting: int
    longest_wait: float


class Today(BaseModel):
    """Since local midnight, from the agent's state history: contacts taken, time talking, and the
    average handle time (talk and wrap-up per contact)."""

    answered: int
    aht: float | None
    talk_seconds: float


class TransferInProgress(BaseModel):
    """The agent's warm transfer while they consult: complete it once `answered`, or cancel."""

    contact_id: str = Field(description="the consultation's contact")
    target: str = Field(description="queue:<id> or line:<id>")
    target_name: str
    answered: bool = Field(description="whether a colleague has answered the consultation")


class AgentMe(BaseModel):
    username: str
    state: str = Field(description="the router's state: offline, ready, not_ready, reserved, ...")
    reason: str | None
    since: float | None = Field(description="unix seconds the state began (None: never seen)")
    phone: Phone
    reachable: bool = Field(description="whether the chosen phone can ring now")
    queues: list[AgentQueue]
    today: Today
    contact: ContactPop | None
    transfer: TransferInProgress | None = None
