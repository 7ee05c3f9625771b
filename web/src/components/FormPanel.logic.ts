// The form's draft as the page keeps it, and how it changes: the agent edits, the page sends the
// data (a debounced draft save, or a submission) based on the server version it was edited from,
// and the server answers saved, stale (409: saved meanwhile elsewhere), refused (422) or nothing
// (the network). Pure, so the rules can be tested without a browser: at most one request in
// flight, nothing sent while a conflict waits for the agent's choice, nothing lost on failure.

import type { ApiProblem } from "../api/types";
import type { Draft, FormData } from "../api/scripts";
import type { MessageKey, Translate } from "../i18n";
import type { FieldProblem } from "./FormPanel.validator";

export interface Conflict {
  /** the version the server holds now */
  current: number;
  by: string | null;
}

export interface DraftState {
  /** the server's draft version this data was edited from (0: nothing saved yet) */
  base: number;
  data: FormData;
  status: Draft["status"];
  /** the data holds edits the server does not have */
  dirty: boolean;
  inFlight: { data: FormData; submit: boolean } | null;
  conflict: Conflict | null;
  /** the last request did not reach the server: it will be tried again */
  offline: boolean;
  /** the server refused the data (422): not sent again until the agent edits it */
  held: boolean;
  submittedAt: string | null;
}

export type DraftEvent =
  | { type: "edit"; data: FormData }
  | { type: "send"; submit: boolean }
  | { type: "saved"; draft: Draft }
  | { type: "refused" }
  | { type: "stale"; current: number; by: string | null }
  | { type: "failed" }
  | { type: "keepMine" }
  | { type: "reload"; draft: Draft };

/** Unsaved edits kept in the tab (sessionStorage) across a reload, with the version they came from. */
export interface LocalDraft {
  base: number;
  data: FormData;
}

export function startDraft(draft: Draft, local: LocalDraft | null = null): DraftState {
  const state: DraftState = {
    base: draft.version,
    data: draft.data,
    status: draft.status,
    dirty: false,
    inFlight: null,
    conflict: null,
    offline: false,
    held: false,
    submittedAt: draft.submitted_at,
  };
  if (local === null || sameData(local.data, draft.data)) return state;
  if (local.base === draft.version) return { ...state, data: local.data, dirty: true };
  // Saved elsewhere since these edits were made: the agent chooses.
  return { ...state, data: local.data, dirty: true, conflict: { current: draft.version, by: draft.updated_by } };
}

export function reduce(state: DraftState, event: DraftEvent): DraftState {
  switch (event.type) {
    case "edit":
      return { ...state, data: event.data, dirty: true, held: false };
    case "send":
      if (state.inFlight !== null || state.conflict !== null) return state;
      return { ...state, inFlight: { data: state.data, submit: event.submit }, dirty: false, held: false };
    case "saved":
      return {
        ...state,
        base: event.draft.version,
        status: event.draft.status,
        submittedAt: event.draft.submitted_at,
        inFlight: null,
        offline: false,
      };
    case "refused":
      return { ...state, inFlight: null, dirty: true, offline: false, held: true };
    case "stale":
      return { ...state, inFlight: null, dirty: true, offline: false, conflict: { current: event.current, by: event.by } };
    case "failed":
      return { ...state, inFlight: null, dirty: true, offline: true };
    case "keepMine":
      if (state.conflict === null) return state;
      return { ...state, base: state.conflict.current, conflict: null, dirty: true };
    case "reload":
      return startDraft(event.draft);
  }
}

/** Whether a draft save should go now: edits to send, nothing in flight, no conflict waiting. */
export function shouldSave(state: DraftState): boolean {
  return state.dirty && !state.held && state.inFlight === null && state.conflict === null;
}

/** What to keep in the tab: the edits the server does not have yet, or nothing. */
export function localDraft(state: DraftState): LocalDraft | null {
  const unsaved = state.dirty || state.inFlight !== null || state.conflict !== null;
  return unsaved ? { base: state.base, data: state.data } : null;
}

export function parseLocalDraft(text: string | null): LocalDraft | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return null;
    const { base, data } = value as { base?: unknown; data?: unknown };
    if (typeof base !== "number" || typeof data !== "object" || data === null || Array.isArray(data)) return null;
    return { base, data: data as FormData };
  } catch {
    return null;
  }
}

function sameData(a: FormData, b: FormData): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** rjsf's error schema: `{field: {__errors: [...]}}`, nested like the data. */
export interface ErrorTree {
  __errors?: string[];
  [field: string]: ErrorTree | string[] | undefined;
}

/** The server's field-level problems (loc = ["data", field, ...]) as errors shown at each field. */
export function problemsToErrorTree(problems: ApiProblem[]): ErrorTree {
  const tree: ErrorTree = {};
  for (const problem of problems) {
    const path = problem.loc.map(String);
    if (path[0] === "body") path.shift();
    if (path[0] === "data") path.shift();
    let node = tree;
    for (const part of path) {
      if (part === "__errors") break;
      const next = node[part];
      node = typeof next === "object" && next !== null && !Array.isArray(next) ? next : (node[part] = {});
    }
    node.__errors = [...(node.__errors ?? []), problem.message];
  }
  return tree;
}

/** What the status line under the form says. */
export function statusKey(state: DraftState): MessageKey {
  if (state.conflict !== null) return "form.status.conflict";
  if (state.offline) return "form.status.offline";
  if (state.inFlight !== null) return state.inFlight.submit ? "form.submitting" : "form.status.saving";
  if (state.held) return "form.status.held";
  if (state.dirty) return "form.status.saving";
  if (state.status === "submitted") return "form.status.submitted";
  if (state.status === "draft" && state.submittedAt !== null) return "form.status.changedSinceSubmit";
  return state.base === 0 ? "form.status.new" : "form.status.saved";
}

const PROBLEM_KEYS: Record<string, MessageKey> = {
  required: "form.problem.required",
  type: "form.problem.type",
  minimum: "form.problem.minimum",
  maximum: "form.problem.maximum",
  exclusiveMinimum: "form.problem.exclusiveMinimum",
  exclusiveMaximum: "form.problem.exclusiveMaximum",
  minLength: "form.problem.minLength",
  maxLength: "form.problem.maxLength",
  pattern: "form.problem.pattern",
  format: "form.problem.format",
  enum: "form.problem.choice",
  const: "form.problem.choice",
  oneOf: "form.problem.choice",
  anyOf: "form.problem.choice",
  minItems: "form.problem.minItems",
  maxItems: "form.problem.maxItems",
  uniqueItems: "form.problem.uniqueItems",
  unknown: "form.problem.unknown",
};

const KIND_KEYS: Record<string, MessageKey> = {
  integer: "form.kind.integer",
  number: "form.kind.number",
  string: "form.kind.string",
  boolean: "form.kind.boolean",
  array: "form.kind.array",
  object: "form.kind.object",
};

/** A field's problem in the agent's language, with the schema's limit (never the value typed). */
export function problemText(problem: FieldProblem, t: Translate): string {
  const key = PROBLEM_KEYS[problem.keyword] ?? "form.problem.other";
  const limit = problem.limit;
  if (problem.keyword === "type") {
    const kinds = (Array.isArray(limit) ? limit : [limit]).map((k) => {
      const kindKey = KIND_KEYS[String(k)];
      return kindKey ? t(kindKey) : String(k);
    });
    return t(key, { kind: kinds.join(" / ") });
  }
  return t(key, { limit: typeof limit === "string" || typeof limit === "number" ? limit : "" });
}
