"""The IVR interpreter: runs one call through a flow. Pure: events and the time in, actions out.

There is no I/O, no clock and no database here, so the live call path and the simulator run the
same code, and every behaviour is testable by feeding events. A driver (the live call path) owns
one `IvrSession` per call and does what its actions say:

- `Play(play_id, prompts, barge_in)`: play the prompts one after the other, then send
  `PromptFinished(play_id)`. `StopPlay(play_id)`: stop that playback (no `PromptFinished` needed).
- `StartTimer(timer_id, at)`: at `at` (epoch seconds) send `Timeout(timer_id)`, unless
  `CancelTimer(timer_id)` came first.
- Send every key the caller presses as `Digit(d)`, whenever it comes; the session decides whether
  it barges in, is kept for the next menu (dial-ahead), or is ignored.
- `SetAttribute(name, value)`: record the contact's attribute.
- `Enqueue`, `OfferCallback`, `Transfer`, `Hangup`: the IVR is over; do it. Exactly one of them
  ends a session, unless the caller hangs up first (`CallerHangup`).

Why per-key events rather than a "collect N digits" command to the media worker: menus with
barge-in, dial-ahead, terminators, inter-digit timeouts and retries then live in this one tested
place, and the media side only has to play, stop, report keys and keep timers. Ids on plays and
timers make late reports harmless: a `PromptFinished` or `Timeout` for anything but the current
play or timer is ignored, so a driver never has to worry about races between a key and a timer.

A session holds its `Flow` object, so a call finishes on the version it began with, whatever is
published meanwhile."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, Literal, TypeAlias

from hotline.core.errors import InvalidConfiguration
from hotline.ivr.schemas import (
    DTMF_DIGITS,
    AnyStep,
    AttributeValue,
    BranchStep,
    CallbackStep,
    CollectStep,
    EnqueueStep,
    Flow,
    HangupStep,
    HoursStep,
    MenuStep,
    PlayStep,
    PromptRef,
    PromptSpec,
    SetStep,
    TransferStep,
)
from hotline.routing.types import OpenHours

# ---- events: what the driver reports ----


@dataclass(frozen=True, slots=True)
class PromptFinished:
    """The playback `play_id` reached its end."""

    play_id: int


@dataclass(frozen=True, slots=True)
class Digit:
    """The caller pressed a key (0-9, *, #, A-D)."""

    digit: str


@dataclass(frozen=True, slots=True)
class Timeout:
    """The timer `timer_id` ran out."""

    timer_id: int


@dataclass(frozen=True, slots=True)
class CallerHangup:
    """The caller hung up during the IVR."""


IvrEvent: TypeAlias = PromptFinished | Digit | Timeout | CallerHangup


# ---- actions: what the session asks the driver to do ----


@dataclass(frozen=True, slots=True)
class Play:
    """Play `prompts` in order; with `barge_in` the caller may cut them short with a key."""

    play_id: int
    prompts: tuple[PromptRef, ...]
    barge_in: bool


@dataclass(frozen=True, slots=True)
class StopPlay:
    play_id: int


@dataclass(frozen=True, slots=True)
class StartTimer:
    timer_id: int
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer_id: int


@dataclass(frozen=True, slots=True)
class SetAttribute:
    name: str
    value: AttributeValue


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Put the contact in `queue`. While it waits, play `announce` every `announce_every`
    seconds, filling in the built-in position and expected-wait announcements."""

    queue: str
    priority: int
    attributes: dict[str, AttributeValue]
    announce: tuple[PromptRef, ...] = ()
    announce_every: float | None = None


@dataclass(frozen=True, slots=True)
class OfferCallback:
    """Register a callback to `number` (None: the caller's number is not known) for `queue`,
    play `message`, and end the call."""

    queue: str
    priority: int
    attributes: dict[str, AttributeValue]
    number: str | None
    message: tuple[PromptRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Transfer:
    """Send the call to a queue, another line of the hotline, or an external number."""

    kind: Literal["queue", "line", "external"]
    target: str
    attributes: dict[str, AttributeValue]


@dataclass(frozen=True, slots=True)
class Hangup:
    """Play `message` (if any), then end the call."""

    message: tuple[PromptRef, ...] = ()


TerminalAction: TypeAlias = Enqueue | OfferCallback | Transfer | Hangup
Action: TypeAlias = Play | StopPlay | StartTimer | CancelTimer | SetAttribute | TerminalAction


@dataclass(frozen=True, slots=True)
class PathEntry:
    """One thing that happened at one step: the IVR path an agent sees with the contact.

    `outcome` is one of: played, interrupted, chosen, invalid, no_input, fallback, collected,
    set, open, closed, rules[N], default, enqueued, callback, transferred, hung_up, step_limit,
    caller_hung_up. `input` holds the key or digits pressed (masked for private input)."""

    step: str
    at: float
    outcome: str
    input: str | None = None


class _Wait(Enum):
    NOTHING = "nothing"  # not started, or finished
    PROMPT = "prompt"  # the step's prompts are playing
    INPUT = "input"  # a menu or collect step waits for keys (a timer runs)
    CLOSING = "closing"  # a last "invalid" prompt plays; then the call goes to `_after_closing`


class IvrSession:
    """One call going through one flow.

    `attributes` are the contact's attributes known before the IVR (the caller's number, the
    line); steps add to them. `calendars` answers the business-hours steps: every calendar the
    flow names must be there. That and the flow's own references are checked here, before the
    call starts, so a call never stops half-way on a missing step."""

    def __init__(
        self,
        flow: Flow,
        *,
        attributes: Mapping[str, AttributeValue] | None = None,
        calendars: Mapping[str, OpenHours] | None = None,
    ) -> None:
        broken = flow.broken_references()
        if broken:
            raise InvalidConfiguration(
                f"IVR flow {flow.name!r} is incomplete: {'; '.join(broken)}", problems=broken
            )
        calendars = dict(calendars or {})
        missing = sorted(flow.referenced("calendar") - set(calendars))
        if missing:
            raise InvalidConfiguration(
                f"IVR flow {flow.name!r} needs the calendars {', '.join(missing)}",
                calendars=missing,
            )
        self.flow = flow
        self._calendars = calendars
        self._attributes: dict[str, AttributeValue] = dict(attributes or {})
        self._path: list[PathEntry] = []
        self._started = False
        self._outcome: TerminalAction | None = None
        self._ended = False
        self._step_id: str | None = None
        self._wait = _Wait.NOTHING
        self._steps_taken = 0
        self._limit_reached = False
        self._next_id = 0
        self._play: int | None = None
        self._timer: int | None = None
        self._failures = 0
        self._digits = ""
        self._typeahead: deque[str] = deque()
        self._after_closing: str | None = None

    # ---- the driver's interface ----

    def start(self, now: float) -> list[Action]:
        """Begin the flow at its start step: the first actions."""
        if self._started:
            raise RuntimeError("the IVR session has already started")
        self._started = True
        out: list[Action] = []
        self._go(self.flow.start, now, out)
        return out

    def on_event(self, event: IvrEvent, now: float) -> list[Action]:
        """What to do about `event`. Events for a finished session are ignored."""
        if not self._started:
            raise RuntimeError("start the IVR session before sending it events")
        out: list[Action] = []
        if self._ended:
            return out
        if isinstance(event, Digit):
            if len(event.digit) != 1 or event.digit not in DTMF_DIGITS:
                raise ValueError(f"not a DTMF key: {event.digit!r}")
            self._on_digit(event.digit, now, out)
        elif isinstance(event, PromptFinished):
            if event.play_id == self._play:
                self._play = None
                self._on_prompt_finished(now, out)
        elif isinstance(event, Timeout):
            if event.timer_id == self._timer:
                self._timer = None
                self._on_timeout(now, out)
        elif isinstance(event, CallerHangup):
            self._quiet(out)
            self._record(self._step_id or self.flow.start, now, "caller_hung_up")
            self._end(None)
        return out

    @property
    def finished(self) -> bool:
        """The IVR is over: a terminal action was given, or the caller hung up."""
        return self._ended

    @property
    def outcome(self) -> TerminalAction | None:
        """The action that ended the IVR; None while it runs or if the caller hung up."""
        return self._outcome

    @property
    def current_step(self) -> str | None:
        return self._step_id

    @property
    def attributes(self) -> Mapping[str, AttributeValue]:
        return dict(self._attributes)

    @property
    def path(self) -> tuple[PathEntry, ...]:
        return tuple(self._path)

    def record(self) -> dict[str, Any]:
        """The IVR path and its result, as JSON-ready data for the contact's record."""
        outcome = self._outcome
        return {
            "flow": self.flow.name,
            "path": [asdict(entry) for entry in self._path],
            "attributes": dict(self._attributes),
            "outcome": None if outcome is None else type(outcome).__name__.lower(),
            "ended_by": None if not self._ended else "caller" if outcome is None else "flow",
        }

    # ---- moving between steps ----

    def _go(self, step_id: str | None, now: float, out: list[Action]) -> None:
        """Enter `step_id`, and the steps after it that need no waiting, until one waits for the
        caller or the driver, or the IVR ends."""
        while step_id is not None and not self._ended:
            self._steps_taken += 1
            if self._steps_taken > self.flow.max_steps:
                step_id = self._over_limit(step_id, now, out)
                continue
            self._step_id = step_id
            self._failures = 0
            self._digits = ""
            step_id = self._enter(step_id, now, out)

    def _over_limit(self, step_id: str, now: float, out: list[Action]) -> str | None:
        """Too many steps for one call (a caller going round a menu): the flow's fallback, once;
        then, or without a fallback, hang up."""
        self._record(step_id, now, "step_limit")
        if self.flow.fallback is not None and not self._limit_reached:
            self._limit_reached = True
            self._steps_taken = 0
            return self.flow.fallback
        self._finish(Hangup(), out)
        return None

    def _enter(self, step_id: str, now: float, out: list[Action]) -> str | None:
        """Begin a step; the step to go to at once, or None when it waits (or ended the IVR)."""
        step = self.flow.steps[step_id]
        if isinstance(step, PlayStep):
            self._start_play(step.prompts, step.barge_in, out)
            return None
        if isinstance(step, MenuStep):
            if self._typeahead:
                return self._menu_key(step, self._typeahead.popleft(), now, out)
            self._start_play(step.prompts, step.barge_in, out)
            return None
        if isinstance(step, CollectStep):
            return self._enter_collect(step, now, out)
        if isinstance(step, SetStep):
            for name, value in step.attributes.items():
                self._attributes[name] = value
                out.append(SetAttribute(name, value))
            self._record(step_id, now, "set")
            return step.next
        if isinstance(step, BranchStep):
            for index, rule in enumerate(step.rules):
                if rule.matches(self._attributes):
                    self._record(step_id, now, f"rules[{index}]")
                    return rule.next
            self._record(step_id, now, "default")
            return step.default
        if isinstance(step, HoursStep):
            is_open = self._calendars[step.calendar].is_open(now)
            self._record(step_id, now, "open" if is_open else "closed")
            return step.open if is_open else step.closed
        if isinstance(step, EnqueueStep):
            self._record(step_id, now, "enqueued")
            self._finish(
                Enqueue(
                    queue=step.queue,
                    priority=step.priority,
                    attributes={**self._attributes, **step.attributes},
                    announce=self._resolve(step.announce),
                    announce_every=step.announce_every,
                ),
                out,
            )
            return None
        if isinstance(step, CallbackStep):
            self._record(step_id, now, "callback")
            number = self._attributes.get(step.number)
            self._finish(
                OfferCallback(
                    queue=step.queue,
                    priority=step.priority,
                    attributes={**self._attributes, **step.attributes},
                    number=None if number is None else str(number),
                    message=self._resolve(step.message),
                ),
                out,
            )
            return None
        if isinstance(step, TransferStep):
            self._record(step_id, now, "transferred")
            self._finish(Transfer(step.kind, step.target, dict(self._attributes)), out)
            return None
        assert isinstance(step, HangupStep)
        self._record(step_id, now, "hung_up")
        self._finish(Hangup(self._resolve(step.message)), out)
        return None

    # ---- events ----

    def _on_digit(self, digit: str, now: float, out: list[Action]) -> None:
        step = self._current()
        if self._wait is _Wait.PROMPT:
            if not getattr(step, "barge_in", False):
                return  # keys during a prompt that may not be interrupted are dropped
            self._stop_play(out)
            if isinstance(step, PlayStep):
                self._typeahead.append(digit)
                self._record(self._here(), now, "interrupted", digit)
                self._go(step.next, now, out)
                return
        elif self._wait is _Wait.INPUT:
            self._cancel_timer(out)
        else:
            return  # a closing prompt plays: the menu is over
        if isinstance(step, MenuStep):
            self._go(self._menu_key(step, digit, now, out), now, out)
        elif isinstance(step, CollectStep):
            self._go(self._collect_keys(step, digit, now, out), now, out)

    def _on_prompt_finished(self, now: float, out: list[Action]) -> None:
        step = self._current()
        if self._wait is _Wait.CLOSING:
            target, self._after_closing = self._after_closing, None
            self._go(target, now, out)
        elif isinstance(step, PlayStep):
            self._record(self._here(), now, "played")
            self._go(step.next, now, out)
        elif isinstance(step, MenuStep | CollectStep):
            self._start_timer(step.timeout, now, out)

    def _on_timeout(self, now: float, out: list[Action]) -> None:
        step = self._current()
        if isinstance(step, MenuStep):
            self._record(self._here(), now, "no_input")
            self._go(self._failure(step, step.no_input, now, out), now, out)
        elif isinstance(step, CollectStep):
            if self._digits:
                self._go(self._collect_done(step, now, out), now, out)
            else:
                self._record(self._here(), now, "no_input")
                self._go(self._failure(step, step.no_input, now, out), now, out)

    # ---- menus and collected digits ----

    def _menu_key(self, step: MenuStep, digit: str, now: float, out: list[Action]) -> str | None:
        target = step.options.get(digit)
        if target is not None:
            self._record(self._here(), now, "chosen", digit)
            return target
        self._record(self._here(), now, "invalid", digit)
        return self._failure(step, step.invalid, now, out)

    def _enter_collect(self, step: CollectStep, now: float, out: list[Action]) -> str | None:
        if not self._typeahead:
            self._start_play(step.prompts, step.barge_in, out)
            return None
        keys = "".join(self._typeahead)
        self._typeahead.clear()
        return self._collect_keys(step, keys, now, out)

    def _collect_keys(
        self, step: CollectStep, keys: str, now: float, out: list[Action]
    ) -> str | None:
        """Add keys to the digits being collected; keys after the end of input stay for the next
        step (dial-ahead)."""
        for index, key in enumerate(keys):
            if key == step.terminator:
                done = True
            else:
                self._digits += key
                done = len(self._digits) >= step.max_digits
            if done:
                self._typeahead.extend(keys[index + 1 :])
                return self._collect_done(step, now, out)
        self._wait = _Wait.INPUT
        self._start_timer(step.inter_digit_timeout, now, out)
        return None

    def _collect_done(self, step: CollectStep, now: float, out: list[Action]) -> str | None:
        digits, self._digits = self._digits, ""
        shown = "*" * len(digits) if step.private else digits
        valid = len(digits) >= step.min_digits and (
            step.pattern is None or re.fullmatch(step.pattern, digits) is not None
        )
        if not valid:
            self._record(self._here(), now, "invalid", shown)
            return self._failure(step, step.invalid, now, out)
        self._attributes[step.attribute] = digits
        out.append(SetAttribute(step.attribute, digits))
        self._record(self._here(), now, "collected", shown)
        return step.next

    def _failure(
        self,
        step: MenuStep | CollectStep,
        feedback: tuple[PromptSpec, ...],
        now: float,
        out: list[Action],
    ) -> str | None:
        """A wrong key or silence: offer the step again with `feedback` first, or, out of
        retries, play `feedback` and go to the step's fallback. Dial-ahead keys are dropped: after
        a mistake they are unlikely to mean what the caller thought."""
        self._typeahead.clear()
        self._digits = ""
        self._failures += 1
        if self._failures <= step.retries:
            self._start_play((*feedback, *step.prompts), step.barge_in, out)
            return None
        self._record(self._here(), now, "fallback")
        if not feedback:
            return step.fallback
        self._start_play(feedback, False, out)
        self._wait = _Wait.CLOSING
        self._after_closing = step.fallback
        return None

    # ---- plays, timers, the end ----

    def _start_play(
        self, prompts: tuple[PromptSpec, ...], barge_in: bool, out: list[Action]
    ) -> None:
        self._play = self._new_id()
        self._wait = _Wait.PROMPT
        out.append(Play(self._play, self._resolve(prompts), barge_in))

    def _stop_play(self, out: list[Action]) -> None:
        if self._play is not None:
            out.append(StopPlay(self._play))
            self._play = None

    def _start_timer(self, seconds: float, now: float, out: list[Action]) -> None:
        self._cancel_timer(out)
        self._timer = self._new_id()
        self._wait = _Wait.INPUT
        out.append(StartTimer(self._timer, now + seconds))

    def _cancel_timer(self, out: list[Action]) -> None:
        if self._timer is not None:
            out.append(CancelTimer(self._timer))
            self._timer = None

    def _quiet(self, out: list[Action]) -> None:
        self._stop_play(out)
        self._cancel_timer(out)

    def _finish(self, action: TerminalAction, out: list[Action]) -> None:
        self._quiet(out)
        out.append(action)
        self._end(action)

    def _end(self, outcome: TerminalAction | None) -> None:
        self._outcome = outcome
        self._ended = True
        self._wait = _Wait.NOTHING

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _resolve(self, prompts: tuple[PromptSpec, ...]) -> tuple[PromptRef, ...]:
        return tuple(self.flow.resolve(prompt) for prompt in prompts)

    def _current(self) -> AnyStep:
        return self.flow.steps[self._here()]

    def _here(self) -> str:
        assert self._step_id is not None
        return self._step_id

    def _record(self, step: str, now: float, outcome: str, key: str | None = None) -> None:
        self._path.append(PathEntry(step, now, outcome, key))


__all__ = [
    "Action",
    "CallerHangup",
    "CancelTimer",
    "Digit",
    "Enqueue",
    "Hangup",
    "IvrEvent",
    "IvrSession",
    "OfferCallback",
    "PathEntry",
    "Play",
    "PromptFinished",
    "SetAttribute",
    "StartTimer",
    "StopPlay",
    "TerminalAction",
    "Timeout",
    "Transfer",
]
