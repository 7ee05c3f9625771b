// One WebSocket to /api/v1/events per page. It keeps the id of the last message it handed on and,
// whenever the connection drops, reconnects by itself with growing, jittered delays, asking the
// server to resume after that id (`?last_event_id=N`), so a network drop loses no event. A drop
// that neither end is told of (a NAT or proxy forgetting the connection) shows as silence: the
// server sends a heartbeat when it has nothing else to say, so a socket silent for
// HEARTBEAT_IDLE_FACTOR heartbeat intervals is treated as dropped.

import { isInterval, parseFrame, type LiveMessage } from "./protocol";

/** The part of the browser's WebSocket this client uses (tests give a fake at this boundary). */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}
export type SocketFactory = (url: string) => SocketLike;

/** The browser's WebSocket behind SocketLike. */
export function browserSocket(url: string): SocketLike {
  const ws = new WebSocket(url);
  const socket: SocketLike = {
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    close: (code, reason) => ws.close(code, reason),
  };
  ws.onopen = (ev) => socket.onopen?.(ev);
  ws.onmessage = (ev) => socket.onmessage?.(ev);
  ws.onclose = (ev) => socket.onclose?.(ev);
  ws.onerror = (ev) => socket.onerror?.(ev);
  return socket;
}

export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "stopped";

/** Close codes after which reconnecting cannot help: the page must sign in again. */
export const AUTH_CLOSE_CODES: ReadonlySet<number> = new Set([4401, 4403]);
/** The code this client closes with when the server has been silent for too long. */
export const IDLE_CLOSE_CODE = 4000;
/** How many heartbeat intervals of silence make a connection dropped: one late heartbeat is
 * forgiven, two missed are not. */
export const HEARTBEAT_IDLE_FACTOR = 2.5;

export interface Backoff {
  initialMs: number;
  maxMs: number;
  factor: number;
}
export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 15_000, factor: 2 };

/**
 * The wait before reconnect attempt `attempt` (0 for the first): exponential up to the cap, then
 * jittered to between 75% and 125% so that hundreds of pages do not all come back at once.
 */
export function reconnectDelay(attempt: number, backoff: Backoff, random: () => number): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** attempt);
  return Math.round(base * (0.75 + 0.5 * random()));
}

/** The events URL, with `last_event_id` when there is a position to resume from. */
export function eventsUrl(base: string, lastEventId: number | null): string {
  if (lastEventId === null) return base;
  const glue = base.includes("?") ? "&" : "?";
  return `${base}${glue}last_event_id=${lastEventId}`;
}

/** ws(s)://this-host/api/v1/events for the page at `location`. */
export function pageEventsUrl(location: { protocol: string; host: string }): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/v1/events`;
}

export interface EventsClientOptions {
  url: string;
  connect: SocketFactory;
  onMessage: (message: LiveMessage) => void;
  onStatus?: (status: ConnectionStatus, attempt: number) => void;
  /** Called once when the server closes with an auth code; the client then stays stopped. */
  onUnauthorized?: (code: number) => void;
  backoff?: Backoff;
  random?: () => number;
  /**
   * Reconnect when nothing arrived for this long. By default HEARTBEAT_IDLE_FACTOR times the
   * heartbeat interval the server announces (in its snapshot, and in each heartbeat), and no
   * limit until it has announced one (an older server sends no heartbeats); null: no limit.
   */
  idleMs?: number | null;
  timers?: {
    set: (fn: () => void, ms: number) => unknown;
    clear: (handle: unknown) => void;
  };
}

export class EventsClient {
  private socket: SocketLike | null = null;
  private lastId: number | null = null;
  private attempt = 0;
  private retryTimer: unknown = null;
  private idleTimer: unknown = null;
  /** The server's heartbeat interval (seconds) as last announced; kept across reconnects. */
  private heartbeatSeconds: number | null = null;
  private running = false;
  private status: ConnectionStatus = "stopped";
  private readonly options: EventsClientOptions;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly timers: NonNullable<EventsClientOptions["timers"]>;

  constructor(options: EventsClientOptions) {
    this.options = options;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? {
      set: (fn, ms) => setTimeout(fn, ms),
      clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
  }

  /** The id of the last message handed on: where a reconnect resumes. */
  get lastEventId(): number | null {
    return this.lastId;
  }

  get connectionStatus(): ConnectionStatus {
    return this.status;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.setStatus("connecting");
    this.open();
  }

  stop(): void {
    this.running = false;
    this.clearRetry();
    this.clearIdle();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      this.detach(socket);
      socket.close(1000, "page closed");
    }
    this.setStatus("stopped");
  }

  /** Skips the remaining wait (e.g. the browser says it is online again). */
  reconnectNow(): void {
    if (!this.running || this.retryTimer === null) return;
    this.clearRetry();
    this.attempt = 0;
    this.open();
  }

  /** How long a silent connection is kept before it counts as dropped (null: for ever). */
  get idleLimitMs(): number | null {
    if (this.options.idleMs !== undefined) return this.options.idleMs || null;
    if (this.heartbeatSeconds === null) return null;
    return Math.round(this.heartbeatSeconds * 1000 * HEARTBEAT_IDLE_FACTOR);
  }

  /**
   * The browser says the network is gone. A socket whose network went away may stay "open" until
   * the heartbeats are missed, so drop it now and retry with the usual delays; `reconnectNow`
   * skips the wait once the browser is online again.
   */
  connectionLost(): void {
    const socket = this.socket;
    if (!this.running || socket === null) return; // already waiting to retry
    this.drop(socket, "offline");
  }

  private open(): void {
    const socket = this.options.connect(eventsUrl(this.options.url, this.lastId));
    this.socket = socket;
    let received = false;
    socket.onopen = () => {
      this.setStatus("open");
      this.armIdle(socket);
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data !== "string") return;
      if (!received) {
        // Count the attempt as a success only once the server has spoken: a server that accepts
        // and closes at once must still be met with growing delays.
        received = true;
        this.attempt = 0;
      }
      try {
        this.receive(ev.data);
      } finally {
        // After receiving: the message may have announced the heartbeat interval.
        if (this.socket === socket) this.armIdle(socket);
      }
    };
    socket.onerror = () => {
      // A close always follows an error; reconnecting is done there.
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.detach(socket);
      this.clearIdle();
      if (!this.running) return;
      if (AUTH_CLOSE_CODES.has(ev.code)) {
        this.running = false;
        this.setStatus("stopped");
        this.options.onUnauthorized?.(ev.code);
        return;
      }
      this.scheduleRetry();
    };
  }

  private receive(text: string): void {
    const message = parseFrame(text);
    if (message === null) return;
    if (message.type === "heartbeat") {
      this.heartbeatSeconds = message.interval; // it only keeps the connection's silence short
      return;
    }
    if (message.type === "snapshot" && isInterval(message.heartbeat)) {
      this.heartbeatSeconds = message.heartbeat;
    }
    if (message.type !== "snapshot" && this.lastId !== null && message.id <= this.lastId) {
      return; // already handed on (a replay overlapping what arrived before the drop)
    }
    this.lastId = message.id;
    this.options.onMessage(message);
  }

  private scheduleRetry(): void {
    const delay = reconnectDelay(this.attempt, this.backoff, this.random);
    this.attempt += 1;
    this.setStatus("reconnecting");
    this.retryTimer = this.timers.set(() => {
      this.retryTimer = null;
      if (this.running) this.open();
    }, delay);
  }

  private armIdle(socket: SocketLike): void {
    const idleMs = this.idleLimitMs;
    this.clearIdle();
    if (!idleMs) return;
    this.idleTimer = this.timers.set(() => {
      this.idleTimer = null;
      if (this.socket !== socket) return;
      // Treat a silent connection as dropped: close it and resume on a new one.
      this.drop(socket, "no heartbeat");
    }, idleMs);
  }

  /** Close `socket`, the current one, as dropped, and resume on a new one after the wait. */
  private drop(socket: SocketLike, reason: string): void {
    this.socket = null;
    this.detach(socket);
    this.clearIdle();
    socket.close(IDLE_CLOSE_CODE, reason);
    if (this.running) this.scheduleRetry();
  }

  private detach(socket: SocketLike): void {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) this.timers.clear(this.retryTimer);
    this.retryTimer = null;
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) this.timers.clear(this.idleTimer);
    this.idleTimer = null;
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.options.onStatus?.(status, this.attempt);
  }
}
