"""Routing decision latency: event in to offer out, p50/p99, at two sizes of centre.

Two kinds of decision are timed, each over many events in a steady state:
- an agent frees up (hang-up, no wrap-up) while contacts wait: the engine picks the best waiting
  contact among the agent's skills and offers it;
- a contact arrives while agents are ready: the engine picks the agent by the queue's strategy.
Targets (issue 2): p99 <= 1 ms at 1,000 agents / 1,000 waiting; <= 5 ms at 10,000 / 5,000.
The last line printed is a JSON object of the figures.

    .venv/bin/python bench/routing.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time

from hotline.routing.engine import RoutingEngine
from hotline.routing.types import AgentSkill, Offer, QueueSpec, SkillRequirement, Strategy

STRATEGIES = list(Strategy)


def build(agents: int, skills: int, seed: int) -> tuple[RoutingEngine, random.Random]:
    rng = random.Random(seed)
    queues = [
        QueueSpec(f"q{i}", (SkillRequirement(f"s{i}"),), STRATEGIES[i % len(STRATEGIES)])
        for i in range(skills)
    ]
    engine = RoutingEngine(queues, window_seconds=1800)
    for a in range(agents):
        chosen = rng.sample(range(skills), rng.randint(2, 5))
        engine.login(
            f"a{a}",
            [AgentSkill(f"s{i}", rng.randint(1, 10), rng.randint(0, 3)) for i in chosen],
            0.0,
            ready=True,
        )
    return engine, rng


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    n = len(ordered)
    return {
        "p50_ms": ordered[n // 2] / 1e6,
        "p99_ms": ordered[min(n - 1, int(n * 0.99))] / 1e6,
        "max_ms": ordered[-1] / 1e6,
        "mean_ms": statistics.fmean(ordered) / 1e6,
        "events": n,
    }


def agent_frees_up(agents: int, waiting: int, skills: int, events: int, seed: int) -> dict:
    """Every agent busy, `waiting` contacts queued; time hang-ups that pull the next contact."""
    engine, rng = build(agents, skills, seed)
    now = 1.0
    seq = 0
    connected: list[str] = []
    # occupy every agent, then queue `waiting` more
    while True:
        seq += 1
        decisions = engine.arrive(f"c{seq}", f"q{rng.randrange(skills)}", now)
        offer = next((d for d in decisions if isinstance(d, Offer)), None)
        if offer is not None:
            engine.answer(offer.contact_id, now)
            connected.append(offer.contact_id)
        elif engine.waiting_count() >= waiting and len(connected) >= agents * 0.98:
            break
        if seq > 20 * (agents + waiting):
            raise SystemExit("could not fill the centre")
    samples: list[int] = []
    perf = time.perf_counter_ns
    for _ in range(events):
        now += 0.01
        victim = connected.pop(rng.randrange(len(connected)))
        start = perf()
        decisions = engine.hangup(victim, now)
        elapsed = perf() - start
        offer = next((d for d in decisions if isinstance(d, Offer)), None)
        if offer is not None:
            samples.append(elapsed)
            engine.answer(offer.contact_id, now)
            connected.append(offer.contact_id)
        # keep the line as long as it was
        while engine.waiting_count() < waiting:
            seq += 1
            for d in engine.arrive(f"c{seq}", f"q{rng.randrange(skills)}", now):
                if isinstance(d, Offer):
                    engine.answer(d.contact_id, now)
                    connected.append(d.contact_id)
        if not connected:
            break
    return percentiles(samples)


def contact_arrives(agents: int, skills: int, events: int, seed: int) -> dict:
    """No one waits and most agents are ready; time arrivals that pick an agent."""
    engine, rng = build(agents, skills, seed)
    now = 1.0
    samples: list[int] = []
    perf = time.perf_counter_ns
    connected: list[str] = []
    for seq in range(events):
        now += 0.01
        queue = f"q{rng.randrange(skills)}"
        start = perf()
        decisions = engine.arrive(f"c{seq}", queue, now)
        elapsed = perf() - start
        offer = next((d for d in decisions if isinstance(d, Offer)), None)
        if offer is None:
            engine.abandon(f"c{seq}", now)
            continue
        samples.append(elapsed)
        engine.answer(offer.contact_id, now)
        connected.append(offer.contact_id)
        if len(connected) > agents // 4:  # keep three quarters of the agents ready
            engine.hangup(connected.pop(rng.randrange(len(connected))), now)
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer events, for a smoke run")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    events = 3_000 if args.quick else 30_000
    cases = [
        ("1k_agents_1k_waiting", 1_000, 1_000, 1.0),
        ("10k_agents_5k_waiting", 10_000, 5_000, 5.0),
    ]
    figures: dict[str, object] = {"skills": 50, "python": sys.version.split()[0]}
    for name, agents, waiting, target in cases:
        free = agent_frees_up(agents, waiting, 50, events, args.seed)
        arrive = contact_arrives(agents, 50, events, args.seed)
        worst = max(free["p99_ms"], arrive["p99_ms"])
        print(
            f"{name}: agent frees up -> offer p50 {free['p50_ms']:.3f} ms, "
            f"p99 {free['p99_ms']:.3f} ms; contact arrives -> offer p50 "
            f"{arrive['p50_ms']:.3f} ms, p99 {arrive['p99_ms']:.3f} ms "
            f"(target p99 <= {target} ms: {'met' if worst <= target else 'NOT met'})"
        )
        figures[name] = {
            "agent_frees_up": free,
            "contact_arrives": arrive,
            "target_p99_ms": target,
            "met": worst <= target,
        }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
