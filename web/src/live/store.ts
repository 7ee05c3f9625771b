// What a page knows of the live state: the snapshot kept current by the events client and the
// reducer, the connection's status, and the offset between the server's clock and this one (so
// "time in state" ticks from the server's `since` without trusting the browser's clock).

import type { Snapshot } from "../api/types";
import type { ConnectionStatus } from "./events";
import type { LiveEvent, LiveMessage } from "./protocol";
import { apply } from "./reducer";

export interface LiveState {
  snapshot: Snapshot | null;
  status: ConnectionStatus;
  /** Server time minus local time, in seconds, from the latest message's `at`. */
  clockOffset: number;
  /** Local time (seconds) at which each queue's figures arrived, to tick their longest wait. */
  queueReceivedAt: Record<string, number>;
}

export const INITIAL_LIVE: LiveState = {
  snapshot: null,
  status: "stopped",
  clockOffset: 0,
  queueReceivedAt: {},
};

/** The state after one message, received at local time `now` (seconds). Pure. */
export function receive(state: LiveState, message: LiveMessage, now: number): LiveState {
  const clockOffset = typeof message.at === "number" ? message.at - now : state.clockOffset;
  if (message.type === "snapshot") {
    const queueReceivedAt: Record<string, number> = {};
    for (const q of message.data.queues) queueReceivedAt[q.queue_id] = now;
    return { ...state, snapshot: message.data, clockOffset, queueReceivedAt };
  }
  if (state.snapshot === null) return { ...state, clockOffset }; // events before any snapshot
  const snapshot = apply(state.snapshot, message);
  const queueReceivedAt =
    message.type === "queue.figures"
      ? { ...state.queueReceivedAt, [message.data.queue.queue_id]: now }
      : state.queueReceivedAt;
  return { ...state, snapshot, clockOffset, queueReceivedAt };
}

/** Seconds since a server timestamp, by the server's clock as best known here; never negative. */
export function secondsSince(serverTime: number, now: number, clockOffset: number): number {
  return Math.max(0, now + clockOffset - serverTime);
}

type Listener = () => void;

/** A tiny external store for React's useSyncExternalStore; events also go to subscribers. */
export class LiveStore {
  private state: LiveState = INITIAL_LIVE;
  private readonly listeners = new Set<Listener>();
  private readonly eventListeners = new Set<(event: LiveEvent) => void>();
  private readonly clock: () => number;

  constructor(clock: () => number = () => Date.now() / 1000) {
    this.clock = clock;
  }

  getState = (): LiveState => this.state;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Every event as it arrives (the desktop rings on contact.offered); returns the unsubscribe. */
  onEvent(listener: (event: LiveEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  handle = (message: LiveMessage): void => {
    this.state = receive(this.state, message, this.clock());
    this.emit();
    if (message.type !== "snapshot") for (const l of this.eventListeners) l(message);
  };

  setStatus = (status: ConnectionStatus): void => {
    this.state = { ...this.state, status };
    this.emit();
  };

  private emit(): void {
    for (const l of this.listeners) l();
  }
}
