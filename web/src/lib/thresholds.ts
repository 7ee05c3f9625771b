// When a wallboard figure turns amber or red. One place, so supervisors can argue with it.
// Colours are always paired with a word on screen (not colour alone).

import type { QueueFigures } from "../api/types";

export type Level = "ok" | "warn" | "alarm";

/** The service-level goal: the share of contacts answered within the queue's target time. */
export const SL_GOAL = 0.8;
/** Below this share the tile turns red. */
export const SL_ALARM = 0.6;
/** The queue's target answer time when the server does not send one (the config's default). */
export const DEFAULT_SL_TARGET_SECONDS = 20;

export function serviceLevelLevel(share: number | null | undefined): Level {
  if (share === null || share === undefined) return "ok";
  if (share >= SL_GOAL) return "ok";
  return share >= SL_ALARM ? "warn" : "alarm";
}

/** Longest wait against the target: past it amber, past three times it red. */
export function longestWaitLevel(seconds: number, targetSeconds: number): Level {
  if (seconds <= targetSeconds) return "ok";
  return seconds <= 3 * targetSeconds ? "warn" : "alarm";
}

/** Callers waiting while no agent who may take them is ready: red; waiting at all: amber. */
export function waitingLevel(figures: Pick<QueueFigures, "waiting" | "agents">): Level {
  if (figures.waiting === 0) return "ok";
  return (figures.agents.ready ?? 0) > 0 ? "warn" : "alarm";
}

const ORDER: Record<Level, number> = { ok: 0, warn: 1, alarm: 2 };

export function worst(...levels: Level[]): Level {
  return levels.reduce<Level>((a, b) => (ORDER[b] > ORDER[a] ? b : a), "ok");
}

/** The tile's overall level, with the longest wait as it is now (ticking since the figures came). */
export function queueLevel(figures: QueueFigures, longestWaitNow: number): Level {
  const target = figures.sl_target_seconds ?? DEFAULT_SL_TARGET_SECONDS;
  return worst(
    waitingLevel(figures),
    longestWaitLevel(longestWaitNow, target),
    serviceLevelLevel(figures.service_level_30min ?? figures.service_level_today),
  );
}
