// How the wallboard groups what the snapshot holds: by topic, queues and the agents serving them.

import type { AgentRow, QueueFigures } from "../api/types";

export interface TopicGroup {
  topic: string | null;
  queues: QueueFigures[];
}

/** Queues grouped by topic (named topics in name order, then the queues without one). */
export function groupByTopic(queues: readonly QueueFigures[]): TopicGroup[] {
  const groups = new Map<string | null, QueueFigures[]>();
  for (const q of queues) {
    const topic = q.topic ?? null;
    const list = groups.get(topic) ?? [];
    list.push(q);
    groups.set(topic, list);
  }
  const named = [...groups.keys()].filter((k): k is string => k !== null).sort((a, b) => a.localeCompare(b));
  const order: (string | null)[] = groups.has(null) ? [...named, null] : named;
  return order.map((topic) => ({
    topic,
    queues: (groups.get(topic) ?? []).slice().sort((a, b) => a.name.localeCompare(b.name)),
  }));
}

/** Agents who serve any of `queueIds` (all agents when `queueIds` is null), by name. */
export function agentsFor(agents: readonly AgentRow[], queueIds: ReadonlySet<string> | null): AgentRow[] {
  const chosen = queueIds === null ? agents.slice() : agents.filter((a) => a.queues.some((q) => queueIds.has(q)));
  return chosen.sort((a, b) => a.name.localeCompare(b.name));
}

/** The longest wait now: the figure as sent, plus the time since it came while callers still wait. */
export function longestWaitNow(figures: QueueFigures, receivedAt: number | undefined, now: number): number {
  if (figures.waiting === 0) return 0;
  return figures.longest_wait_seconds + (receivedAt === undefined ? 0 : Math.max(0, now - receivedAt));
}
