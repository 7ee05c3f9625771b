// Requests and field dispatch (docs/requests.md, "The HTTP API"): the shapes the server sends and
// the calls the field worker's page and the desktop's request panel make. Kept apart from
// client.ts so that this domain's calls live with its types.

import type { ApiClient } from "./client";

export type RequestState = "new" | "assigned" | "accepted" | "in_progress" | "done" | "failed" | "cancelled";

/** A task on the field worker's page (hotline.dispatch.schemas.FieldTaskView): never the full number. */
export interface FieldTask {
  id: string;
  category: string;
  state: RequestState;
  priority: number;
  urgent: boolean;
  caller_name: string | null;
  /** masked: "***-**-22" */
  caller_number: string;
  postcode: string | null;
  street: string | null;
  house: string | null;
  flat: string | null;
  address_note: string | null;
  district_id: string | null;
  form: Record<string, unknown>;
  note: string | null;
  assigned_at: string | null;
  accept_by: string | null;
  accepted_at: string | null;
  started_at: string | null;
  ended_at: string | null;
  sla_deadline: string;
  outcome_note: string | null;
  reason: string | null;
}

export interface FieldWorkerStatus {
  user_id: string;
  username: string;
  kind: string;
  districts: string[];
  categories: string[];
  capacity: number;
  available: boolean;
  active_tasks: number;
  last_assigned_at: string | null;
}

export interface CitizenCall {
  call_id: string;
  mode: "bridge" | "agent_callback";
}

export interface Category {
  id: string;
  name: Record<string, string>;
  sla_hours: number;
  accept_minutes: number;
  information_only: boolean;
  form: Record<string, unknown>;
  kinds: string[];
}

export interface CallerView {
  number: string | null;
  name: string | null;
  age: number | null;
  disability: boolean;
}

export interface RequestDraft {
  idempotency_key: string;
  /** null: a request with no call behind it (a department specialist's) */
  contact_id: string | null;
  caller: CallerView;
  topic: string | null;
  language: string | null;
}

export interface RequestSummary {
  id: string;
  category: string;
  state: RequestState;
  priority: number;
  created_at: string;
  ended_at: string | null;
  sla_deadline: string;
  sla_breached: boolean;
  worker: string | null;
}

export interface AddressIn {
  postcode?: string;
  street?: string;
  house?: string;
  flat?: string;
  note?: string;
}

export interface RequestCreate {
  category: string;
  idempotency_key: string;
  caller: { number?: string | null; name?: string; age?: number; disability?: boolean };
  address?: AddressIn;
  form: Record<string, unknown>;
  urgent: boolean;
  note?: string;
  contact_id?: string;
}

export interface RequestCreated {
  request: { id: string; state: RequestState; district_id: string | null; needs_district: boolean; worker: string | null };
  created: boolean;
  duplicates: { id: string; matches: string[]; created_at: string }[];
}

const task = (id: string) => `/tasks/${encodeURIComponent(id)}`;

// The field worker's page

export function listTasks(api: ApiClient, includeEnded = false): Promise<FieldTask[]> {
  return api.request("GET", includeEnded ? "/tasks?include_ended=true" : "/tasks");
}

export type TaskStep = "accept" | "start";

export function stepTask(api: ApiClient, id: string, step: TaskStep): Promise<FieldTask> {
  return api.request("POST", `${task(id)}/${step}`);
}

export function finishTask(api: ApiClient, id: string, note: string): Promise<FieldTask> {
  return api.request("POST", `${task(id)}/done`, { body: { note } });
}

export function failTask(api: ApiClient, id: string, reason: string): Promise<FieldTask> {
  return api.request("POST", `${task(id)}/failed`, { body: { reason } });
}

export function declineTask(api: ApiClient, id: string, reason: string): Promise<void> {
  return api.request("POST", `${task(id)}/decline`, { body: { reason } });
}

export function callCitizen(api: ApiClient, id: string): Promise<CitizenCall> {
  return api.request("POST", `${task(id)}/call`);
}

export function myDuty(api: ApiClient): Promise<FieldWorkerStatus> {
  return api.request("GET", "/field-workers/me");
}

export function setDuty(api: ApiClient, available: boolean): Promise<FieldWorkerStatus> {
  return api.request("PUT", "/field-workers/me/availability", { body: { available } });
}

// The desktop's request panel

export function requestCategories(api: ApiClient): Promise<Category[]> {
  return api.request("GET", "/request-categories");
}

export function requestDraft(api: ApiClient, contactId: string): Promise<RequestDraft> {
  return api.request("GET", `/contacts/${encodeURIComponent(contactId)}/request-draft`);
}

/** A blank form with no call behind it: the citizen's number is typed in. */
export function blankRequestDraft(api: ApiClient): Promise<RequestDraft> {
  return api.request("GET", "/request-draft");
}

export function callerRequests(api: ApiClient, contactId: string): Promise<RequestSummary[]> {
  return api.request("GET", `/contacts/${encodeURIComponent(contactId)}/requests`);
}

export function createRequest(api: ApiClient, body: RequestCreate): Promise<RequestCreated> {
  return api.request("POST", "/requests", { body });
}
