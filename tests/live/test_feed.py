"""The live feed on a real router and database (both kinds): snapshot plus events equals a fresh
snapshot (Zulip's check) over random sequences of routing actions, resuming, role filtering, a
page that falls behind, and coalesced queue figures."""

from __future__ import annotations

import json
import random

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.live.events import (
    AGENT_STATE,
    CONTACT_ANSWERED,
    CONTACT_ENDED,
    CONTACT_OFFERED,
    OFFER_WITHDRAWN,
    QUEUE_FIGURES,
    SNAPSHOT,
    LiveEvent,
)
from hotline.live.service import Subscription
from hotline.live.wallboard import Snapshot, apply
from hotline.routing import types as rt
from hotline.routing.service import save_agent_skills
from tests.live.conftest import Live, configure, open_live, received

AGENTS = ("agent01", "agent02", "agent03")
QUEUES = ("medical", "english", "overflow")
BROWSER_EVENTS = (
    AGENT_STATE,
    QUEUE_FIGURES,
    CONTACT_OFFERED,
    CONTACT_ANSWERED,
    CONTACT_ENDED,
    OFFER_WITHDRAWN,
)
SKILL_SETS = (
    [rt.AgentSkill("medical", 7), rt.AgentSkill("ru", 10, 1)],
    [rt.AgentSkill("en", 4)],
    [rt.AgentSkill("medical", 2), rt.AgentSkill("ru", 3), rt.AgentSkill("en", 9)],
    [],
)


class RandomCalls:
    """Picks one action that the router's state allows, at random, and does it: agents log in
    and out, change state and skills; contacts arrive, ring, are answered, declined, abandoned,
    called back, transferred and hung up; time passes (offer timeouts, wrap-up, overflow)."""

    def __init__(self, live: Live, seed: int) -> None:
        self.live = live
        self.rng = random.Random(seed)

    def choices(self) -> list[tuple[str, str]]:
        engine = self.live.routing.engine
        known = {a.agent_id: a for a in engine.agents()}
        out: list[tuple[str, str]] = [("advance", ""), ("advance", "")]
        out += [("arrive", q) for q in QUEUES for _ in range(2)]
        for username in AGENTS:
            agent = known.get(self.live.users[username])
            out.append(("skills", username))
            if agent is None or agent.state is rt.AgentState.OFFLINE:
                out += [("login", username)] * 3
                continue
            out += [("logout", username), ("not_ready", username)]
            if agent.state in (rt.AgentState.NOT_READY, rt.AgentState.WRAP_UP):
                out.append(("ready", username))
        for contact in engine.contacts():
            c = contact.contact_id
            if contact.state is rt.ContactState.WAITING:
                out += [("abandon", c), ("callback", c)]
            elif contact.state is rt.ContactState.OFFERED:
                out += [("answer", c), ("answer", c), ("decline", c), ("abandon", c)]
            elif contact.is_callback:
                out += [("hangup", c), ("callback_failed", c)]
            else:
                out += [("hangup", c), ("hangup", c), ("transfer", c)]
        return out

    async def step(self) -> None:
        action, target = self.rng.choice(self.choices())
        live, routing, rng = self.live, self.live.routing, self.rng
        if action == "advance":
            live.clock.advance(rng.uniform(1, 40))
            await routing.tick()
        elif action == "arrive":
            await routing.arrive(await live.new_contact(), target, priority=rng.choice((0, 0, 1)))
        elif action == "login":
            await live.login(target, ready=rng.random() < 0.7)
        elif action == "logout":
            await routing.logout(live.users[target])
        elif action == "ready":
            await routing.set_ready(live.users[target])
        elif action == "not_ready":
            await routing.set_not_ready(live.users[target], rng.choice(("break", "lunch")))
        elif action == "skills":
            skills = rng.choice(SKILL_SETS)
            async with live.sessions() as session, session.begin():
                await save_agent_skills(session=session, user_id=live.users[target], skills=skills)
            await routing.set_skills(live.users[target], skills)
        elif action == "answer":
            await routing.answer(target)
        elif action == "decline":
            await routing.decline(target)
        elif action == "abandon":
            await routing.abandon(target)
        elif action == "callback":
            await routing.request_callback(target, number="+79990001122")
        elif action == "callback_failed":
            await routing.callback_failed(target, retry_in=rng.choice((None, 30.0)))
        elif action == "hangup":
            await routing.hangup(target)
        else:  # transfer
            await routing.transfer(target, rng.choice(QUEUES))


def replayed(events: list[LiveEvent]) -> Snapshot:
    """What a browser holds after these messages, read from their wire text as it would."""
    first, *rest = [json.loads(e.text) for e in events]
    assert first["type"] == SNAPSHOT
    state = Snapshot.from_dict(first["data"])
    for message in rest:
        state = apply(state, message)
    return state


def ids_increase(events: list[LiveEvent]) -> bool:
    ids = [e.id for e in events]
    return all(a < b for a, b in zip(ids, ids[1:], strict=False))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_snapshot_plus_the_events_after_it_equals_a_fresh_snapshot(
    live: Live, seed: int
) -> None:
    calls = RandomCalls(live, seed)
    boss = Page(await live.feed.connect(live.viewer("boss")))
    pages = [boss, Page(await live.feed.connect(live.viewer("agent02")), "agent02")]
    checked = 0
    windows: set[str] = set()  # what the last-30-minutes figures were seen doing
    for step in range(100):
        await calls.step()
        if step in (49, 79):  # past the wallboard's last 30 minutes, with no event but the time
            live.clock.advance(31 * 60)
        if step % 20 == 10:  # a page opened mid-stream, while events may still be on their way
            pages.append(Page(await live.feed.connect(live.viewer("boss"))))
        if step % 5 == 4:
            await live.feed.settle()
            now = live.clock.now()
            fresh = await live.fresh()
            for row in fresh.queues.values():
                if row.figures.answered_30min:
                    windows.add("answered")
                if row.figures.answered_today > row.figures.answered_30min:
                    windows.add("dropped")  # answers older than 30 minutes left the window
            for page in pages:
                page.read()
                if page.username is None:
                    assert page.state().at(now) == fresh.at(now), f"step {step}"
                    checked += 1
                else:
                    mine = live.feed.queues_of(live.users[page.username])
                    want = fresh.view(page.username, mine).at(now)
                    assert page.state().view(page.username, mine).at(now) == want, f"step {step}"

    assert checked > 50
    assert windows == {"answered", "dropped"}
    assert len((await live.fresh()).agents) == 3  # the sequence logged every agent in
    assert {e.type for e in boss.events} >= set(BROWSER_EVENTS)  # and did a bit of everything
    for page in pages:
        assert ids_increase(page.events)


class Page:
    """A browser page's view: the messages it got, and the wallboard it holds from them."""

    def __init__(self, subscription: Subscription, username: str | None = None) -> None:
        self.subscription = subscription
        self.username = username  # an agent's page; None: a supervisor's
        self.events: list[LiveEvent] = []

    def read(self) -> None:
        self.events += received(self.subscription)

    def state(self) -> Snapshot:
        return replayed(self.events)


async def test_resuming_replays_exactly_the_events_missed(live: Live) -> None:
    page = await live.feed.connect(live.viewer("boss"))
    calls = RandomCalls(live, seed=7)
    for _ in range(30):
        await calls.step()
    await live.feed.settle()
    seen = received(page)
    assert len(seen) > 10
    dropped_after = seen[len(seen) // 2]

    resumed = await live.feed.connect(live.viewer("boss"), last_event_id=dropped_after.id)
    await live.routing.arrive(await live.new_contact(), "overflow")
    await live.feed.settle()

    later = received(page)
    assert [e.message() for e in received(resumed)] == [
        e.message() for e in seen[len(seen) // 2 + 1 :] + later
    ]


async def test_resuming_from_the_last_event_replays_nothing(live: Live) -> None:
    await live.login("agent01")
    await live.feed.settle()
    resumed = await live.feed.connect(live.viewer("boss"), last_event_id=live.feed.last_id)
    assert received(resumed) == []


async def test_an_id_older_than_the_ring_gets_a_snapshot(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await configure(sessions)
    live = await open_live(sessions, ring_size=3)
    try:
        first = live.feed.last_id
        for username in AGENTS:
            await live.login(username)
        await live.feed.settle()
        assert live.feed.last_id - first > 3

        (message,) = received(await live.feed.connect(live.viewer("boss"), last_event_id=first))
        assert message.type == SNAPSHOT
        assert message.id == live.feed.last_id
        assert replayed([message]).at(0) == (await live.fresh()).at(0)
    finally:
        await live.close()


async def test_an_id_the_feed_never_sent_gets_a_snapshot(live: Live) -> None:
    """Ids of a process that ran before this one, or made up, are not replayed from."""
    await live.login("agent01")
    await live.feed.settle()
    for wrong in (live.feed.last_id + 1, 12):
        (message,) = received(await live.feed.connect(live.viewer("boss"), last_event_id=wrong))
        assert message.type == SNAPSHOT


async def test_an_agent_gets_their_own_offers_and_not_another_agents(live: Live) -> None:
    anna = await live.feed.connect(live.viewer("agent01"))
    pavel = await live.feed.connect(live.viewer("agent02"))
    olga = await live.feed.connect(live.viewer("agent03"))
    await live.login("agent01")
    await live.login("agent02")
    first, second = await live.new_contact(), await live.new_contact()
    await live.routing.arrive(first, "medical")  # best skill: Anna
    await live.routing.arrive(second, "medical")  # then Pavel
    await live.feed.settle()

    def offers(page: Subscription) -> list[tuple[str, str]]:
        return [
            (e.data["contact_id"], e.data["username"])
            for e in received(page)
            if e.type == CONTACT_OFFERED
        ]

    assert offers(anna) == [(first, "agent01")]
    assert offers(pavel) == [(second, "agent02")]
    assert offers(olga) == []


async def test_a_callback_is_offered_to_the_agent_as_a_callback(live: Live) -> None:
    anna = await live.feed.connect(live.viewer("agent01"))
    pavel = await live.feed.connect(live.viewer("agent02"))
    callback, plain = await live.new_contact(), await live.new_contact()
    await live.routing.arrive(callback, "medical")
    await live.routing.request_callback(callback, number="+79990003344")
    await live.login("agent01")  # takes the callback
    await live.routing.arrive(plain, "medical")
    await live.login("agent02")  # and Pavel the ordinary call
    await live.feed.settle()

    def offers(page: Subscription) -> list[tuple[str, object]]:
        return [
            (e.data["contact_id"], e.data.get("callback"))
            for e in received(page)
            if e.type == CONTACT_OFFERED
        ]

    assert offers(anna) == [(callback, True)]
    assert offers(pavel) == [(plain, False)]


async def test_an_agent_gets_their_own_state_and_their_queues_figures_only(live: Live) -> None:
    olga = await live.feed.connect(live.viewer("agent03"))
    await live.login("agent01")
    await live.login("agent03")
    await live.routing.arrive(await live.new_contact(), "medical")
    await live.routing.arrive(await live.new_contact(), "english")
    await live.feed.settle()

    snapshot, *events = received(olga)
    assert {q["queue_id"] for q in snapshot.data["queues"]} == {"english", "overflow"}
    assert snapshot.data["agents"] == []
    assert {e.data["username"] for e in events if e.type == AGENT_STATE} == {"agent03"}
    assert {e.data["queue"]["queue_id"] for e in events if e.type == QUEUE_FIGURES} <= {
        "english",
        "overflow",
    }
    assert [e.type for e in events if e.type == CONTACT_OFFERED] == ["contact.offered"]


async def test_a_new_skill_brings_its_queue_to_the_agents_page(live: Live) -> None:
    olga = await live.feed.connect(live.viewer("agent03"))
    skills = [rt.AgentSkill("en", 8), rt.AgentSkill("medical", 5), rt.AgentSkill("ru", 5)]
    async with live.sessions() as session, session.begin():
        await save_agent_skills(session=session, user_id=live.users["agent03"], skills=skills)
    await live.routing.set_skills(live.users["agent03"], skills)  # not logged in to the router
    await live.feed.settle()
    figures = [e.data["queue"]["queue_id"] for e in received(olga) if e.type == QUEUE_FIGURES]
    assert figures == ["medical"]


async def test_a_page_that_falls_behind_is_cut_off_and_the_feed_goes_on(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await configure(sessions)
    live = await open_live(sessions, client_buffer=5)
    try:
        boss = await live.feed.connect(live.viewer("boss"))  # never read
        olga = await live.feed.connect(live.viewer("agent03"))  # sees little
        snapshot_id = live.feed.last_id
        await live.login("agent01")
        for _ in range(3):
            await live.routing.arrive(await live.new_contact(), "medical")
        await live.login("agent03")
        await live.feed.settle()

        assert boss.drain() == [None]
        assert boss.cut_off
        assert not olga.cut_off
        assert any(e.type == AGENT_STATE for e in received(olga))

        # the feed carried on, and the page that fell behind gets every event back on resuming
        before = live.feed.last_id
        await live.routing.set_not_ready(live.users["agent03"])
        await live.feed.settle()
        assert live.feed.last_id > before
        resumed = received(await live.feed.connect(live.viewer("boss"), last_event_id=snapshot_id))
        assert [e.id for e in resumed] == list(range(snapshot_id + 1, live.feed.last_id + 1))
    finally:
        await live.close()


async def test_a_burst_of_arrivals_recomputes_a_queues_figures_a_few_times_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await configure(sessions)
    live = await open_live(sessions, coalesce_seconds=3600)
    try:
        page = await live.feed.connect(live.viewer("boss"))
        for _ in range(20):
            await live.routing.arrive(await live.new_contact(), "overflow")

        def figures() -> list[LiveEvent]:
            return [e for e in received(page) if e.type == QUEUE_FIGURES]

        assert len(figures()) == 1  # the first arrival's, at once; the rest wait their turn
        await live.feed.settle()
        (last,) = figures()
        assert last.data["queue"]["waiting"] == 20
    finally:
        await live.close()


async def test_closing_the_feed_ends_every_stream_without_asking_to_resume(live: Live) -> None:
    page = await live.feed.connect(live.viewer("boss"))
    await live.feed.close()
    assert page.drain()[-1] is None
    assert not page.cut_off


async def test_the_last_30_minutes_figures_move_on_with_time_alone(live: Live) -> None:
    boss = await live.feed.connect(live.viewer("boss"))
    await live.login("agent01")
    contact = await live.new_contact()
    await live.routing.arrive(contact, "medical")
    live.clock.advance(5)
    await live.routing.answer(contact)
    await live.feed.settle()

    def medical(page: Subscription) -> list[dict[str, object]]:
        return [
            e.data["queue"]
            for e in received(page)
            if e.type == QUEUE_FIGURES and e.data["queue"]["queue_id"] == "medical"
        ]

    answered = medical(boss)[-1]
    assert (answered["answered_30min"], answered["service_level_30min"]) == (1, 1.0)
    assert answered["asa_30min_seconds"] == 5.0
    assert (answered["topic"], answered["topic_name"]) == ("medical", "Medical help")
    assert answered["sl_target_seconds"] == 20.0

    live.clock.advance(31 * 60)  # no event at all: only time passes
    await live.feed.settle()
    later = medical(boss)
    assert len(later) == 1
    assert (later[0]["answered_30min"], later[0]["service_level_30min"]) == (0, None)
    assert later[0]["answered_today"] == 1
