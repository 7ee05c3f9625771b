// Pure helpers of the administration pages: reading a unified diff, placing problems on lines,
// naming prompts, and the first-login credentials sheet (printed, so every value is escaped).

import { ApiError } from "../../api/client";
import type { Credentials, DraftProblem, RowProblem } from "./adminApi";

export type DiffKind = "file" | "hunk" | "add" | "del" | "same";

export interface DiffLine {
  kind: DiffKind;
  text: string;
  /** The line's number in the old text (del, same) and in the new one (add, same). */
  oldLine: number | null;
  newLine: number | null;
}

/** A unified diff (as the server makes it) as lines to show, numbered on both sides. */
export function parseDiff(diff: string): DiffLine[] {
  const out: DiffLine[] = [];
  let oldLine = 0;
  let newLine = 0;
  for (const raw of diff.split("\n")) {
    if (raw === "") continue;
    if (raw.startsWith("--- ") || raw.startsWith("+++ ")) {
      out.push({ kind: "file", text: raw, oldLine: null, newLine: null });
      continue;
    }
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
    if (hunk) {
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[2]);
      out.push({ kind: "hunk", text: raw, oldLine: null, newLine: null });
    } else if (raw.startsWith("+")) {
      out.push({ kind: "add", text: raw.slice(1), oldLine: null, newLine: newLine++ });
    } else if (raw.startsWith("-")) {
      out.push({ kind: "del", text: raw.slice(1), oldLine: oldLine++, newLine: null });
    } else if (!raw.startsWith("\\")) {
      out.push({ kind: "same", text: raw.slice(1), oldLine: oldLine++, newLine: newLine++ });
    }
  }
  return out;
}

/** How many lines a diff adds and removes. */
export function diffStats(lines: DiffLine[]): { added: number; removed: number } {
  return {
    added: lines.filter((l) => l.kind === "add").length,
    removed: lines.filter((l) => l.kind === "del").length,
  };
}

/** Problems by the line they are on (problems about no line are left out). */
export function problemsByLine(problems: DraftProblem[]): Map<number, DraftProblem[]> {
  const found = new Map<number, DraftProblem[]>();
  for (const problem of problems) {
    if (problem.line === null) continue;
    found.set(problem.line, [...(found.get(problem.line) ?? []), problem]);
  }
  return found;
}

/** Where line `line` (1-based) starts in `text`, for putting the cursor on a problem. */
export function lineOffset(text: string, line: number): number {
  let offset = 0;
  for (let n = 1; n < line; n++) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return offset;
}

/** The problems a publish was refused for (422 invalid_configuration), or null for other errors. */
export function draftProblems(error: unknown): DraftProblem[] | null {
  if (!(error instanceof ApiError) || error.code !== "invalid_configuration") return null;
  const problems = error.details.problems;
  if (!Array.isArray(problems)) return [{ line: null, path: "", message: error.message }];
  return problems.map((p: Partial<DraftProblem>) => ({
    line: typeof p.line === "number" ? p.line : null,
    path: typeof p.path === "string" ? p.path : "",
    message: typeof p.message === "string" ? p.message : String(p.message),
  }));
}

/** The per-row problems of a refused import (422 invalid_input with row numbers). */
export function importProblems(error: unknown): RowProblem[] | null {
  if (!(error instanceof ApiError) || error.code !== "invalid_input") return null;
  const problems = error.details.problems;
  if (!Array.isArray(problems)) return null;
  const rows = problems.filter((p): p is RowProblem => typeof (p as RowProblem).row === "number");
  return rows.length > 0 ? rows : null;
}

export function isStale(error: unknown): boolean {
  return error instanceof ApiError && error.code === "stale_version";
}

const PROMPT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function isPromptName(name: string): boolean {
  return PROMPT_NAME.test(name);
}

/** A prompt name from an uploaded file's name: "Greeting Final.MP3" → "greeting-final". */
export function promptNameFor(filename: string): string {
  const base = filename.replace(/\.[^.]*$/, "").toLowerCase();
  const name = base.replace(/[^a-z0-9_-]+/g, "-").replace(/^[-_]+|-+$/g, "");
  return name.slice(0, 64);
}

/** Bytes as a person reads them: 980 B, 12.3 KB, 4.1 MB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

export interface SheetLabels {
  title: string;
  intro: string;
  username: string;
  name: string;
  roles: string;
  password: string;
  sipPassword: string;
}

/** A printable page of first-login credentials: one card per user, every value escaped. */
export function credentialsSheet(created: Credentials[], labels: SheetLabels, lang: string): string {
  const cards = created.map((c) => {
    const rows: [string, string][] = [
      [labels.username, c.username],
      [labels.name, c.name],
      [labels.roles, c.roles.join(", ")],
      [labels.password, c.password],
    ];
    if (c.sip_password) rows.push([labels.sipPassword, c.sip_password]);
    const cells = rows
      .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td><code>${escapeHtml(v)}</code></td></tr>`)
      .join("");
    return `<section class="card"><table>${cells}</table></section>`;
  });
  return (
    `<!DOCTYPE html><html lang="${escapeHtml(lang)}"><head><meta charset="utf-8">` +
    `<title>${escapeHtml(labels.title)}</title><style>` +
    "body{font-family:sans-serif;margin:1cm}" +
    ".card{border:1px dashed #555;padding:.5cm;margin:0 0 .5cm;break-inside:avoid}" +
    "th{text-align:left;padding-right:1em;font-weight:normal;color:#444}code{font-size:1.2em}" +
    `</style></head><body><h1>${escapeHtml(labels.title)}</h1><p>${escapeHtml(labels.intro)}</p>` +
    cards.join("") +
    "</body></html>"
  );
}

function csvCell(value: string): string {
  return /[",\n\r;]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The credentials as CSV, to keep or hand over. */
export function credentialsCsv(created: Credentials[]): string {
  const header = ["username", "name", "roles", "password", "sip_password"];
  const rows = created.map((c) => [c.username, c.name, c.roles.join(";"), c.password, c.sip_password ?? ""]);
  return [header, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}
