import { describe, expect, it } from "vitest";
import { INITIAL_LIVE, LiveStore, receive, secondsSince } from "../src/live/store";
import { event, figures, snapshot } from "./fixtures";

describe("receive", () => {
  it("takes a snapshot whole and notes when each queue's figures came", () => {
    const state = receive(INITIAL_LIVE, { id: 5, type: "snapshot", at: 1010, data: snapshot() }, 1000);
    expect(state.snapshot).toEqual(snapshot());
    expect(state.queueReceivedAt).toEqual({ q1: 1000 });
    expect(state.clockOffset).toBe(10);
  });

  it("applies events to the snapshot it holds", () => {
    const first = receive(INITIAL_LIVE, { id: 5, type: "snapshot", data: snapshot() }, 1000);
    const next = receive(first, event("queue.figures", { queue: figures("q1", { waiting: 3 }) }, 6, 1500), 1490);
    expect(next.snapshot?.queues[0]?.waiting).toBe(3);
    expect(next.queueReceivedAt.q1).toBe(1490);
  });

  it("keeps nothing of events that come before any snapshot", () => {
    const state = receive(INITIAL_LIVE, event("queue.figures", { queue: figures("q1") }), 1000);
    expect(state.snapshot).toBeNull();
  });
});

describe("secondsSince", () => {
  it("counts by the server's clock and never goes below zero", () => {
    expect(secondsSince(1000, 1050, 5)).toBe(55);
    expect(secondsSince(1000, 990, 0)).toBe(0);
  });
});

describe("LiveStore", () => {
  it("tells subscribers of changes and event listeners of each event, until they unsubscribe", () => {
    const store = new LiveStore(() => 1000);
    let changes = 0;
    const seen: string[] = [];
    const unsubscribe = store.subscribe(() => changes++);
    const off = store.onEvent((e) => seen.push(e.type));
    store.handle({ id: 1, type: "snapshot", data: snapshot() });
    store.handle(event("contact.offered", { contact_id: "c1", username: "anna", queue: "q1" }, 2));
    unsubscribe();
    off();
    store.handle(event("contact.ended", { contact_id: "c1", outcome: null }, 3));
    expect(changes).toBe(2);
    expect(seen).toEqual(["contact.offered"]);
  });
});
