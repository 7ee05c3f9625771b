"""Status messages to callers: written to the outbox in the transaction of the change they report
(`queue_status_messages`), delivered afterwards by the configured adapter (`NotificationSender`),
and listed for supervisors (`outbox_page`, audited: the rows hold callers' numbers).

Delivery is at least once: a message is claimed (`sending`, committed) before its adapter is
called, and the outcome written after; a claim older than `stale_seconds` (the process died
meanwhile) is taken up again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.audit import service as audit
from hotline.audit.service import Actor
from hotline.contacts.models import Contact
from hotline.core.clock import Clock
from hotline.core.events import Event
from hotline.core.periodic import Periodic
from hotline.notifications.adapters import Delivery, Notifier, Sms
from hotline.notifications.models import OutboxMessage
from hotline.notifications.schemas import OutboxEntry, OutboxPage
from hotline.notifications.templates import StatusMessages, reference, render
from hotline.requests.events import RequestStateChanged
from hotline.requests.keys import masked_phone
from hotline.requests.models import Request, RequestCategory
from hotline.requests.scope import newest_first

log = logging.getLogger(__name__)


async def queue_status_messages(
    *,
    session: AsyncSession,
    events: Iterable[Event],
    messages: StatusMessages,
    now: datetime,
) -> list[OutboxMessage]:
    """Outbox rows for the steps among `events` that callers hear about (accepted, done, failed),
    in the caller's transaction. Requests without a caller's number get none."""
    queued: list[OutboxMessage] = []
    for event in events:
        if not isinstance(event, RequestStateChanged):
            continue
        request = await session.get(Request, event.request_id)
        if request is None or not request.caller_number:
            continue
        language = await _language(session, request)
        template = messages.template(request.category_id, event.to_state, language)
        if template is None:
            continue
        language = language or messages.default_language
        category = await session.get(RequestCategory, request.category_id)
        name = request.category_id
        if category is not None:
            name = category.name_en if language == "en" else category.name_ru
        row = OutboxMessage(
            request_id=request.id,
            topic=event.to_state,
            channel="sms",
            to_number=request.caller_number,
            language=language,
            text=render(template, ref=reference(request.id), category=name),
            status="pending",
            attempts=0,
            created_at=now,
        )
        session.add(row)
        queued.append(row)
    if queued:
        await session.flush()
    return queued


async def _language(session: AsyncSession, request: Request) -> str | None:
    """The language the caller spoke on the call the request came from, if the IVR noted it."""
    if request.contact_id is None:
        return None
    contact = await session.get(Contact, request.contact_id)
    spoken = (contact.attributes or {}).get("language") if contact is not None else None
    return spoken if spoken in ("ru", "en") else None


# ---------------------------------------------------------------------------- delivery


async def claim(
    *, session: AsyncSession, now: datetime, limit: int = 50, stale_seconds: float = 300.0
) -> list[Sms]:
    """Take up to `limit` messages to deliver, oldest first, marking them `sending` (the caller
    commits before sending, so two senders never take one message)."""
    stale = now - timedelta(seconds=stale_seconds)
    rows = (
        await session.scalars(
            select(OutboxMessage)
            .where(
                or_(
                    OutboxMessage.status == "pending",
                    and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < stale),
                )
            )
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in rows:
        row.status = "sending"
        row.claimed_at = now
    await session.flush()
    return [Sms(row.id, row.to_number, row.text) for row in rows]


async def settle(
    *, session: AsyncSession, message_id: str, delivery: Delivery, adapter: str, now: datetime
) -> None:
    """Write what became of a claimed message."""
    row = await session.get(OutboxMessage, message_id)
    if row is None:  # its request was deleted meanwhile
        return
    row.status = delivery.status
    row.adapter = adapter
    row.attempts += delivery.attempts
    row.error = delivery.error
    if delivery.status in ("sent", "kept"):
        row.sent_at = now


async def outbox_page(
    *,
    session: AsyncSession,
    actor: Actor,
    ip: str | None,
    request_id: str | None = None,
    status: str | None = None,
    before: str | None = None,
    limit: int = 100,
) -> OutboxPage:
    """Messages newest first (keyset pages by `before`, an earlier page's `next_before`). The
    number is shown masked; the read is audited all the same."""
    query = select(OutboxMessage)
    if request_id is not None:
        query = query.where(OutboxMessage.request_id == request_id)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    rows, next_before = await newest_first(
        session, query, OutboxMessage, before=before, limit=limit
    )
    await audit.record(
        session=session,
        actor=actor,
        action="outbox.read",
        object_type="outbox",
        object_id=request_id,
        ip=ip,
        details={"messages": len(rows)},
    )
    return OutboxPage(
        messages=[
            OutboxEntry(
                id=row.id,
                request_id=row.request_id,
                topic=row.topic,
                channel=row.channel,
                to=masked_phone(row.to_number),
                language=row.language,
                text=row.text,
                status=row.status,
                adapter=row.adapter,
                attempts=row.attempts,
                error=row.error,
                created_at=row.created_at,
                sent_at=row.sent_at,
            )
            for row in rows
        ],
        next_before=next_before,
    )


class NotificationSender:
    """Delivers the outbox: woken by `poke()` when a route has committed messages, and every
    `interval` seconds anyway (messages of another process, or left by one that stopped). One
    message at a time: an SMS gateway is not the place to be fast."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        clock: Clock,
        interval: float = 30.0,
        batch: int = 50,
    ) -> None:
        self.notifier = notifier
        self._sessions = sessions
        self._clock = clock
        self._batch = batch
        self._periodic = Periodic("notifications", self._pass, interval)

    async def start(self) -> None:
        self._periodic.start()

    async def close(self, grace: float = 5.0) -> None:
        """Stop after the message being sent now (its outcome is written; cut off after `grace`
        seconds), then close the adapter. Messages not sent yet wait in the outbox for the next
        start."""
        await self._periodic.close(grace)
        await self.notifier.close()

    def poke(self) -> None:
        """Messages were committed: deliver them now rather than at the next interval."""
        self._periodic.poke()

    async def drain(self) -> int:
        """Deliver everything waiting now; the number of messages handled."""
        total = 0
        while not self._periodic.stopping:
            sent = await self._deliver()
            total += sent
            if sent < self._batch:
                break
        return total

    async def _pass(self) -> bool:
        return await self._deliver() >= self._batch

    async def _deliver(self) -> int:
        """Claim a batch, send it one message at a time, write each outcome."""
        async with self._sessions() as session:
            messages = await claim(session=session, now=self._now(), limit=self._batch)
            await session.commit()
        for index, message in enumerate(messages):
            if self._periodic.stopping:
                await self._unclaim([m.id for m in messages[index:]])
                break
            delivery = await self._send(message)
            async with self._sessions() as session:
                await settle(
                    session=session,
                    message_id=message.id,
                    delivery=delivery,
                    adapter=self.notifier.name,
                    now=self._now(),
                )
                await session.commit()
        return len(messages)

    async def _unclaim(self, ids: list[str]) -> None:
        """Give back messages claimed but not sent (stopping): pending again for the next start."""
        async with self._sessions() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
                .values(status="pending", claimed_at=None)
            )
            await session.commit()

    async def _send(self, message: Sms) -> Delivery:
        try:
            return await self.notifier.send(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an adapter's own bug must not stop the outbox
            log.exception("notifications: %s failed on message %s", self.notifier.name, message.id)
            return Delivery("failed", error=type(exc).__name__)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)
