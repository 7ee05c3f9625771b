import { describe, expect, it } from "vitest";
import { toggledState, trackOffer, type Offer } from "../src/lib/desk";
import { shortcutFor, type KeyLike } from "../src/lib/shortcuts";
import { event } from "./fixtures";

const ringing: Offer = { contact_id: "c1", queue: "covid", caller_number: "+79001234567", callback: false };

describe("trackOffer", () => {
  it("rings on an offer to this agent and not on one to another", () => {
    const offered = event("contact.offered", { contact_id: "c1", username: "anna", queue: "covid", caller_number: "+79001234567" });
    expect(trackOffer(null, offered, "anna")).toEqual(ringing);
    expect(trackOffer(null, offered, "boris")).toBeNull();
  });

  it("says a callback is a callback, from the offer's own flag", () => {
    const callback = event("contact.offered", { contact_id: "c2", username: "anna", queue: "covid", callback: true });
    const plain = event("contact.offered", { contact_id: "c3", username: "anna", queue: "covid", callback: false });
    expect(trackOffer(null, callback, "anna")?.callback).toBe(true);
    expect(trackOffer(null, plain, "anna")?.callback).toBe(false);
  });

  it("stops ringing when the offer is withdrawn, answered or ended", () => {
    expect(trackOffer(ringing, event("offer.withdrawn", { contact_id: "c1" }), "anna")).toBeNull();
    expect(trackOffer(ringing, event("contact.answered", { contact_id: "c1" }), "anna")).toBeNull();
    expect(trackOffer(ringing, event("contact.ended", { contact_id: "c1", outcome: "abandoned" }), "anna")).toBeNull();
  });

  it("keeps ringing through events of other contacts", () => {
    expect(trackOffer(ringing, event("contact.ended", { contact_id: "c2", outcome: null }), "anna")).toBe(ringing);
  });

  it("stops ringing when this agent's state leaves reserved, not when it enters it", () => {
    const reserved = event("agent.state", { username: "anna", state: "reserved", reason: null, since: 1, contact_id: "c1" });
    const notReady = event("agent.state", { username: "anna", state: "not_ready", reason: "no answer", since: 2, contact_id: null });
    const other = event("agent.state", { username: "boris", state: "ready", reason: null, since: 2, contact_id: null });
    expect(trackOffer(ringing, reserved, "anna")).toBe(ringing);
    expect(trackOffer(ringing, other, "anna")).toBe(ringing);
    expect(trackOffer(ringing, notReady, "anna")).toBeNull();
  });
});

describe("toggledState", () => {
  it("toggles between ready and not ready and leaves the router's states alone", () => {
    expect(toggledState("ready")).toBe("not_ready");
    expect(toggledState("not_ready")).toBe("ready");
    expect(toggledState("logged_out")).toBe("ready");
    expect(toggledState("busy")).toBeNull();
    expect(toggledState("reserved")).toBeNull();
    expect(toggledState("wrap_up")).toBeNull();
  });
});

describe("shortcutFor", () => {
  const key = (code: string, key: string, mods: Partial<KeyLike> = {}): KeyLike => ({
    code,
    key,
    ctrlKey: false,
    altKey: false,
    metaKey: false,
    shiftKey: false,
    ...mods,
  });

  it("maps F2 and Ctrl+Enter to answer, F4 to hang up, F8 to ready", () => {
    expect(shortcutFor(key("F2", "F2"), false)).toBe("answer");
    expect(shortcutFor(key("Enter", "Enter", { ctrlKey: true }), true)).toBe("answer");
    expect(shortcutFor(key("F4", "F4"), true)).toBe("hangup");
    expect(shortcutFor(key("F8", "F8"), false)).toBe("toggleReady");
  });

  it("leaves the browser's own keys and modified function keys alone", () => {
    expect(shortcutFor(key("F5", "F5"), false)).toBeNull();
    expect(shortcutFor(key("F4", "F4", { altKey: true }), false)).toBeNull();
    expect(shortcutFor(key("Enter", "Enter"), false)).toBeNull();
    expect(shortcutFor(key("F2", "F2", { repeat: true }), false)).toBeNull();
  });

  it("shows help on ? unless typing in a field", () => {
    expect(shortcutFor(key("Slash", "?", { shiftKey: true }), false)).toBe("help");
    expect(shortcutFor(key("Slash", "?", { shiftKey: true }), true)).toBeNull();
  });
});
