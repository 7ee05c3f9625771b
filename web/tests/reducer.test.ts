import { describe, expect, it } from "vitest";
import { apply, applyAll } from "../src/live/reducer";
import { agent, event, figures, snapshot } from "./fixtures";

describe("apply", () => {
  it("moves an agent to the state the event gives", () => {
    const before = snapshot();
    const after = apply(
      before,
      event("agent.state", { username: "anna", state: "busy", reason: null, since: 1500, contact_id: "c1" }),
    );
    expect(after.agents).toEqual([agent("anna", { state: "busy", since: 1500, contact_id: "c1" })]);
  });

  it("keeps the agent's name and queues, which the event does not carry", () => {
    const before = snapshot({ agents: [agent("anna", { name: "Anna K.", queues: ["q1", "q2"] })] });
    const after = apply(
      before,
      event("agent.state", { username: "anna", state: "not_ready", reason: "break", since: 1600, contact_id: null }),
    );
    expect(after.agents[0]).toMatchObject({ name: "Anna K.", queues: ["q1", "q2"], reason: "break" });
  });

  it("adds an agent it has not seen, named by username until a snapshot names them", () => {
    const after = apply(
      snapshot(),
      event("agent.state", { username: "boris", state: "ready", reason: null, since: 1700, contact_id: null }),
    );
    expect(after.agents.map((a) => a.username)).toEqual(["anna", "boris"]);
    expect(after.agents[1]).toMatchObject({ name: "boris", queues: [] });
  });

  it("takes name and queues from an event that carries the whole row", () => {
    const after = apply(
      snapshot(),
      event("agent.state", {
        username: "boris",
        state: "ready",
        reason: null,
        since: 1700,
        contact_id: null,
        name: "Boris P.",
        queues: ["q2"],
      }),
    );
    expect(after.agents[1]).toEqual(agent("boris", { name: "Boris P.", since: 1700, queues: ["q2"] }));
  });

  it("replaces a queue's figures in place and appends a new queue's", () => {
    const before = snapshot({ queues: [figures("q1"), figures("q2")] });
    const replaced = apply(before, event("queue.figures", { queue: figures("q1", { waiting: 4 }) }));
    expect(replaced.queues.map((q) => [q.queue_id, q.waiting])).toEqual([
      ["q1", 4],
      ["q2", 0],
    ]);
    const appended = apply(replaced, event("queue.figures", { queue: figures("q3", { waiting: 1 }) }));
    expect(appended.queues.map((q) => q.queue_id)).toEqual(["q1", "q2", "q3"]);
  });

  it("leaves the snapshot as it is for contact events", () => {
    const before = snapshot();
    expect(apply(before, event("contact.offered", { contact_id: "c1", username: "anna", queue: "q1" }))).toBe(before);
    expect(apply(before, event("contact.answered", { contact_id: "c1" }))).toBe(before);
    expect(apply(before, event("contact.ended", { contact_id: "c1", outcome: "answered" }))).toBe(before);
    expect(apply(before, event("offer.withdrawn", { contact_id: "c1" }))).toBe(before);
  });

  it("never changes the snapshot it is given", () => {
    const before = snapshot({ queues: [figures("q1")], agents: [agent("anna")] });
    const frozen = JSON.stringify(before);
    apply(before, event("agent.state", { username: "anna", state: "busy", reason: null, since: 2, contact_id: "c" }));
    apply(before, event("queue.figures", { queue: figures("q1", { waiting: 9 }) }));
    expect(JSON.stringify(before)).toBe(frozen);
  });

  it("turns an old snapshot plus the events of one call into the fresh snapshot", () => {
    const old = snapshot({
      queues: [figures("q1"), figures("q2", { waiting: 2 })],
      agents: [agent("anna"), agent("boris", { state: "not_ready", reason: "lunch" })],
    });
    const events = [
      event("queue.figures", { queue: figures("q1", { waiting: 1, longest_wait_seconds: 3 }) }),
      event("contact.offered", { contact_id: "c9", username: "anna", queue: "q1", caller_number: "+7 900" }),
      event("agent.state", { username: "anna", state: "reserved", reason: null, since: 2001, contact_id: "c9" }),
      event("contact.answered", { contact_id: "c9", username: "anna" }),
      event("agent.state", { username: "anna", state: "busy", reason: null, since: 2005, contact_id: "c9" }),
      event("queue.figures", { queue: figures("q1", { waiting: 0, answered_today: 1, offered_today: 1 }) }),
      event("agent.state", { username: "boris", state: "ready", reason: null, since: 2010, contact_id: null }),
    ];
    const fresh = snapshot({
      queues: [figures("q1", { answered_today: 1, offered_today: 1 }), figures("q2", { waiting: 2 })],
      agents: [
        agent("anna", { state: "busy", since: 2005, contact_id: "c9" }),
        agent("boris", { state: "ready", since: 2010 }),
      ],
    });
    expect(applyAll(old, events)).toEqual(fresh);
  });
});
