// The reports page's data: the server's report tables (/api/v1/reports/*, docs/reports.md) turned
// into what the page draws: rows by column name, chart series, form answers grouped by field,
// cells formatted by what their column holds, and the links that download a report as a file.
// Pure functions, so vitest checks them without a browser.

import { API_PREFIX } from "../api/client";

export interface ReportTable {
  name: string;
  columns: string[];
  rows: unknown[][];
}

export interface Report {
  report: string;
  from: string;
  to: string;
  timezone: string;
  tables: ReportTable[];
}

export type Row = Record<string, unknown>;
export type Interval = 900 | 1800 | 3600;
export type FileFormat = "csv" | "xlsx";

/** What the page asks for: a period of local dates (both included) and an interval. */
export interface ReportQuery {
  from: string;
  to: string;
  interval: Interval;
}

/** Each report the page shows, by the path under /api/v1/reports and its query. */
export function reportPaths(q: ReportQuery) {
  const period = { from: q.from, to: q.to };
  return {
    contactsByTopic: reportPath("contacts", { ...period, by: "topic" }),
    contactsByQueue: reportPath("contacts", { ...period, by: "queue" }),
    contactsByHour: reportPath("contacts", { ...period, by: "hour" }),
    contactsByDay: reportPath("contacts", { ...period, by: "day" }),
    service: reportPath("service", { ...period, interval: String(q.interval), by_queue: "false" }),
    agents: reportPath("agents", period),
    forms: reportPath("forms", period),
    requestsByCategory: reportPath("requests", { ...period, by: "category" }),
    requestsByDistrict: reportPath("requests", { ...period, by: "district" }),
    requestsByStatus: reportPath("requests", { ...period, by: "status" }),
    weekly: reportPath("weekly", { date: q.from }),
  };
}

/** `/reports/<name>?<params>`, for ApiClient.request (which puts /api/v1 in front). */
export function reportPath(name: string, params: Record<string, string>): string {
  const query = new URLSearchParams(params).toString();
  return `/reports/${name}${query ? `?${query}` : ""}`;
}

/** The address that downloads a report path as a CSV or XLSX file (same origin, the cookie). */
export function downloadUrl(path: string, format: FileFormat): string {
  const joiner = path.includes("?") ? "&" : "?";
  return `${API_PREFIX}${path}${joiner}format=${format}`;
}

/** A table of a report by its name (the first table when no name is given). */
export function tableOf(report: Report | undefined, name?: string): ReportTable | undefined {
  if (!report) return undefined;
  return name === undefined ? report.tables[0] : report.tables.find((t) => t.name === name);
}

/** The table's rows as objects keyed by column name. */
export function rowsOf(table: ReportTable | undefined): Row[] {
  if (!table) return [];
  return table.rows.map((row) => Object.fromEntries(table.columns.map((c, i) => [c, row[i]])));
}

export interface Bar {
  label: string;
  value: number;
}

/** Bars from a table: the label column and a numeric column (missing labels shown as `none`). */
export function barsOf(table: ReportTable | undefined, label: string, value: string, none = "—"): Bar[] {
  return rowsOf(table).map((row) => ({
    label: row[label] === null || row[label] === undefined || row[label] === "" ? none : String(row[label]),
    value: toNumber(row[value]) ?? 0,
  }));
}

/** Every hour of the day 0-23, with the table's counts (hours without contacts are zero). */
export function hourBars(table: ReportTable | undefined, value = "contacts"): Bar[] {
  const counts = new Map(rowsOf(table).map((row) => [Number(row.hour), toNumber(row[value]) ?? 0]));
  return Array.from({ length: 24 }, (_, hour) => ({
    label: String(hour).padStart(2, "0"),
    value: counts.get(hour) ?? 0,
  }));
}

export interface Point {
  label: string;
  value: number | null;
}

/** The centre's ("*") row of each interval of the service table, in time order. */
export function centreRows(table: ReportTable | undefined): Row[] {
  return rowsOf(table)
    .filter((row) => row.queue === "*")
    .sort((a, b) => String(a.interval).localeCompare(String(b.interval)));
}

/** A line of one column over the centre's intervals, labelled by local time (HH:MM; with the
 * date in front when the period spans several days). */
export function serviceSeries(table: ReportTable | undefined, column: string): Point[] {
  const rows = centreRows(table);
  const days = new Set(rows.map((r) => String(r.interval).slice(0, 10)));
  return rows.map((row) => ({
    label: intervalLabel(String(row.interval), days.size > 1),
    value: toNumber(row[column]),
  }));
}

/** "2025-03-04T12:15:00+03:00" → "12:15" (or "03-04 12:15" with the date): the zone's own local
 * time, as the server wrote it, whatever the browser's zone. */
export function intervalLabel(iso: string, withDate = false): string {
  const time = iso.slice(11, 16);
  return withDate ? `${iso.slice(5, 10)} ${time}` : time;
}

export interface FieldAnswers {
  field: string;
  title: string;
  kind: string;
  /** choice, choices, boolean: a bar per value. */
  values: Bar[];
  /** How many answered the field; numbers also have min, max and mean. */
  answers: number;
  min: number | null;
  max: number | null;
  mean: number | null;
}

export interface FormGroup {
  key: string;
  form: string;
  version: number;
  topic: string | null;
  name: string;
  submitted: number;
  fields: FieldAnswers[];
}

/** The forms report as a group per form version and topic, each with its fields in the
 * server's order (the form's own), and a field's values as bars. */
export function formGroups(report: Report | undefined): FormGroup[] {
  const groups = new Map<string, FormGroup>();
  const keyOf = (form: unknown, version: unknown, topic: unknown) =>
    `${String(form)}\u0000${String(version)}\u0000${topic === null ? "" : String(topic)}`;
  for (const row of rowsOf(tableOf(report, "forms"))) {
    const key = keyOf(row.form, row.form_version, row.topic);
    groups.set(key, {
      key,
      form: String(row.form),
      version: Number(row.form_version),
      topic: row.topic === null || row.topic === undefined ? null : String(row.topic),
      name: String(row.name ?? ""),
      submitted: toNumber(row.submitted) ?? 0,
      fields: [],
    });
  }
  for (const row of rowsOf(tableOf(report, "answers_by_field"))) {
    const group = groups.get(keyOf(row.form, row.form_version, row.topic));
    if (!group) continue;
    let field = group.fields.find((f) => f.field === row.field);
    if (!field) {
      field = {
        field: String(row.field),
        title: String(row.title ?? row.field),
        kind: String(row.kind),
        values: [],
        answers: 0,
        min: toNumber(row.min),
        max: toNumber(row.max),
        mean: toNumber(row.mean),
      };
      group.fields.push(field);
    }
    const count = toNumber(row.answers) ?? 0;
    // The row without a value: how many answered the field; then a row per value, if any.
    if (row.value === null || row.value === undefined) field.answers = count;
    else field.values.push({ label: String(row.label || row.value), value: count });
  }
  return [...groups.values()];
}

/** The last day of a period the server gives as [from, to): "2025-03-10T00:00:00+03:00" → the
 * day before, "2025-03-09". */
export function lastDay(to: string): string {
  const [year, month, day] = to.slice(0, 10).split("-").map(Number);
  const date = new Date(Date.UTC(year ?? 1970, (month ?? 1) - 1, (day ?? 1) - 1));
  return date.toISOString().slice(0, 10);
}

/** The weekly summary's figures by name. */
export function summaryOf(report: Report | undefined): Map<string, unknown> {
  return new Map(
    (tableOf(report, "summary")?.rows ?? []).map((row) => [String(row[0]), row[1]] as [string, unknown]),
  );
}

/** The sum of a column over a table's rows. */
export function total(table: ReportTable | undefined, column: string): number {
  return rowsOf(table).reduce((sum, row) => sum + (toNumber(row[column]) ?? 0), 0);
}

export type CellKind = "ratio" | "seconds" | "interval" | "number" | "text";

/** How a column's cells read: shares as percent, durations as m:ss, interval starts as times. */
export function cellKind(column: string): CellKind {
  if (["service_level", "abandon_rate", "occupancy", "share_done_within_sla"].includes(column)) return "ratio";
  if (column.endsWith("_seconds")) return "seconds";
  if (column === "interval") return "interval";
  if (["mean", "min", "max"].includes(column)) return "number";
  return "text";
}

export function toNumber(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return null;
}

/** Today's date in the browser, as YYYY-MM-DD (the period's default). */
export function localDate(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}
