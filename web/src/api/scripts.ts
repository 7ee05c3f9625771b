// The contact's script and form (docs/scripts.md): the shapes the server sends and the four calls
// the desktop makes. Kept apart from client.ts so that this domain's calls live with its types.

import type { ApiClient } from "./client";

export interface ScriptChoice {
  value: string;
  label: string;
  next: string | null;
}

export interface ScriptStep {
  id: string;
  say: string | null;
  ask: string | null;
  hint: string | null;
  choices: ScriptChoice[];
  next: string | null;
}

export interface Script {
  id: string;
  version: number;
  name: string;
  language: string;
  start: string;
  steps: ScriptStep[];
}

export interface Visited {
  step: string;
  /** null for a say step, and for the question now asked */
  answer: string | null;
}

export interface ScriptState {
  answers: Record<string, string>;
  path: Visited[];
  /** the question waiting for an answer; null once the script has ended */
  current: string | null;
  done: boolean;
  updated_at: string | null;
  updated_by: string | null;
}

export type FormData = Record<string, unknown>;

export interface ContactFormDefinition {
  id: string;
  version: number;
  name: string;
  language: string;
  schema: Record<string, unknown>;
  ui_schema: Record<string, unknown>;
}

export interface Draft {
  /** counts saves; 0 before the first. The next save names it as its base_version. */
  version: number;
  form_version: number;
  status: "new" | "draft" | "submitted";
  data: FormData;
  updated_at: string | null;
  updated_by: string | null;
  submitted_at: string | null;
}

export interface ScriptForm {
  contact_id: string;
  topic: string | null;
  language: string;
  script: Script | null;
  script_state: ScriptState | null;
  form: ContactFormDefinition | null;
  draft: Draft | null;
}

const base = (contactId: string) => `/contacts/${encodeURIComponent(contactId)}`;

export function getScriptForm(api: ApiClient, contactId: string): Promise<ScriptForm> {
  return api.request("GET", `${base(contactId)}/script-form`);
}

export function answerScript(
  api: ApiClient,
  contactId: string,
  body: { step: string; answer: string; script_id?: string },
): Promise<ScriptState> {
  return api.request("PUT", `${base(contactId)}/script-answers`, { body });
}

export interface FormBody {
  base_version: number;
  data: FormData;
  form_id?: string;
}

export function saveDraft(api: ApiClient, contactId: string, body: FormBody, keepalive = false): Promise<Draft> {
  return api.request("PUT", `${base(contactId)}/form-draft`, { body, keepalive });
}

export function submitForm(api: ApiClient, contactId: string, body: FormBody): Promise<Draft> {
  return api.request("POST", `${base(contactId)}/form`, { body });
}
