"""Whatever a caller does, the COVID flow ends: random keys, silences and hang-ups, at random
times, inside and outside business hours, always end the session within a bounded number of
events, in exactly one terminal action (or the caller's hang-up), with a consistent path."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from hotline.ivr.interpreter import (
    Enqueue,
    Hangup,
    OfferCallback,
    Play,
    SetAttribute,
    Transfer,
)
from hotline.ivr.loader import load_flow, template_path
from hotline.ivr.schemas import DTMF_DIGITS, Flow
from tests.ivr.driver import Call, Hours

COVID: Flow = load_flow(template_path("covid")).flow

TERMINAL = (Enqueue, OfferCallback, Transfer, Hangup)

# Once the caller stops pressing keys, the flow must end within this many events: the longest
# silent way through is a menu or collect step with its retries (a prompt end and a timeout per
# try, then a closing prompt) followed by a few plays. Keys, however many, cannot keep a call in
# the IVR for ever either: going round the main menu on purpose is cut off by max_steps.
SILENT_TAIL = 20

# A caller's move: a key, a silence (the prompt ends or the timer fires), or hanging up.
moves = st.lists(
    st.one_of(
        st.sampled_from(list(DTMF_DIGITS)).map(lambda key: ("key", key)),
        st.just(("silence", "")),
        st.just(("hangup", "")),
    ),
    max_size=150,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    moves=moves,
    city_open=st.booleans(),
    ministry_open=st.booleans(),
    typed_number=st.booleans(),
    start=st.floats(min_value=0, max_value=2e9),
)
def test_every_caller_reaches_an_end_within_a_bounded_number_of_events(
    moves: list[tuple[str, str]],
    city_open: bool,
    ministry_open: bool,
    typed_number: bool,
    start: float,
) -> None:
    calendars = {"city": Hours(city_open), "ministry": Hours(ministry_open), "always": Hours(True)}
    attributes = {"caller_number": "+74950001122"} if typed_number else {}
    call = Call(COVID, attributes=attributes, calendars=calendars, now=start)
    call.start()
    hung_up = False
    for kind, key in moves:
        if call.session.finished:
            break
        if kind == "key":
            call.press(key)
        elif kind == "silence":
            call.silence()
        else:
            call.hang_up()
            hung_up = True
    # Then the caller only listens: the flow must finish on its own.
    tail = 0
    while not call.session.finished:
        assert tail < SILENT_TAIL, f"not finished: {call.session.path[-5:]}"
        call.silence()
        tail += 1

    terminal = [a for a in call.actions if isinstance(a, TERMINAL)]
    if hung_up and call.session.outcome is None:
        assert terminal == []
        assert call.session.path[-1].outcome == "caller_hung_up"
    else:
        assert terminal == [call.session.outcome]
        assert call.actions[-1] is call.session.outcome
        assert call.session.path[-1].step in COVID.steps
    # Nothing is left running for the driver.
    assert call.play is None
    assert call.timer is None
    # Every attribute the session reports was announced to the driver as it was set.
    announced = {a.name: a.value for a in call.actions if isinstance(a, SetAttribute)}
    assert {**attributes, **announced} == dict(call.session.attributes)
    # Every prompt that reached the driver is concrete and in a language with a voice.
    for action in call.actions:
        if isinstance(action, Play):
            assert action.prompts
            assert all(getattr(p, "lang", "ru") in ("ru", "en") for p in action.prompts)


def test_a_silent_caller_in_business_hours_reaches_the_medical_queue() -> None:
    calendars = {"city": Hours(True), "ministry": Hours(True), "always": Hours(True)}
    call = Call(COVID, calendars=calendars)
    call.start()
    while not call.session.finished:
        call.silence()
    assert isinstance(call.session.outcome, Enqueue)
    assert call.session.outcome.queue == "medical"


def test_a_silent_caller_out_of_hours_hears_the_closed_message() -> None:
    calendars = {"city": Hours(False), "ministry": Hours(False), "always": Hours(True)}
    call = Call(COVID, calendars=calendars)
    call.start()
    while not call.session.finished:
        call.silence()
    assert isinstance(call.session.outcome, Hangup)
    assert call.session.outcome.message == (COVID.resolve(COVID.prompts["closed_city"]),)


def test_a_caller_repeating_the_main_menu_for_ever_is_sent_on_at_the_step_limit() -> None:
    calendars = {"city": Hours(True), "ministry": Hours(True), "always": Hours(True)}
    call = Call(COVID, calendars=calendars)
    call.start()
    presses = 0
    while not call.session.finished:
        call.press("0")
        presses += 1
    # hours, welcome, main menu (taking the first key at once), then one step per key: the key
    # that would enter step max_steps + 1 sends the call on.
    assert presses == COVID.max_steps - 2
    assert call.session.path[-2].outcome == "step_limit"
    assert isinstance(call.session.outcome, Enqueue)
    assert call.session.outcome.queue == "medical"
