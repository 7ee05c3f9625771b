// The events client against a fake WebSocket (the protocol boundary) and manual timers.

import { beforeEach, describe, expect, it } from "vitest";
import {
  AUTH_CLOSE_CODES,
  DEFAULT_BACKOFF,
  EventsClient,
  HEARTBEAT_IDLE_FACTOR,
  IDLE_CLOSE_CODE,
  eventsUrl,
  pageEventsUrl,
  reconnectDelay,
  type ConnectionStatus,
  type SocketLike,
} from "../src/live/events";
import { parseFrame, parseMessage, type LiveMessage } from "../src/live/protocol";
import { figures, snapshot } from "./fixtures";

class FakeSocket implements SocketLike {
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  closedWith: number | null = null;
  constructor(readonly url: string) {}

  close(code = 1000): void {
    this.closedWith = code;
  }
  serverOpens(): void {
    this.onopen?.({});
  }
  serverSends(message: unknown): void {
    this.onmessage?.({ data: typeof message === "string" ? message : JSON.stringify(message) });
  }
  serverCloses(code = 1006): void {
    this.onerror?.({});
    this.onclose?.({ code, reason: "" });
  }
}

class ManualTimers {
  private pending: { fn: () => void; ms: number; handle: number }[] = [];
  private next = 1;
  set = (fn: () => void, ms: number): unknown => {
    const handle = this.next++;
    this.pending.push({ fn, ms, handle });
    return handle;
  };
  clear = (handle: unknown): void => {
    this.pending = this.pending.filter((p) => p.handle !== handle);
  };
  get delays(): number[] {
    return this.pending.map((p) => p.ms);
  }
  /** Runs the earliest pending timer; returns its delay. */
  fire(): number {
    const first = this.pending.sort((a, b) => a.ms - b.ms).shift();
    if (!first) throw new Error("no timer pending");
    first.fn();
    return first.ms;
  }
}

const URL = "ws://127.0.0.1:8080/api/v1/events";
let sockets: FakeSocket[];
let received: LiveMessage[];
let statuses: ConnectionStatus[];
let timers: ManualTimers;
let unauthorized: number[];

function client(extra: { idleMs?: number } = {}): EventsClient {
  return new EventsClient({
    url: URL,
    connect: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    onMessage: (m) => received.push(m),
    onStatus: (s) => statuses.push(s),
    onUnauthorized: (code) => unauthorized.push(code),
    random: () => 0.5, // no jitter: delays are exactly the backoff's
    timers,
    ...extra,
  });
}

const latest = (): FakeSocket => {
  const socket = sockets[sockets.length - 1];
  if (!socket) throw new Error("no socket opened");
  return socket;
};

function queueEvent(id: number, waiting = 1) {
  return { id, type: "queue.figures", at: 1000 + id, data: { queue: figures("q1", { waiting }) } };
}

beforeEach(() => {
  sockets = [];
  received = [];
  statuses = [];
  unauthorized = [];
  timers = new ManualTimers();
});

describe("urls", () => {
  it("resumes with last_event_id only when there is a position", () => {
    expect(eventsUrl(URL, null)).toBe(URL);
    expect(eventsUrl(URL, 42)).toBe(`${URL}?last_event_id=42`);
    expect(eventsUrl(`${URL}?x=1`, 0)).toBe(`${URL}?x=1&last_event_id=0`);
  });

  it("uses wss on an https page", () => {
    expect(pageEventsUrl({ protocol: "https:", host: "hotline.example:8443" })).toBe(
      "wss://hotline.example:8443/api/v1/events",
    );
    expect(pageEventsUrl({ protocol: "http:", host: "127.0.0.1:8080" })).toBe(URL);
  });
});

describe("reconnectDelay", () => {
  it("doubles up to the cap and jitters within a quarter either way", () => {
    const middle = () => 0.5;
    expect([0, 1, 2, 3, 10].map((a) => reconnectDelay(a, DEFAULT_BACKOFF, middle))).toEqual([
      500, 1000, 2000, 4000, 15000,
    ]);
    expect(reconnectDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(375);
    expect(reconnectDelay(0, DEFAULT_BACKOFF, () => 1)).toBe(625);
  });
});

describe("EventsClient", () => {
  it("connects without a position and hands on the snapshot and the events after it", () => {
    const c = client();
    c.start();
    expect(latest().url).toBe(URL);
    latest().serverOpens();
    latest().serverSends({ id: 7, type: "snapshot", data: snapshot() });
    latest().serverSends(queueEvent(8));
    expect(received.map((m) => [m.type, m.id])).toEqual([
      ["snapshot", 7],
      ["queue.figures", 8],
    ]);
    expect(c.lastEventId).toBe(8);
    expect(statuses).toEqual(["connecting", "open"]);
  });

  it("reconnects after a drop, resuming after the last event it handed on", () => {
    const c = client();
    c.start();
    latest().serverOpens();
    latest().serverSends({ id: 7, type: "snapshot", data: snapshot() });
    latest().serverSends(queueEvent(8));
    latest().serverCloses(1006);
    expect(statuses.at(-1)).toBe("reconnecting");
    expect(sockets).toHaveLength(1); // waits before trying again
    timers.fire();
    expect(sockets).toHaveLength(2);
    expect(latest().url).toBe(`${URL}?last_event_id=8`);
    latest().serverOpens();
    latest().serverSends(queueEvent(9, 5));
    expect(received.map((m) => m.id)).toEqual([7, 8, 9]);
    expect(statuses.at(-1)).toBe("open");
  });

  it("drops replayed events it already handed on", () => {
    const c = client();
    c.start();
    latest().serverOpens();
    latest().serverSends({ id: 7, type: "snapshot", data: snapshot() });
    latest().serverSends(queueEvent(8));
    latest().serverSends(queueEvent(8));
    latest().serverSends(queueEvent(6));
    expect(received.map((m) => m.id)).toEqual([7, 8]);
  });

  it("starts over from a snapshot the server sends on resume (its ring no longer held the position)", () => {
    const c = client();
    c.start();
    latest().serverOpens();
    latest().serverSends({ id: 50, type: "snapshot", data: snapshot() });
    latest().serverCloses();
    timers.fire();
    latest().serverOpens();
    latest().serverSends({ id: 3, type: "snapshot", data: snapshot() }); // e.g. a restarted server
    latest().serverSends(queueEvent(4));
    expect(received.map((m) => m.id)).toEqual([50, 3, 4]);
    expect(c.lastEventId).toBe(4);
  });

  it("waits longer after each failed attempt and starts again from the shortest wait once the server speaks", () => {
    const c = client();
    c.start();
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      latest().serverCloses(); // refused before saying anything
      waits.push(timers.fire());
    }
    expect(waits).toEqual([500, 1000, 2000, 4000]);
    latest().serverOpens();
    latest().serverSends({ id: 1, type: "snapshot", data: snapshot() });
    latest().serverCloses();
    expect(timers.fire()).toBe(500);
  });

  it("keeps growing the wait when the server accepts and closes without a word", () => {
    const c = client();
    c.start();
    latest().serverOpens();
    latest().serverCloses();
    expect(timers.fire()).toBe(500);
    latest().serverOpens();
    latest().serverCloses();
    expect(timers.fire()).toBe(1000);
  });

  it("stops and says so when the server closes for a sign-in reason", () => {
    for (const code of AUTH_CLOSE_CODES) {
      const c = client();
      c.start();
      latest().serverOpens();
      latest().serverCloses(code);
      expect(timers.delays).toEqual([]);
      expect(c.connectionStatus).toBe("stopped");
    }
    expect(unauthorized).toEqual([...AUTH_CLOSE_CODES]);
  });

  it("closes its socket on stop and does not come back", () => {
    const c = client();
    c.start();
    latest().serverOpens();
    c.stop();
    expect(latest().closedWith).toBe(1000);
    latest().serverCloses(1000); // a late close event from the browser changes nothing
    expect(timers.delays).toEqual([]);
    expect(sockets).toHaveLength(1);
    expect(statuses.at(-1)).toBe("stopped");
  });

  it("stops a pending reconnect on stop", () => {
    const c = client();
    c.start();
    latest().serverCloses();
    c.stop();
    expect(timers.delays).toEqual([]);
  });

  it("reconnects at once when told the network is back", () => {
    const c = client();
    c.start();
    latest().serverCloses();
    timers.fire();
    latest().serverCloses();
    expect(timers.delays).toEqual([1000]);
    c.reconnectNow();
    expect(sockets).toHaveLength(3);
    expect(timers.delays).toEqual([]);
  });

  it("ignores frames that are not messages of a known type", () => {
    const c = client();
    c.start();
    latest().serverOpens();
    latest().serverSends("not json");
    latest().serverSends({ id: "1", type: "snapshot", data: snapshot() });
    latest().serverSends({ id: 2, type: "agent.teleported", data: {} });
    latest().serverSends({ id: 3, type: "queue.figures", data: {} });
    latest().serverSends({ id: 4, type: "snapshot", data: snapshot() });
    expect(received.map((m) => m.id)).toEqual([4]);
    expect(c.lastEventId).toBe(4);
  });

  it("drops an open connection when the browser goes offline, and resumes once online", () => {
    const c = client();
    c.start();
    latest().serverOpens();
    latest().serverSends({ id: 7, type: "snapshot", data: snapshot() });
    c.connectionLost();
    expect(sockets[0]?.closedWith).toBe(IDLE_CLOSE_CODE);
    expect(statuses.at(-1)).toBe("reconnecting");
    c.connectionLost(); // already waiting: nothing more
    expect(sockets).toHaveLength(1);
    c.reconnectNow(); // online again
    expect(sockets).toHaveLength(2);
    expect(latest().url).toBe(`${URL}?last_event_id=7`);
  });

  it("treats a connection silent for longer than idleMs as dropped and resumes", () => {
    const c = client({ idleMs: 30_000 });
    c.start();
    latest().serverOpens();
    latest().serverSends({ id: 9, type: "snapshot", data: snapshot() });
    expect(timers.fire()).toBe(30_000); // the idle watchdog
    expect(sockets[0]?.closedWith).toBe(IDLE_CLOSE_CODE);
    timers.fire(); // the reconnect wait
    expect(latest().url).toBe(`${URL}?last_event_id=9`);
  });
});

describe("heartbeats", () => {
  const beat = (interval = 15) => ({ type: "heartbeat", at: 1015, data: { interval } });

  it("reads a heartbeat as no event: it has no id and is never handed on", () => {
    const text = JSON.stringify(beat());
    expect(parseFrame(text)).toEqual({ type: "heartbeat", at: 1015, interval: 15 });
    expect(parseMessage(text)).toBeNull();
    expect(parseFrame(JSON.stringify({ type: "heartbeat", data: { interval: -1 } }))).toBeNull();
  });

  it("reconnects after 2.5 heartbeat intervals of silence and resumes from the last event", () => {
    expect(HEARTBEAT_IDLE_FACTOR).toBe(2.5);
    const c = client();
    c.start();
    latest().serverOpens();
    latest().serverSends({ id: 9, type: "snapshot", at: 1000, heartbeat: 15, data: snapshot() });
    latest().serverSends(queueEvent(10));
    expect(c.idleLimitMs).toBe(37_500);
    expect(timers.delays).toEqual([37_500]); // the idle watchdog, learned from the snapshot
    expect(timers.fire()).toBe(37_500); // nothing arrived: the connection died silently
    expect(sockets[0]?.closedWith).toBe(IDLE_CLOSE_CODE);
    expect(statuses.at(-1)).toBe("reconnecting");
    timers.fire(); // the reconnect wait
    expect(sockets).toHaveLength(2);
    expect(latest().url).toBe(`${URL}?last_event_id=10`);
    latest().serverOpens(); // a resumed stream has no snapshot: the interval learned still holds
    expect(timers.delays).toEqual([37_500]);
    latest().serverSends(queueEvent(11));
    expect(statuses.at(-1)).toBe("open");
    expect(received.map((m) => m.id)).toEqual([9, 10, 11]);
  });

  it("keeps a quiet connection that heartbeats, without counting them as events", () => {
    const c = client();
    c.start();
    latest().serverOpens();
    latest().serverSends({ id: 9, type: "snapshot", at: 1000, heartbeat: 15, data: snapshot() });
    for (let i = 0; i < 3; i++) {
      latest().serverSends(beat());
      expect(timers.delays).toEqual([37_500]); // the watchdog starts again at each heartbeat
    }
    expect(received.map((m) => m.type)).toEqual(["snapshot"]);
    expect(c.lastEventId).toBe(9);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]?.closedWith).toBeNull();
    latest().serverSends(beat(2)); // the server's interval changed: follow it
    expect(timers.delays).toEqual([5_000]);
  });

  it("never cuts a silent stream of a server that announces no heartbeat", () => {
    const c = client();
    c.start();
    latest().serverOpens();
    latest().serverSends({ id: 9, type: "snapshot", data: snapshot() });
    expect(c.idleLimitMs).toBeNull();
    expect(timers.delays).toEqual([]);
  });
});
