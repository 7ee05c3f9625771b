"""Migration 0003 on both databases: contacts and their logs survive it, the call layer's outcomes
and the consultation direction are accepted afterwards, anything else is still refused, and a
downgrade maps the new values back to old ones."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hotline.db import migrate
from hotline.db.engine import create_engine

CONTACT = (
    "INSERT INTO contacts (id, correlation_id, direction, channel, state, outcome, attributes, "
    "arrived_at, last_seq) VALUES (:id, :id, :direction, 'voice', 'ended', :outcome, '{}', "
    "'2026-01-01 10:00:00+00:00', 1)"
)
EVENT = (
    "INSERT INTO contact_events (id, contact_id, seq, type, at, payload) VALUES "
    "(:id, :contact, 1, 'contact.arrived', '2026-01-01 10:00:00+00:00', '{}')"
)


async def test_contacts_keep_their_logs_and_take_the_call_layers_outcomes(
    empty_database_url: str,
) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate.upgrade(engine, "0002")
        async with engine.begin() as connection:
            await connection.execute(
                text(CONTACT), {"id": "c1", "direction": "inbound", "outcome": "handled"}
            )
            await connection.execute(text(EVENT), {"id": "e1", "contact": "c1"})
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            logged = await connection.execute(text("SELECT contact_id FROM contact_events"))
            assert logged.scalars().all() == ["c1"]
            await connection.execute(
                text(CONTACT), {"id": "c2", "direction": "consult", "outcome": "ivr_abandoned"}
            )
            await connection.execute(
                text("UPDATE queues SET record = true WHERE id = 'none'")  # the column exists
            )
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(
                    text(CONTACT), {"id": "c3", "direction": "inbound", "outcome": "lost"}
                )
        await migrate.downgrade(engine, "0002")
        async with engine.begin() as connection:
            rows = await connection.execute(
                text("SELECT id, direction, outcome FROM contacts ORDER BY id")
            )
            assert [tuple(r) for r in rows] == [
                ("c1", "inbound", "handled"),
                ("c2", "outbound", "abandoned"),
            ]
            assert (await connection.execute(text("SELECT count(*) FROM contact_events"))).scalar()
    finally:
        await engine.dispose()
