"""The pure part of a softphone lost mid-call (hotline/calls/rejoin.py): which ends of an agent's
leg are waited out, and the wait itself."""

from __future__ import annotations

from hotline.calls.rejoin import AgentAway, worth_waiting


def test_only_a_browser_leg_lost_without_a_hang_up_is_waited_for() -> None:
    assert worth_waiting(leg_kind="webrtc", deliberate=False, grace=60)
    assert not worth_waiting(leg_kind="webrtc", deliberate=True, grace=60)  # hung up on purpose
    assert not worth_waiting(leg_kind="sip", deliberate=False, grace=60)  # a SIP phone's BYE
    assert not worth_waiting(leg_kind="webrtc", deliberate=False, grace=0)  # the wait is off


def test_the_same_agent_rejoins_within_the_grace_period_only() -> None:
    away = AgentAway.begin(contact_id="c1", agent_id="a1", reason="closed", now=100.0, grace=60)
    assert away.rejoins("a1", 159.9)
    assert not away.rejoins("a2", 110.0)  # another agent's softphone takes nothing up
    assert not away.rejoins("a1", 160.0)
    assert away.remaining(130.0) == 30.0
    assert away.remaining(200.0) == 0.0
    assert away.away_for(112.5) == 12.5
    assert away.expired(160.0)
    assert not away.expired(159.0)
