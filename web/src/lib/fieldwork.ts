// The pure part of the field worker's page and of the desktop's request panel: which steps a task
// offers in each state, an address on one line, a category's form (JSON Schema) as a list of
// inputs and back, and a 422's problems keyed by field so each shows beside its input.

import type { ApiProblem } from "../api/types";
import type { MessageKey } from "../i18n";
import type { AddressIn, FieldTask, RequestCreate, RequestState } from "../api/requests";

/** A request's state in words, as the field worker holding it reads it. */
export const STATE_KEYS: Record<RequestState, MessageKey> = {
  new: "field.state.new",
  assigned: "field.state.assigned",
  accepted: "field.state.accepted",
  in_progress: "field.state.in_progress",
  done: "field.state.done",
  failed: "field.state.failed",
  cancelled: "field.state.cancelled",
};

/** The same for staff, who read it about someone else's task. */
export const REQUEST_STATE_KEYS: Record<RequestState, MessageKey> = {
  new: "request.state.new",
  assigned: "request.state.assigned",
  accepted: "request.state.accepted",
  in_progress: "request.state.in_progress",
  done: "request.state.done",
  failed: "request.state.failed",
  cancelled: "request.state.cancelled",
};

/** The short reference a caller quotes, as their status messages give it (the request id's last
 *  six characters, upper-cased: hotline.notifications.templates.reference). */
export function requestRef(id: string): string {
  return id.slice(-6).toUpperCase();
}

export type TaskAction = "accept" | "decline" | "call" | "start" | "done" | "failed";

const ACTIONS: Record<RequestState, TaskAction[]> = {
  new: [],
  assigned: ["accept", "decline"],
  accepted: ["call", "start", "done", "failed", "decline"],
  in_progress: ["call", "done", "failed"],
  done: [],
  failed: [],
  cancelled: [],
};

/** What the field worker may do with a task in `state` (the server checks again). */
export function taskActions(state: RequestState): TaskAction[] {
  return ACTIONS[state] ?? [];
}

export function isOpen(state: RequestState): boolean {
  return taskActions(state).length > 0;
}

/** "Тверская 5, кв. 12 (125009)": the parts there are, in the order a courier reads them. */
export function formatAddress(
  task: Pick<FieldTask, "street" | "house" | "flat" | "postcode">,
  flatWord: string,
): string {
  const door = [task.street, task.house].filter(Boolean).join(" ");
  const parts = [door, task.flat ? `${flatWord} ${task.flat}` : ""].filter(Boolean).join(", ");
  if (task.postcode) return parts ? `${parts} (${task.postcode})` : task.postcode;
  return parts;
}

/** A 422's problems by field ("form.medicines", "caller.number", "note"); the request body's
 *  own "body" prefix dropped. Problems without a field are under "". */
export function problemsByField(problems: readonly ApiProblem[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of problems) {
    const key = p.loc
      .filter((part, i) => !(i === 0 && part === "body"))
      .map(String)
      .join(".");
    (out[key] ??= []).push(p.message);
  }
  return out;
}

export type InputKind = "text" | "textarea" | "choice" | "integer" | "number" | "boolean" | "date";

export interface FormInput {
  name: string;
  title: string;
  kind: InputKind;
  required: boolean;
  choices: string[];
  min?: number;
  max?: number;
  maxLength?: number;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A category's form (an object's JSON Schema, flat as the categories' forms are) as inputs. */
export function formInputs(schema: Record<string, unknown>): FormInput[] {
  const properties = asRecord(schema.properties);
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  return Object.entries(properties).map(([name, raw]) => {
    const prop = asRecord(raw);
    const type = prop.type;
    const choices = Array.isArray(prop.enum) ? prop.enum.map(String) : [];
    const maxLength = typeof prop.maxLength === "number" ? prop.maxLength : undefined;
    let kind: InputKind = "text";
    if (choices.length > 0) kind = "choice";
    else if (type === "boolean") kind = "boolean";
    else if (type === "integer") kind = "integer";
    else if (type === "number") kind = "number";
    else if (prop.format === "date") kind = "date";
    else if (maxLength === undefined || maxLength > 200) kind = "textarea";
    const min = typeof prop.minimum === "number" ? prop.minimum : undefined;
    const max = typeof prop.maximum === "number" ? prop.maximum : undefined;
    return {
      name,
      title: typeof prop.title === "string" ? prop.title : name,
      kind,
      required: required.has(name),
      choices,
      ...(min !== undefined ? { min } : {}),
      ...(max !== undefined ? { max } : {}),
      ...(maxLength !== undefined ? { maxLength } : {}),
    };
  });
}

export type RawValues = Record<string, string | boolean>;

/** What the inputs hold as the form's data: empty inputs left out (the server says which are
 *  required), numbers as numbers; text that is no number is sent as typed, for the server's
 *  field-level message. */
export function formData(inputs: readonly FormInput[], raw: RawValues): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const input of inputs) {
    const value = raw[input.name];
    if (input.kind === "boolean") {
      if (value === true) data[input.name] = true;
      continue;
    }
    if (typeof value !== "string" || value.trim() === "") continue;
    if (input.kind === "integer" || input.kind === "number") {
      const n = Number(value.trim().replace(",", "."));
      data[input.name] = Number.isFinite(n) ? n : value;
    } else {
      data[input.name] = value;
    }
  }
  return data;
}

export interface PanelValues {
  category: string;
  /** typed only on a form with no call behind it (the call's number otherwise) */
  callerNumber: string;
  callerName: string;
  callerAge: string;
  disability: boolean;
  urgent: boolean;
  address: Required<AddressIn>;
  note: string;
  form: RawValues;
}

/** The body of POST /requests from the panel; the key is the draft's, so a second click (or a
 *  retry after a network error) gives back the same request. A draft from a call gives the
 *  contact and the caller's number; a blank one (no call) neither: the number is the typed one. */
export function requestBody(
  values: PanelValues,
  inputs: readonly FormInput[],
  draft: { idempotency_key: string; contact_id: string | null; caller: { number: string | null } },
): RequestCreate {
  const address: AddressIn = {};
  for (const [key, value] of Object.entries(values.address) as [keyof AddressIn, string][]) {
    if (value.trim()) address[key] = value.trim();
  }
  const age = values.callerAge.trim();
  const body: RequestCreate = {
    category: values.category,
    idempotency_key: draft.idempotency_key,
    ...(draft.contact_id !== null ? { contact_id: draft.contact_id } : {}),
    caller: {
      number: draft.contact_id !== null ? draft.caller.number : values.callerNumber.trim() || null,
      ...(values.callerName.trim() ? { name: values.callerName.trim() } : {}),
      ...(age ? { age: Number.isFinite(Number(age)) ? Number(age) : (age as unknown as number) } : {}),
      disability: values.disability,
    },
    form: formData(inputs, values.form),
    urgent: values.urgent,
  };
  if (Object.keys(address).length > 0) body.address = address;
  if (values.note.trim()) body.note = values.note.trim();
  return body;
}
