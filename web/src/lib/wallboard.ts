// How the wallboard groups what the snapshot holds: by topic, queues and the agents serving them.

import type { AgentRow, QueueFigures } from "../api/types";

export interface TopicGroup {
  /** The topic's id (null: the queues serving no topic, e.g. a language queue). */
  topic: string | null;
  /** The topic's name as the configuration gives it (its id if it has none). */
  name: string | null;
  queues: QueueFigures[];
}

/** Queues grouped by topic (topics in name order, then the queues without one). */
export function groupByTopic(queues: readonly QueueFigures[]): TopicGroup[] {
  const groups = new Map<string | null, TopicGroup>();
  for (const q of queues) {
    const topic = q.topic ?? null;
    let group = groups.get(topic);
    if (!group) {
      group = { topic, name: topic === null ? null : (q.topic_name ?? topic), queues: [] };
      groups.set(topic, group);
    }
    group.queues.push(q);
  }
  const named = [...groups.values()]
    .filter((g) => g.topic !== null)
    .sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
  const none = groups.get(null);
  return (none ? [...named, none] : named).map((g) => ({
    ...g,
    queues: g.queues.slice().sort((a, b) => a.name.localeCompare(b.name)),
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
