"""`hotline contacts`: the newest contacts with what happened to them (line, IVR path, queue,
agent, outcome, waits, recording, leg quality, the event log), for operators and scripts.

Caller numbers are masked unless `--show-numbers` is given: a listing pasted into a ticket or a
chat must not carry them by accident."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click


@click.command("contacts")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON document (for scripts).")
@click.option("--show-numbers", is_flag=True, help="Show callers' numbers in full.")
@click.pass_context
def contacts_command(ctx: click.Context, limit: int, as_json: bool, show_numbers: bool) -> None:
    """List the newest contacts, newest first."""
    from hotline.db.cli import command_settings, run_async

    settings = command_settings(ctx)

    async def load() -> list[dict[str, Any]]:
        from hotline.app import build_app
        from hotline.contacts.service import recent_contacts
        from hotline.users.models import User

        app = build_app(settings)
        try:
            async with app.sessions() as session:
                records = await recent_contacts(session=session, limit=limit)
                agent_ids = {r.contact.agent_id for r in records if r.contact.agent_id}
                names = {}
                for agent_id in agent_ids:
                    user = await session.get(User, agent_id)
                    if user is not None:
                        names[agent_id] = user.username
            return [summarize(r, names, show_numbers=show_numbers) for r in records]
        finally:
            await app.close()

    summaries = run_async(load())
    if as_json:
        click.echo(json.dumps({"contacts": summaries}, ensure_ascii=False, indent=2))
        return
    if not summaries:
        click.echo("No contacts yet.")
        return
    for item in summaries:
        click.echo(_line(item))
        if item["ivr_path"]:
            steps = " > ".join(
                f"{p['step']}:{p['outcome']}" + (f"[{p['input']}]" if p.get("input") else "")
                for p in item["ivr_path"]
            )
            click.echo(f"    IVR: {steps}")
        if item["recording"]:
            click.echo(f"    recording: {item['recording']['path']}")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def summarize(record: Any, agents: dict[str, str], *, show_numbers: bool) -> dict[str, Any]:
    """One contact as plain data: its row, the figures read from its log, and the log."""
    from hotline.telephony.sip.endpoint import mask_user

    contact = record.contact
    events = record.events
    payload = {e.type: e.payload for e in events}  # the last of each type
    waits = [
        e.payload.get("waited")
        for e in events
        if e.type in ("contact.answered", "contact.ended") and e.payload.get("waited") is not None
    ]
    talk = None
    if contact.answered_at is not None and contact.ended_at is not None:
        talk = round((contact.ended_at - contact.answered_at).total_seconds(), 1)
    ivr = payload.get("ivr.completed")
    number = contact.caller_number
    return {
        "id": contact.id,
        "arrived_at": _iso(contact.arrived_at),
        "answered_at": _iso(contact.answered_at),
        "ended_at": _iso(contact.ended_at),
        "direction": contact.direction,
        "caller": number if show_numbers or number is None else mask_user(number),
        "line": contact.line_id,
        "queue": contact.queue_id,
        "agent": agents.get(contact.agent_id or "", contact.agent_id),
        "state": contact.state,
        "outcome": contact.outcome,
        "wait_seconds": round(float(waits[0]), 1) if waits else None,
        "talk_seconds": talk,
        "ivr_path": ivr["path"] if ivr else [],
        "ivr_outcome": ivr["outcome"] if ivr else None,
        "attributes": contact.attributes or {},
        "recording": payload.get("call.recording"),
        "quality": [e.payload for e in events if e.type == "call.quality"],
        "ended_by": payload.get("call.ended"),
        "events": [{"seq": e.seq, "type": e.type, "at": _iso(e.at), **e.payload} for e in events],
    }


def _line(item: dict[str, Any]) -> str:
    wait = f"{item['wait_seconds']:.0f}s" if item["wait_seconds"] is not None else "-"
    talk = f"{item['talk_seconds']:.0f}s" if item["talk_seconds"] is not None else "-"
    return (
        f"{item['arrived_at'][:19]}  {item['id'][:12]}  {item['direction']:<8} "
        f"{item['caller'] or '-':<14} line={item['line'] or '-'} queue={item['queue'] or '-'} "
        f"agent={item['agent'] or '-'} {item['state']}/{item['outcome'] or '-'} "
        f"wait={wait} talk={talk}"
    )
