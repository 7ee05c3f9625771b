// The one place where a live event changes what the wallboard and the desktop show. Pure: the
// same snapshot and event always give the same result, and a snapshot plus the events after it
// must equal a fresh snapshot (the server's test checks its side; tests/reducer.test.ts this one).

import type { AgentRow, Snapshot } from "../api/types";
import type { AgentStateData, LiveEvent } from "./protocol";

function withAgentState(agents: AgentRow[], data: AgentStateData): AgentRow[] {
  const index = agents.findIndex((a) => a.username === data.username);
  const existing = index >= 0 ? agents[index] : undefined;
  const row: AgentRow = {
    username: data.username,
    name: data.name ?? existing?.name ?? data.username,
    state: data.state,
    reason: data.reason ?? null,
    since: data.since,
    contact_id: data.contact_id ?? null,
    queues: data.queues ?? existing?.queues ?? [],
  };
  if (index < 0) return [...agents, row];
  const copy = agents.slice();
  copy[index] = row;
  return copy;
}

/** The snapshot after `event`; the same object when the event changes nothing in it. */
export function apply(snapshot: Snapshot, event: LiveEvent): Snapshot {
  switch (event.type) {
    case "agent.state":
      return { ...snapshot, agents: withAgentState(snapshot.agents, event.data) };
    case "queue.figures": {
      const figures = event.data.queue;
      const index = snapshot.queues.findIndex((q) => q.queue_id === figures.queue_id);
      const queues = snapshot.queues.slice();
      if (index < 0) queues.push(figures);
      else queues[index] = figures;
      return { ...snapshot, queues };
    }
    default:
      // Contact events carry no snapshot state: the agent's current contact moves with agent.state.
      return snapshot;
  }
}

/** Applies events in order: what a page that missed them while reconnecting catches up with. */
export function applyAll(snapshot: Snapshot, events: readonly LiveEvent[]): Snapshot {
  return events.reduce(apply, snapshot);
}
