// The agent desktop's reading of the event stream: which offer is ringing for this agent. Pure.

import type { AgentState } from "../api/types";
import type { LiveEvent } from "../live/protocol";

export interface Offer {
  contact_id: string;
  queue: string | null;
  /** undefined until known: the feed does not carry it (the screen pop, an audited read, does) */
  caller_number?: string | null;
  callback: boolean;
}

/**
 * The offer ringing for `username` after `event`. An offer starts with contact.offered for this
 * agent and ends when it is withdrawn, answered or ended, or when the agent's state moves off
 * "reserved" (the router took it back, e.g. after the offer timed out).
 */
export function trackOffer(offer: Offer | null, event: LiveEvent, username: string): Offer | null {
  switch (event.type) {
    case "contact.offered":
      if (event.data.username !== username) return offer;
      return {
        contact_id: event.data.contact_id,
        queue: event.data.queue ?? null,
        caller_number: event.data.caller_number ?? null,
        callback: event.data.callback === true || (offer?.contact_id === event.data.contact_id && offer.callback),
      };
    case "offer.withdrawn":
    case "contact.answered":
    case "contact.ended":
      return offer !== null && event.data.contact_id === offer.contact_id ? null : offer;
    case "agent.state":
      return event.data.username === username && event.data.state !== "reserved" ? null : offer;
    default:
      return offer;
  }
}

/** States in which the agent chooses what comes next (and F8 toggles ready / not ready). */
export function toggledState(state: AgentState): "ready" | "not_ready" | null {
  if (state === "ready") return "not_ready";
  if (state === "not_ready" || state === "logged_out" || state === "offline") return "ready";
  return null; // ringing, on a call or in wrap-up: the router's states, not the agent's to toggle
}
