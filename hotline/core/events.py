"""Event types and the in-process event bus.

Every step of a contact is an event: typed (one pydantic class per kind, defined in the `events.py`
of the domain that emits it), carrying the correlation id that ties together every event of one
contact. Events are published only after the change they report is committed; the bus delivers them
to subscribers in this process (a Redis adapter with the same protocol serves several nodes)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

from hotline.core.ids import new_id

log = logging.getLogger(__name__)


class Event(BaseModel):
    """Base of every event. `type` is the stable name stored in the log and sent to browsers."""

    model_config = ConfigDict(frozen=True)

    type: ClassVar[str] = "event"

    id: str = Field(default_factory=new_id)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None

    def payload(self) -> dict[str, Any]:
        """The event's own fields, for storage: everything but the envelope."""
        return self.model_dump(mode="json", exclude={"id", "at", "correlation_id"})


_registry: dict[str, type[Event]] = {}


def register(cls: type[Event]) -> type[Event]:
    """Class decorator: make an event type known by its `type` name, for reading the log back."""
    if cls.type in _registry and _registry[cls.type] is not cls:
        raise ValueError(f"event type {cls.type!r} registered twice")
    _registry[cls.type] = cls
    return cls


def event_class(type_name: str) -> type[Event]:
    return _registry[type_name]


Handler = Callable[[Event], Awaitable[None] | None]
Unsubscribe = Callable[[], None]


class EventBus(Protocol):
    def subscribe(self, handler: Handler, *, types: set[str] | None = None) -> Unsubscribe: ...

    async def publish(self, event: Event) -> None: ...


class InProcessBus:
    """Delivers events to this process's subscribers, in order. A failing subscriber is logged and
    does not stop delivery to the others."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[Handler, set[str] | None]] = []

    def subscribe(self, handler: Handler, *, types: set[str] | None = None) -> Unsubscribe:
        entry = (handler, types)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    async def publish(self, event: Event) -> None:
        for handler, types in list(self._subscribers):
            if types is not None and event.type not in types:
                continue
            try:
                result = handler(event)
                if result is not None:
                    await result
            except Exception:
                log.exception("event subscriber failed on %s", event.type)
