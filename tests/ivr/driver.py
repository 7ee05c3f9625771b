"""A test driver for `IvrSession`: keeps the one running playback and timer the way the live call
path will, and lets a test play the caller (press keys, stay silent, hang up)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from hotline.ivr.interpreter import (
    Action,
    CallerHangup,
    CancelTimer,
    Digit,
    IvrSession,
    Play,
    PromptFinished,
    StartTimer,
    StopPlay,
    Timeout,
)
from hotline.ivr.loader import parse_flow
from hotline.ivr.schemas import AttributeValue, Flow
from hotline.routing.types import OpenHours


def flow_from(text: str) -> Flow:
    """A flow from YAML text (dedented), through the loader's checks."""
    return parse_flow(textwrap.dedent(text), filename="test.yaml").flow


class Hours:
    """A calendar that is open or not, as the test says."""

    def __init__(self, is_open: bool) -> None:
        self.open = is_open

    def is_open(self, at: float) -> bool:
        return self.open


class Call:
    """One caller on one session. `now` advances only when a timer fires or a test moves it."""

    def __init__(
        self,
        flow: Flow,
        *,
        attributes: Mapping[str, AttributeValue] | None = None,
        calendars: Mapping[str, OpenHours] | None = None,
        now: float = 1_000.0,
    ) -> None:
        self.session = IvrSession(flow, attributes=attributes, calendars=calendars)
        self.now = now
        self.actions: list[Action] = []
        self.play: Play | None = None
        self.timer: StartTimer | None = None

    def start(self) -> list[Action]:
        return self._take(self.session.start(self.now))

    def finish_prompt(self) -> list[Action]:
        """The running playback reaches its end."""
        assert self.play is not None, "nothing is playing"
        play, self.play = self.play, None
        return self._take(self.session.on_event(PromptFinished(play.play_id), self.now))

    def press(self, keys: str) -> list[Action]:
        out: list[Action] = []
        for key in keys:
            out += self._take(self.session.on_event(Digit(key), self.now))
        return out

    def wait(self) -> list[Action]:
        """Silence until the running timer fires."""
        assert self.timer is not None, "no timer runs"
        timer, self.timer = self.timer, None
        self.now = max(self.now, timer.at)
        return self._take(self.session.on_event(Timeout(timer.timer_id), self.now))

    def hang_up(self) -> list[Action]:
        return self._take(self.session.on_event(CallerHangup(), self.now))

    def silence(self) -> list[Action]:
        """Let whatever runs run out: the prompt ends, or else the timer fires."""
        return self.finish_prompt() if self.play is not None else self.wait()

    def _take(self, actions: list[Action]) -> list[Action]:
        for action in actions:
            if isinstance(action, Play):
                assert self.play is None, "a second playback started while one runs"
                self.play = action
            elif isinstance(action, StopPlay):
                assert self.play is not None
                assert self.play.play_id == action.play_id
                self.play = None
            elif isinstance(action, StartTimer):
                assert self.timer is None, "a second timer started while one runs"
                self.timer = action
            elif isinstance(action, CancelTimer):
                assert self.timer is not None
                assert self.timer.timer_id == action.timer_id
                self.timer = None
        self.actions += actions
        return actions
