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

/** A request's step (docs/requests.md, "Live events"): no caller's details. */
export interface RequestChangedData {
  request_id: string;
  event: string;
  category: string;
  state: string;
  worker: string | null;
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

export type SnapshotMessage = Base<"snapshot", Snapshot> & {
  /** The server's heartbeat interval in seconds: it sends a heartbeat when it sent nothing else
   * for this long. */
  heartbeat?: number;
};
export type LiveEvent =
  | Base<"agent.state", AgentStateData>
  | Base<"queue.figures", { queue: QueueFigures }>
  | Base<"contact.offered", ContactOfferedData>
  | Base<"contact.answered", ContactRefData>
  | Base<"contact.ended", ContactEndedData>
  | Base<"offer.withdrawn", ContactRefData>
  | Base<"request.changed", RequestChangedData>;
export type LiveMessage = SnapshotMessage | LiveEvent;

/**
 * Not an event: the server sends it when it had nothing else to send for `interval` seconds, so a
 * page can tell a quiet stream from a dead connection. It has no id and is never replayed.
 */
export interface Heartbeat {
  type: "heartbeat";
  at?: number;
  interval: number;
}

const KNOWN = new Set([
  "snapshot",
  "agent.state",
  "queue.figures",
  "contact.offered",
  "contact.answered",
  "contact.ended",
  "offer.withdrawn",
  "request.changed",
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads one WebSocket text frame. Returns null for anything that is not a message of a known type
 * with an integer id and an object `data` (an unknown type is a newer server: ignore, don't fail).
 */
export function parseMessage(text: string): LiveMessage | null {
  const frame = parseFrame(text);
  return frame === null || frame.type === "heartbeat" ? null : frame;
}

/** Reads one WebSocket text frame: a message as `parseMessage` reads it, or a heartbeat. */
export function parseFrame(text: string): LiveMessage | Heartbeat | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(value)) return null;
  const { id, type, data } = value;
  if (type === "heartbeat") {
    if (!isObject(data) || !isInterval(data.interval)) return null;
    const at = typeof value.at === "number" ? value.at : undefined;
    return { type: "heartbeat", at, interval: data.interval };
  }
  if (typeof id !== "number" || !Number.isInteger(id) || typeof type !== "string") return null;
  if (!KNOWN.has(type) || !isObject(data)) return null;
  if (type === "snapshot" && !(Array.isArray(data.queues) && Array.isArray(data.agents))) return null;
  if (type === "queue.figures" && !isObject(data.queue)) return null;
  if (type === "agent.state" && typeof data.username !== "string") return null;
  if (type === "request.changed" && typeof data.request_id !== "string") return null;
  return value as unknown as LiveMessage;
}

/** A heartbeat interval worth acting on: a positive number of seconds. */
export function isInterval(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}
