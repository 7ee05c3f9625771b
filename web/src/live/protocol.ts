// The messages of GET /api/v1/events (docs/web-api.md, "Live events"): typed, and checked at the
// boundary so a malformed message is dropped instead of breaking a screen.

import type { AgentState, QueueFigures, Snapshot } from "../api/types";

export interface AgentStateData {
  username: string;
  state: AgentState;
  reason: string | null;
  since: number;
  contact_id: string | null;
  /** The server sends the whole row, so an agent who logged in after the snapshot shows at
   * once; optional here only so a row without them still applies (the reducer keeps the old). */
  name?: string;
  queues?: string[];
}

export interface ContactOfferedData {
  contact_id: string;
  username: string;
  queue: string;
  /** A callback being offered: the desktop says so. */
  callback?: boolean;
  caller_number?: string | null;
}

/** The contract names these without their fields; contact_id and username are what the app reads. */
export interface ContactRefData {
  contact_id: string;
  username?: string;
}

export interface ContactEndedData {
  contact_id: string;
  outcome: string | null;
  username?: string;
}

interface Base<T extends string, D> {
  id: number;
  type: T;
  at?: number;
  data: D;
}

export type SnapshotMessage = Base<"snapshot", Snapshot>;
export type LiveEvent =
  | Base<"agent.state", AgentStateData>
  | Base<"queue.figures", { queue: QueueFigures }>
  | Base<"contact.offered", ContactOfferedData>
  | Base<"contact.answered", ContactRefData>
  | Base<"contact.ended", ContactEndedData>
  | Base<"offer.withdrawn", ContactRefData>;
export type LiveMessage = SnapshotMessage | LiveEvent;

const KNOWN = new Set([
  "snapshot",
  "agent.state",
  "queue.figures",
  "contact.offered",
  "contact.answered",
  "contact.ended",
  "offer.withdrawn",
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads one WebSocket text frame. Returns null for anything that is not a message of a known type
 * with an integer id and an object `data` (an unknown type is a newer server: ignore, don't fail).
 */
export function parseMessage(text: string): LiveMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(value)) return null;
  const { id, type, data } = value;
  if (typeof id !== "number" || !Number.isInteger(id) || typeof type !== "string") return null;
  if (!KNOWN.has(type) || !isObject(data)) return null;
  if (type === "snapshot" && !(Array.isArray(data.queues) && Array.isArray(data.agents))) return null;
  if (type === "queue.figures" && !isObject(data.queue)) return null;
  if (type === "agent.state" && typeof data.username !== "string") return null;
  return value as unknown as LiveMessage;
}
