"""The IVR interpreter, behaviour by behaviour: events in, actions out, no I/O."""

from __future__ import annotations

import json

import pytest

from hotline.core.errors import InvalidConfiguration
from hotline.ivr.interpreter import (
    CancelTimer,
    Digit,
    Enqueue,
    Hangup,
    IvrSession,
    OfferCallback,
    PathEntry,
    Play,
    PromptFinished,
    SetAttribute,
    StartTimer,
    StopPlay,
    Timeout,
    Transfer,
)
from hotline.ivr.schemas import Announcement, AudioFile, PromptName, Say
from tests.ivr.driver import Call, Hours, flow_from

MENU = """\
name: Menu
language: ru
start: menu
prompts:
  choose: {say: "Выберите пункт"}
  wrong: {say: "Нет такого пункта"}
  silent: {say: "Мы вас не услышали"}
steps:
  menu:
    type: menu
    prompts: choose
    options: {"1": medical, "2": psychology, "*": operator}
    timeout: 5
    retries: 2
    invalid: wrong
    no_input: silent
    fallback: operator
  medical: {type: enqueue, queue: medical, attributes: {topic: medical}}
  psychology: {type: enqueue, queue: psychology, priority: 3}
  operator: {type: enqueue, queue: general}
"""

CHOOSE = Say("Выберите пункт", "ru")
WRONG = Say("Нет такого пункта", "ru")
SILENT = Say("Мы вас не услышали", "ru")


def menu_flow(**changes: str) -> Call:
    text = MENU
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    return Call(flow_from(text))


# ---- menus ----


def test_a_menu_plays_its_prompt_with_barge_in_and_waits_for_the_prompt_to_end() -> None:
    call = menu_flow()
    assert call.start() == [Play(1, (CHOOSE,), barge_in=True)]
    assert call.finish_prompt() == [StartTimer(2, 1005.0)]
    assert not call.session.finished


def test_a_key_after_the_prompt_takes_its_option_and_ends_in_the_queue() -> None:
    call = menu_flow()
    call.start()
    call.finish_prompt()
    actions = call.press("1")
    assert actions == [
        CancelTimer(2),
        Enqueue("medical", 0, {"topic": "medical"}),
    ]
    assert call.session.finished
    assert call.session.outcome == Enqueue("medical", 0, {"topic": "medical"})


def test_a_key_during_the_prompt_stops_it_and_is_taken_as_the_choice() -> None:
    call = menu_flow()
    call.start()
    assert call.press("2") == [StopPlay(1), Enqueue("psychology", 3, {})]


def test_keys_during_a_prompt_without_barge_in_are_ignored() -> None:
    call = menu_flow(
        **{"    fallback: operator\n": "    fallback: operator\n    barge_in: false\n"}
    )
    call.start()
    assert call.press("1") == []
    call.finish_prompt()
    assert call.press("2")[-1] == Enqueue("psychology", 3, {})


def test_an_invalid_key_plays_the_invalid_prompt_then_the_menu_again() -> None:
    call = menu_flow()
    call.start()
    call.finish_prompt()
    assert call.press("9") == [CancelTimer(2), Play(3, (WRONG, CHOOSE), barge_in=True)]
    call.finish_prompt()
    assert call.press("1")[-1].queue == "medical"  # type: ignore[union-attr]


def test_silence_plays_the_no_input_prompt_then_the_menu_again() -> None:
    call = menu_flow()
    call.start()
    call.finish_prompt()
    assert call.wait() == [Play(3, (SILENT, CHOOSE), barge_in=True)]
    assert call.now == 1005.0
    assert call.finish_prompt() == [StartTimer(4, 1010.0)]


def test_after_the_retries_the_last_invalid_prompt_plays_and_the_call_takes_the_fallback() -> None:
    call = menu_flow()
    call.start()
    call.press("9")  # first try
    call.press("8")  # retry 1
    assert call.press("7") == [StopPlay(3), Play(4, (WRONG,), barge_in=False)]  # retry 2 used up
    assert call.press("1") == []  # the closing prompt cannot be interrupted
    assert call.finish_prompt() == [Enqueue("general", 0, {})]
    outcomes = [(e.outcome, e.input) for e in call.session.path]
    assert outcomes == [
        ("invalid", "9"),
        ("invalid", "8"),
        ("invalid", "7"),
        ("fallback", None),
        ("enqueued", None),
    ]


def test_silence_through_every_retry_ends_in_the_fallback() -> None:
    call = menu_flow(**{"    no_input: silent\n": ""})
    call.start()
    for _ in range(3):
        call.finish_prompt()
        last = call.wait()
    assert last == [Enqueue("general", 0, {})]
    assert [e.outcome for e in call.session.path] == [
        "no_input",
        "no_input",
        "no_input",
        "fallback",
        "enqueued",
    ]


def test_without_retries_the_first_mistake_goes_to_the_fallback() -> None:
    call = menu_flow(**{"retries: 2": "retries: 0", "    invalid: wrong\n": ""})
    call.start()
    assert call.press("5") == [StopPlay(1), Enqueue("general", 0, {})]


def test_a_star_key_is_an_option_like_any_other() -> None:
    call = menu_flow()
    call.start()
    assert call.press("*")[-1] == Enqueue("general", 0, {})


def test_late_prompt_ends_and_timeouts_are_ignored() -> None:
    call = menu_flow()
    call.start()
    call.finish_prompt()
    call.press("9")  # timer 2 cancelled, play 3 starts
    session = call.session
    assert session.on_event(PromptFinished(1), call.now) == []
    assert session.on_event(Timeout(2), call.now) == []
    assert session.on_event(Timeout(99), call.now) == []
    assert call.play is not None
    assert call.play.play_id == 3


def test_a_key_that_is_not_dtmf_is_refused() -> None:
    call = menu_flow()
    call.start()
    with pytest.raises(ValueError, match="DTMF"):
        call.session.on_event(Digit("x"), call.now)


# ---- collecting digits ----

COLLECT = """\
name: Collect
start: district
steps:
  district:
    type: collect
    prompts: {say: "Код района"}
    attribute: district
    max_digits: 3
    min_digits: 2
    terminator: "#"
    timeout: 6
    inter_digit_timeout: 2
    retries: 1
    invalid: {say: "Неверный код"}
    no_input: {say: "Введите код"}
    next: done
    fallback: without
  done: {type: enqueue, queue: medical}
  without: {type: enqueue, queue: medical, attributes: {district: unknown}}
"""


def collect_call(**changes: str) -> Call:
    text = COLLECT
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    return Call(flow_from(text))


def test_digits_end_at_the_terminator_and_set_the_attribute() -> None:
    call = collect_call()
    call.start()
    assert call.finish_prompt() == [StartTimer(2, 1006.0)]
    assert call.press("0") == [CancelTimer(2), StartTimer(3, 1002.0)]
    actions = call.press("7#")
    assert actions == [
        CancelTimer(3),
        StartTimer(4, 1002.0),
        CancelTimer(4),
        SetAttribute("district", "07"),
        Enqueue("medical", 0, {"district": "07"}),
    ]
    assert call.session.path[0] == PathEntry("district", 1000.0, "collected", "07")


def test_digits_end_at_max_digits_without_a_terminator() -> None:
    call = collect_call()
    call.start()
    actions = call.press("123")
    assert actions[0] == StopPlay(1)
    assert actions[-2:] == [
        SetAttribute("district", "123"),
        Enqueue("medical", 0, {"district": "123"}),
    ]


def test_a_pause_between_digits_ends_the_input() -> None:
    call = collect_call()
    call.start()
    call.finish_prompt()
    call.press("45")
    assert call.timer == StartTimer(4, 1002.0)
    actions = call.wait()
    assert actions == [SetAttribute("district", "45"), Enqueue("medical", 0, {"district": "45"})]


def test_too_few_digits_are_invalid_and_the_prompt_is_offered_again() -> None:
    call = collect_call()
    call.start()
    actions = call.press("4#")
    assert actions[-1] == Play(3, (Say("Неверный код", "ru"), Say("Код района", "ru")), True)
    assert call.session.attributes == {}
    call.press("44#")
    assert call.session.attributes == {"district": "44"}


def test_a_terminator_alone_is_invalid() -> None:
    call = collect_call()
    call.start()
    call.finish_prompt()
    call.press("#")
    assert call.session.path[-1] == PathEntry("district", 1000.0, "invalid", "")


def test_no_digits_until_the_first_digit_timeout_is_no_input_then_fallback() -> None:
    call = collect_call()
    call.start()
    call.finish_prompt()
    assert call.wait() == [Play(3, (Say("Введите код", "ru"), Say("Код района", "ru")), True)]
    call.finish_prompt()
    assert call.wait() == [Play(5, (Say("Введите код", "ru"),), False)]
    assert call.finish_prompt() == [Enqueue("medical", 0, {"district": "unknown"})]


def test_a_pattern_refuses_digits_that_do_not_match() -> None:
    call = collect_call(**{"    next: done\n": "    pattern: '0[1-9]'\n    next: done\n"})
    call.start()
    call.press("10#")
    assert call.session.path[-1].outcome == "invalid"
    call.press("09#")
    assert call.session.attributes == {"district": "09"}


def test_private_input_is_masked_in_the_path_but_kept_in_the_attribute() -> None:
    call = collect_call(**{"    next: done\n": "    private: true\n    next: done\n"})
    call.start()
    call.press("123")
    assert call.session.path[0] == PathEntry("district", 1000.0, "collected", "***")
    assert call.session.attributes == {"district": "123"}


# ---- dial-ahead ----

DIAL_AHEAD = """\
name: Dial ahead
start: greeting
steps:
  greeting: {type: play, prompts: {say: "Здравствуйте"}, barge_in: true, next: menu}
  menu:
    type: menu
    prompts: {say: "Меню"}
    options: {"1": district}
    fallback: bye
  district:
    type: collect
    prompts: {say: "Код"}
    attribute: district
    max_digits: 2
    next: queue
    fallback: bye
  queue: {type: enqueue, queue: medical}
  bye: {type: hangup}
"""


def test_keys_pressed_during_a_greeting_are_kept_for_the_menus_that_follow() -> None:
    call = Call(flow_from(DIAL_AHEAD))
    call.start()
    # The menu takes the key at once (its prompt never plays); the district prompt starts.
    assert call.press("1") == [StopPlay(1), Play(2, (Say("Код", "ru"),), True)]
    actions = call.press("3")
    actions += call.press("4")
    assert actions[-1] == Enqueue("medical", 0, {"district": "34"})
    assert [e.outcome for e in call.session.path] == [
        "interrupted",
        "chosen",
        "collected",
        "enqueued",
    ]


def test_a_greeting_without_barge_in_plays_to_its_end_and_drops_keys() -> None:
    call = Call(flow_from(DIAL_AHEAD.replace("barge_in: true", "barge_in: false")))
    call.start()
    assert call.press("1") == []
    assert call.finish_prompt() == [Play(2, (Say("Меню", "ru"),), True)]


# ---- attributes, conditions, business hours ----

BRANCHES = """\
name: Branches
start: mark
steps:
  mark: {type: set, attributes: {language: ru, vip: true}, next: route}
  route:
    type: branch
    rules:
      - {attribute: age, above: 64, next: elderly}
      - {attribute: district, one_of: ["01", "02"], next: centre}
      - {attribute: district, equals: "99", next: far}
      - {attribute: caller_number, present: false, next: anonymous}
      - {attribute: age, below: 18, next: young}
    default: general
  elderly: {type: enqueue, queue: medical, priority: 10}
  centre: {type: enqueue, queue: centre}
  far: {type: enqueue, queue: far}
  anonymous: {type: hangup}
  young: {type: enqueue, queue: young}
  general: {type: enqueue, queue: general}
"""


@pytest.mark.parametrize(
    ("attributes", "queue", "outcome"),
    [
        ({"age": 70, "caller_number": "1"}, "medical", "rules[0]"),
        ({"age": "70", "caller_number": "1"}, "medical", "rules[0]"),
        ({"district": "02", "caller_number": "1"}, "centre", "rules[1]"),
        ({"district": "99", "caller_number": "1"}, "far", "rules[2]"),
        ({"age": 12, "caller_number": "1"}, "young", "rules[4]"),
        ({"age": "unknown", "caller_number": "1"}, "general", "default"),
        ({"caller_number": "1"}, "general", "default"),
    ],
)
def test_a_branch_takes_the_first_rule_the_attributes_pass(
    attributes: dict[str, str | int], queue: str, outcome: str
) -> None:
    call = Call(flow_from(BRANCHES), attributes=attributes)
    actions = call.start()
    assert actions[:2] == [SetAttribute("language", "ru"), SetAttribute("vip", True)]
    assert isinstance(actions[-1], Enqueue)
    assert actions[-1].queue == queue
    assert actions[-1].attributes == {**attributes, "language": "ru", "vip": True}
    assert call.session.path[1].outcome == outcome


def test_a_rule_on_a_missing_attribute_can_test_for_its_absence() -> None:
    call = Call(flow_from(BRANCHES))
    assert call.start()[-1] == Hangup()


HOURS = """\
name: Hours
start: check
steps:
  check: {type: hours, calendar: city, open: queue, closed: closed}
  queue: {type: enqueue, queue: medical}
  closed: {type: hangup, message: {say: "Мы закрыты", lang: ru}}
"""


def test_business_hours_send_the_call_on_when_open() -> None:
    call = Call(flow_from(HOURS), calendars={"city": Hours(True)})
    assert call.start() == [Enqueue("medical", 0, {})]
    assert call.session.path[0] == PathEntry("check", 1000.0, "open")


def test_business_hours_send_the_call_to_the_closed_branch_when_closed() -> None:
    call = Call(flow_from(HOURS), calendars={"city": Hours(False)})
    assert call.start() == [Hangup((Say("Мы закрыты", "ru"),))]
    assert call.session.path[0].outcome == "closed"


def test_business_hours_are_asked_for_the_time_of_the_event() -> None:
    asked: list[float] = []

    class Recorder:
        def is_open(self, at: float) -> bool:
            asked.append(at)
            return True

    Call(flow_from(HOURS), calendars={"city": Recorder()}, now=1234.5).start()
    assert asked == [1234.5]


def test_a_session_without_a_calendar_its_flow_needs_is_refused_before_the_call() -> None:
    with pytest.raises(InvalidConfiguration, match="city"):
        IvrSession(flow_from(HOURS), calendars={})


# ---- how a call ends ----

ENDINGS = """\
name: Endings
language: en
start: menu
prompts:
  thanks: {say: "Thank you"}
steps:
  menu:
    type: menu
    prompts: {say: "Choose"}
    options:
      "1": queue
      "2": callback
      "3": department
      "4": external
      "5": to_queue
      "6": bye
      "7": silent_bye
    fallback: bye
  queue:
    type: enqueue
    queue: medical
    priority: 5
    attributes: {topic: medical}
    announce: [{say: "Your position is", lang: en}, {announce: position}, {file: music}]
    announce_every: 30
  callback:
    type: callback
    queue: medical
    priority: 2
    attributes: {topic: medical}
    message: thanks
  department: {type: transfer, kind: line, target: health_ministry}
  external: {type: transfer, kind: external, target: "+7 (495) 000-55-66"}
  to_queue: {type: transfer, kind: queue, target: psychology}
  bye: {type: hangup, message: [thanks, {say: "До свидания", lang: ru}]}
  silent_bye: {type: hangup}
"""


def ending(key: str, **attributes: str) -> object:
    call = Call(flow_from(ENDINGS), attributes=attributes)
    call.start()
    actions = call.press(key)
    assert call.session.finished
    assert actions[-1] == call.session.outcome
    return actions[-1]


def test_enqueue_carries_queue_priority_attributes_and_waiting_announcements() -> None:
    assert ending("1", caller_number="+74950001122") == Enqueue(
        "medical",
        5,
        {"caller_number": "+74950001122", "topic": "medical"},
        announce=(
            Say("Your position is", "en"),
            Announcement("position", "en"),
            AudioFile("music"),
        ),
        announce_every=30,
    )


def test_a_callback_takes_the_callers_number_from_the_attributes() -> None:
    assert ending("2", caller_number="+74950001122") == OfferCallback(
        "medical",
        2,
        {"caller_number": "+74950001122", "topic": "medical"},
        number="+74950001122",
        message=(Say("Thank you", "en"),),
    )


def test_a_callback_for_an_anonymous_caller_has_no_number() -> None:
    action = ending("2")
    assert isinstance(action, OfferCallback)
    assert action.number is None


@pytest.mark.parametrize(
    ("key", "kind", "target"),
    [
        ("3", "line", "health_ministry"),
        ("4", "external", "+74950005566"),
        ("5", "queue", "psychology"),
    ],
)
def test_a_transfer_goes_to_a_line_an_external_number_or_a_queue(
    key: str, kind: str, target: str
) -> None:
    assert ending(key, topic="x") == Transfer(kind, target, {"topic": "x"})  # type: ignore[arg-type]


def test_hang_up_plays_its_message() -> None:
    assert ending("6") == Hangup((Say("Thank you", "en"), Say("До свидания", "ru")))


def test_hang_up_without_a_message() -> None:
    assert ending("7") == Hangup(())


def test_a_caller_hanging_up_ends_the_session_and_stops_its_timer() -> None:
    call = menu_flow()
    call.start()
    call.finish_prompt()
    assert call.hang_up() == [CancelTimer(2)]
    assert call.session.finished
    assert call.session.outcome is None
    assert call.session.path[-1] == PathEntry("menu", 1000.0, "caller_hung_up")
    assert call.session.record()["ended_by"] == "caller"


def test_events_after_the_end_are_ignored() -> None:
    call = menu_flow()
    call.start()
    call.press("1")
    assert call.session.on_event(Digit("2"), call.now) == []
    assert call.session.on_event(Timeout(2), call.now) == []


def test_a_session_starts_once_and_not_before_events() -> None:
    session = IvrSession(flow_from(MENU))
    with pytest.raises(RuntimeError):
        session.on_event(Digit("1"), 0.0)
    session.start(0.0)
    with pytest.raises(RuntimeError):
        session.start(0.0)


# ---- loops and the step limit ----

LOOP = """\
name: Loop
start: menu
fallback: operator
max_steps: 5
steps:
  menu:
    type: menu
    prompts: {say: "Повторить: ноль"}
    options: {"0": again, "1": queue}
    fallback: operator
  again: {type: play, prompts: {say: "Ещё раз"}, next: menu}
  queue: {type: enqueue, queue: medical}
  operator: {type: enqueue, queue: general}
"""


def test_a_caller_going_round_a_menu_is_sent_to_the_flow_fallback_at_the_step_limit() -> None:
    call = Call(flow_from(LOOP))
    call.start()
    call.press("0")  # menu(1) -> again(2)
    call.silence()  # -> menu(3)
    call.press("0")  # -> again(4)
    call.silence()  # -> menu(5)
    assert call.press("0")[-1] == Enqueue("general", 0, {})  # again would be the 6th step
    assert [e.outcome for e in call.session.path][-2:] == ["step_limit", "enqueued"]


def test_without_a_flow_fallback_the_step_limit_hangs_up() -> None:
    call = Call(flow_from(LOOP.replace("fallback: operator\nmax", "max")))
    call.start()
    for _ in range(2):
        call.press("0")
        call.silence()
    assert call.press("0")[-1] == Hangup()


# ---- the record ----


def test_the_record_holds_the_path_attributes_and_outcome_as_json() -> None:
    call = Call(flow_from(DIAL_AHEAD), attributes={"caller_number": "+7"})
    call.start()
    call.finish_prompt()
    call.press("1")
    call.finish_prompt()
    call.press("12")
    record = call.session.record()
    assert json.loads(json.dumps(record)) == record
    assert record == {
        "flow": "Dial ahead",
        "path": [
            {"step": "greeting", "at": 1000.0, "outcome": "played", "input": None},
            {"step": "menu", "at": 1000.0, "outcome": "chosen", "input": "1"},
            {"step": "district", "at": 1000.0, "outcome": "collected", "input": "12"},
            {"step": "queue", "at": 1000.0, "outcome": "enqueued", "input": None},
        ],
        "attributes": {"caller_number": "+7", "district": "12"},
        "outcome": "enqueue",
        "ended_by": "flow",
    }


def test_named_prompts_reach_the_driver_resolved_in_the_flow_language() -> None:
    call = Call(flow_from(ENDINGS))
    call.start()
    call.press("6")
    assert call.actions[0] == Play(1, (Say("Choose", "en"),), True)


def test_keys_pressed_ahead_into_a_collect_step_skip_its_prompt() -> None:
    text = """\
    name: Ahead
    start: greeting
    steps:
      greeting: {type: play, prompts: {say: "Здравствуйте"}, barge_in: true, next: code}
      code:
        type: collect
        prompts: {say: "Код"}
        attribute: code
        max_digits: 2
        next: queue
        fallback: queue
      queue: {type: enqueue, queue: medical}
    """
    call = Call(flow_from(text))
    call.start()
    assert call.press("4") == [StopPlay(1), StartTimer(2, 1003.0)]
    assert call.press("2")[-1] == Enqueue("medical", 0, {"code": "42"})


def test_a_flow_with_a_missing_step_or_prompt_is_refused_before_the_call() -> None:
    flow = flow_from(MENU)
    broken = flow.model_copy(
        update={
            "steps": {
                **flow.steps,
                "menu": flow.steps["menu"].model_copy(
                    update={"fallback": "nowhere", "invalid": (PromptName("gone"),)}
                ),
            }
        }
    )
    with pytest.raises(InvalidConfiguration) as caught:
        IvrSession(broken)
    assert caught.value.details["problems"] == [
        "steps.menu.invalid: unknown prompt 'gone'",
        "steps.menu: unknown step 'nowhere'",
    ]
