// Test data builders: plain values in the shapes the server sends.

import type { AgentRow, QueueFigures, Snapshot } from "../src/api/types";
import type { LiveEvent } from "../src/live/protocol";

export function figures(queueId: string, extra: Partial<QueueFigures> = {}): QueueFigures {
  return {
    queue_id: queueId,
    name: `Queue ${queueId}`,
    waiting: 0,
    callbacks_waiting: 0,
    ringing: 0,
    longest_wait_seconds: 0,
    expected_wait_seconds: 0,
    agents: {},
    offered_today: 0,
    answered_today: 0,
    abandoned_today: 0,
    service_level_today: null,
    asa_today_seconds: null,
    offered_30min: 0,
    answered_30min: 0,
    abandoned_30min: 0,
    service_level_30min: null,
    asa_30min_seconds: null,
    sl_target_seconds: 20,
    topic: null,
    topic_name: null,
    ...extra,
  };
}

export function agent(username: string, extra: Partial<AgentRow> = {}): AgentRow {
  return {
    username,
    name: username.toUpperCase(),
    state: "ready",
    reason: null,
    since: 1000,
    contact_id: null,
    queues: ["q1"],
    ...extra,
  };
}

export function snapshot(extra: Partial<Snapshot> = {}): Snapshot {
  return { queues: [figures("q1")], agents: [agent("anna")], ...extra };
}

let nextId = 100;
export function event<T extends LiveEvent["type"]>(
  type: T,
  data: Extract<LiveEvent, { type: T }>["data"],
  id: number = ++nextId,
  at = 2000,
): Extract<LiveEvent, { type: T }> {
  return { id, type, at, data } as Extract<LiveEvent, { type: T }>;
}
