// The reports page's data shaping (src/lib/reports.ts) and chart scales, on tables shaped as the
// server answers them (docs/reports.md).

import { describe, expect, it } from "vitest";
import { niceScale } from "../src/components/reports/Charts";
import {
  barsOf,
  cellKind,
  centreRows,
  downloadUrl,
  formGroups,
  hourBars,
  intervalLabel,
  lastDay,
  localDate,
  reportPaths,
  rowsOf,
  serviceSeries,
  summaryOf,
  total,
  type Report,
  type ReportTable,
} from "../src/lib/reports";

const period = { report: "x", from: "2025-03-04T00:00:00+03:00", to: "2025-03-05T00:00:00+03:00", timezone: "Europe/Moscow" };

const service: ReportTable = {
  name: "service_by_interval",
  columns: ["interval", "queue", "offered", "service_level", "abandon_rate", "asa_seconds"],
  rows: [
    ["2025-03-04T12:15:00+03:00", "*", 3, 0.5, 0.25, 12.5],
    ["2025-03-04T12:00:00+03:00", "medical", 4, 0.25, 0.5, 15],
    ["2025-03-04T12:00:00+03:00", "*", 4, 0.25, 0.5, 15],
  ],
};

describe("report paths", () => {
  it("ask each report for the period, and the weekly summary for the week of its first day", () => {
    const paths = reportPaths({ from: "2025-03-04", to: "2025-03-06", interval: 1800 });
    expect(paths.contactsByTopic).toBe("/reports/contacts?from=2025-03-04&to=2025-03-06&by=topic");
    expect(paths.service).toBe("/reports/service?from=2025-03-04&to=2025-03-06&interval=1800&by_queue=false");
    expect(paths.forms).toBe("/reports/forms?from=2025-03-04&to=2025-03-06");
    expect(paths.weekly).toBe("/reports/weekly?date=2025-03-04");
  });

  it("download the same report as a file", () => {
    expect(downloadUrl("/reports/agents?from=2025-03-04&to=2025-03-04", "csv")).toBe(
      "/api/v1/reports/agents?from=2025-03-04&to=2025-03-04&format=csv",
    );
    expect(downloadUrl("/reports/day", "xlsx")).toBe("/api/v1/reports/day?format=xlsx");
  });
});

describe("tables", () => {
  it("read as rows by column name, bars and totals", () => {
    const topics: ReportTable = { name: "contacts_by_topic", columns: ["topic", "contacts"], rows: [["covid", 2], [null, 1]] };
    expect(rowsOf(topics)).toEqual([{ topic: "covid", contacts: 2 }, { topic: null, contacts: 1 }]);
    expect(barsOf(topics, "topic", "contacts", "none")).toEqual([
      { label: "covid", value: 2 },
      { label: "none", value: 1 },
    ]);
    expect(total(topics, "contacts")).toBe(3);
    expect(rowsOf(undefined)).toEqual([]);
  });

  it("give every hour of the day, zero where no contact came", () => {
    const hours = hourBars({ name: "contacts_by_hour", columns: ["hour", "contacts"], rows: [[12, 4], [9, 1]] });
    expect(hours).toHaveLength(24);
    expect(hours[9]).toEqual({ label: "09", value: 1 });
    expect(hours[12]).toEqual({ label: "12", value: 4 });
    expect(hours[13]?.value).toBe(0);
  });

  it("chart the centre's intervals in time order, in the zone's local time", () => {
    expect(centreRows(service).map((r) => r.offered)).toEqual([4, 3]);
    expect(serviceSeries(service, "service_level")).toEqual([
      { label: "12:00", value: 0.25 },
      { label: "12:15", value: 0.5 },
    ]);
    expect(intervalLabel("2025-03-04T23:45:00+03:00", true)).toBe("03-04 23:45");
  });

  it("format columns by what they hold", () => {
    expect(cellKind("service_level")).toBe("ratio");
    expect(cellKind("occupancy")).toBe("ratio");
    expect(cellKind("aht_seconds")).toBe("seconds");
    expect(cellKind("interval")).toBe("interval");
    expect(cellKind("topic")).toBe("text");
  });

  it("read the weekly summary's figures by name", () => {
    const weekly: Report = { ...period, tables: [{ name: "summary", columns: ["figure", "value"], rows: [["calls", 7], ["service_level", 0.8]] }] };
    const figures = summaryOf(weekly);
    expect(figures.get("calls")).toBe(7);
    expect(figures.get("service_level")).toBe(0.8);
  });
});

describe("form answers", () => {
  const report: Report = {
    ...period,
    tables: [
      { name: "forms", columns: ["form", "form_version", "name", "topic", "submitted"], rows: [["survey", 1, "Survey", "medical", 2], ["survey", 1, "Survey", null, 1]] },
      {
        name: "answers_by_field",
        columns: ["form", "form_version", "topic", "field", "title", "kind", "value", "label", "answers", "min", "max", "mean"],
        rows: [
          ["survey", 1, "medical", "age", "Age", "number", null, null, 2, 30, 70, 50],
          ["survey", 1, "medical", "help", "Need", "choice", null, null, 2, null, null, null],
          ["survey", 1, "medical", "help", "Need", "choice", "doctor", "Doctor at home", 1, null, null, null],
          ["survey", 1, "medical", "help", "Need", "choice", "advice", null, 1, null, null, null],
          ["survey", 1, "medical", "risk", "Risk", "boolean", null, null, 1, null, null, null],
          ["survey", 1, "medical", "risk", "Risk", "boolean", "true", null, 1, null, null, null],
          ["survey", 1, null, "age", "Age", "number", null, null, 1, 41, 41, 41],
          ["other", 3, "medical", "x", "X", "filled", null, null, 5, null, null, null],
        ],
      },
    ],
  };

  it("group per form version and topic, fields in the server's order, values as bars", () => {
    const groups = formGroups(report);
    expect(groups.map((g) => [g.form, g.version, g.topic, g.submitted])).toEqual([
      ["survey", 1, "medical", 2],
      ["survey", 1, null, 1],
    ]);
    const [medical, none] = groups;
    expect(medical?.fields.map((f) => f.field)).toEqual(["age", "help", "risk"]);
    const age = medical?.fields[0];
    expect([age?.answers, age?.min, age?.max, age?.mean]).toEqual([2, 30, 70, 50]);
    expect(medical?.fields[1]?.values).toEqual([
      { label: "Doctor at home", value: 1 },
      { label: "advice", value: 1 },
    ]);
    expect(medical?.fields[1]?.answers).toBe(2);
    expect(medical?.fields[2]?.values).toEqual([{ label: "true", value: 1 }]);
    expect(none?.fields[0]?.mean).toBe(41);
  });

  it("are empty without a report", () => {
    expect(formGroups(undefined)).toEqual([]);
  });
});

describe("charts", () => {
  it("scale to round numbers at or above the largest value", () => {
    expect(niceScale(7)).toEqual({ top: 8, step: 2 });
    expect(niceScale(100)).toEqual({ top: 100, step: 25 });
    expect(niceScale(0)).toEqual({ top: 1, step: 0.25 });
    expect(niceScale(3)).toEqual({ top: 3, step: 1 });
  });

  it("name a period's last day, the day before its exclusive end", () => {
    expect(lastDay("2025-03-10T00:00:00+03:00")).toBe("2025-03-09");
    expect(lastDay("2025-03-01T00:00:00+03:00")).toBe("2025-02-28");
  });

  it("default to the browser's date", () => {
    expect(localDate(new Date(2025, 2, 4, 23, 59))).toBe("2025-03-04");
  });
});
