"""The in-process event bus and time-ordered ids."""

from __future__ import annotations

from typing import ClassVar

from hotline.core.events import Event, InProcessBus
from hotline.core.ids import new_id


class Rang(Event):
    type: ClassVar[str] = "test.rang"
    agent_id: str


class Hung(Event):
    type: ClassVar[str] = "test.hung"


async def test_subscribers_get_events_in_order_and_can_unsubscribe() -> None:
    bus = InProcessBus()
    seen: list[str] = []
    unsubscribe = bus.subscribe(lambda e: seen.append(e.type))
    await bus.publish(Rang(agent_id="a1"))
    await bus.publish(Hung())
    unsubscribe()
    await bus.publish(Hung())
    assert seen == ["test.rang", "test.hung"]


async def test_type_filter_and_async_handlers() -> None:
    bus = InProcessBus()
    seen: list[Event] = []

    async def handler(event: Event) -> None:
        seen.append(event)

    bus.subscribe(handler, types={"test.hung"})
    await bus.publish(Rang(agent_id="a1"))
    await bus.publish(Hung(correlation_id="contact-1"))
    assert [(e.type, e.correlation_id) for e in seen] == [("test.hung", "contact-1")]


async def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    bus = InProcessBus()
    seen: list[str] = []

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(lambda e: seen.append(e.type))
    await bus.publish(Hung())
    assert seen == ["test.hung"]


def test_event_payload_leaves_out_the_envelope() -> None:
    assert Rang(agent_id="a7").payload() == {"agent_id": "a7"}


def test_ids_are_unique_and_sort_by_creation() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 for i in ids)
    # the first 12 hex digits are the millisecond timestamp: never decreasing
    stamps = [i[:12] for i in ids]
    assert stamps == sorted(stamps)
