import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api/client";
import { translate } from "../src/i18n";
import { en } from "../src/i18n/en";
import { describeError } from "../src/lib/errors";
import { formatDuration, formatPercent } from "../src/lib/format";
import { longestWaitLevel, queueLevel, serviceLevelLevel, waitingLevel, worst } from "../src/lib/thresholds";
import { agentsFor, groupByTopic, longestWaitNow } from "../src/lib/wallboard";
import { preferPcmu } from "../src/softphone/codecs";
import { agent, figures } from "./fixtures";

const t = (key: keyof typeof en, params?: Record<string, string | number>) => translate(en, key, params);

describe("preferPcmu", () => {
  it("puts PCMU first, then PCMA, and keeps the rest in the browser's order", () => {
    const codecs = [
      { mimeType: "audio/opus", clockRate: 48000 },
      { mimeType: "audio/G722", clockRate: 8000 },
      { mimeType: "audio/PCMA", clockRate: 8000 },
      { mimeType: "audio/PCMU", clockRate: 8000 },
      { mimeType: "audio/telephone-event", clockRate: 8000 },
    ];
    expect(preferPcmu(codecs).map((c) => c.mimeType)).toEqual([
      "audio/PCMU",
      "audio/PCMA",
      "audio/opus",
      "audio/G722",
      "audio/telephone-event",
    ]);
  });
});

describe("formatting", () => {
  it("shows durations as m:ss and h:mm:ss, and a dash for none", () => {
    expect(formatDuration(7)).toBe("0:07");
    expect(formatDuration(245.9)).toBe("4:05");
    expect(formatDuration(3723)).toBe("1:02:03");
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(-3)).toBe("0:00");
  });

  it("shows shares as whole percents", () => {
    expect(formatPercent(0.8, "en-GB")).toBe("80%");
    expect(formatPercent(null, "en-GB")).toBe("—");
  });
});

describe("thresholds", () => {
  it("colours the service level against the 80% goal", () => {
    expect(serviceLevelLevel(0.85)).toBe("ok");
    expect(serviceLevelLevel(0.7)).toBe("warn");
    expect(serviceLevelLevel(0.4)).toBe("alarm");
    expect(serviceLevelLevel(null)).toBe("ok");
  });

  it("colours the longest wait against the target, red past three times it", () => {
    expect(longestWaitLevel(20, 20)).toBe("ok");
    expect(longestWaitLevel(45, 20)).toBe("warn");
    expect(longestWaitLevel(61, 20)).toBe("alarm");
  });

  it("turns red when callers wait and no agent for them is ready", () => {
    expect(waitingLevel({ waiting: 0, agents: {} })).toBe("ok");
    expect(waitingLevel({ waiting: 2, agents: { ready: 1 } })).toBe("warn");
    expect(waitingLevel({ waiting: 2, agents: { busy: 3 } })).toBe("alarm");
  });

  it("gives a tile the worst of its figures, preferring the last 30 minutes' service level", () => {
    expect(worst("ok", "warn", "ok")).toBe("warn");
    const calm = figures("q1", { service_level_today: 0.5, service_level_30min: 0.95, agents: { ready: 1 } });
    expect(queueLevel(calm, 0)).toBe("ok");
    expect(queueLevel(figures("q1", { waiting: 1, agents: { ready: 2 }, sl_target_seconds: 10 }), 35)).toBe("alarm");
  });
});

describe("wallboard grouping", () => {
  it("groups queues by topic, topics by their names, then queues of none, queues by name", () => {
    const groups = groupByTopic([
      figures("b", { name: "B", topic: "medicine", topic_name: "Medical help" }),
      figures("x", { name: "X" }),
      figures("a", { name: "A", topic: "medicine", topic_name: "Medical help" }),
      figures("c", { name: "C", topic: "food", topic_name: "Food parcels" }),
      figures("d", { name: "D", topic: "plasma" }),
    ]);
    expect(groups.map((g) => [g.topic, g.name, g.queues.map((q) => q.name)])).toEqual([
      ["food", "Food parcels", ["C"]],
      ["medicine", "Medical help", ["A", "B"]],
      ["plasma", "plasma", ["D"]],
      [null, null, ["X"]],
    ]);
  });

  it("lists the agents serving the chosen queues, by name", () => {
    const agents = [agent("zoe", { name: "Zoe", queues: ["a"] }), agent("al", { name: "Al", queues: ["b"] })];
    expect(agentsFor(agents, null).map((a) => a.name)).toEqual(["Al", "Zoe"]);
    expect(agentsFor(agents, new Set(["a"])).map((a) => a.name)).toEqual(["Zoe"]);
  });

  it("ticks the longest wait only while someone waits", () => {
    expect(longestWaitNow(figures("q", { waiting: 2, longest_wait_seconds: 30 }), 100, 105)).toBe(35);
    expect(longestWaitNow(figures("q", { waiting: 0, longest_wait_seconds: 30 }), 100, 105)).toBe(0);
  });
});

describe("describeError", () => {
  it("says how long to wait after too many sign-in attempts", () => {
    const error = new ApiError(429, "too_many_attempts", "slow down", {}, 125);
    expect(describeError(error, t).text).toBe("Too many attempts. Try again in 2:05.");
    expect(describeError(new ApiError(429, "too_many_attempts", "x"), t).text).toBe(en["error.too_many_attempts_later"]);
  });

  it("lists field problems of invalid input", () => {
    const error = new ApiError(422, "invalid_input", "bad", {
      problems: [{ loc: ["body", "new_password"], message: "too short" }],
    });
    expect(describeError(error, t)).toEqual({
      text: en["error.invalid_input"],
      problems: ["new_password: too short"],
    });
  });

  it("shows the server's own message for a code the app does not know", () => {
    expect(describeError(new ApiError(409, "stale_version", "someone saved first"), t).text).toBe(
      "Error: someone saved first",
    );
  });
});
