// The shapes of docs/web-api.md, as the server sends them. Fields the contract does not name yet
// but the screens can use when the server adds them are optional and marked "not in the contract".

export type Role = "agent" | "supervisor" | "admin" | "field_worker" | "department_specialist";
export type Language = "ru" | "en";

export interface User {
  id: string | number;
  username: string;
  name: string;
  roles: Role[];
  department: string | null;
  must_change_password: boolean;
  language: string | null;
}

export interface Me {
  user: User;
  csrf_token: string;
}

/** The routing engine's agent states; "offline" is what "logged out" looks like on the wallboard. */
export type AgentState = "offline" | "logged_out" | "ready" | "not_ready" | "reserved" | "busy" | "wrap_up";
/** What an agent may choose; the others (reserved, busy, wrap_up) the router sets. */
export type ChosenState = "ready" | "not_ready" | "logged_out";
export type PhoneKind = "webrtc" | "sip";

export interface AgentQueue {
  id: string;
  name: string;
  waiting: number;
  longest_wait: number;
}

export interface AgentToday {
  answered: number;
  aht: number | null;
  talk_seconds: number;
}

export interface ContactHistoryItem {
  id: string;
  started_at: string | number;
  topic: string | null;
  outcome: string | null;
}

/** The contract leaves a request's shape open ("requests": [...]); these are the fields shown. */
export interface ContactRequest {
  id: string | number;
  category?: string | null;
  status?: string | null;
  summary?: string | null;
  created_at?: string | number | null;
}

export interface ContactPop {
  id: string;
  caller: { number: string | null };
  line: string | null;
  topic: string | null;
  queue: string | null;
  ivr_path: string[];
  waited: number | null;
  callback: boolean;
  history: ContactHistoryItem[];
  requests: ContactRequest[];
  /** Set on a warm transfer's consultation: topic, IVR path and line are the caller's contact's. */
  consultation?: { for_contact: string; from_agent: string | null } | null;
}

/** A warm transfer while the agent consults (GET /agent/me `transfer`). */
export interface TransferInProgress {
  contact_id: string;
  target: string;
  target_name: string;
  answered: boolean;
}

export interface AgentMe {
  username: string;
  state: AgentState;
  reason: string | null;
  since: number;
  phone: PhoneKind;
  queues: AgentQueue[];
  today: AgentToday;
  contact: ContactPop | null;
  transfer?: TransferInProgress | null;
}

/** hotline.routing.figures.QueueFigures, as GET /api/v1/queues and the snapshot carry it. */
export interface QueueFigures {
  queue_id: string;
  name: string;
  waiting: number;
  callbacks_waiting: number;
  ringing: number;
  longest_wait_seconds: number;
  expected_wait_seconds: number;
  agents: Record<string, number>;
  offered_today: number;
  answered_today: number;
  abandoned_today: number;
  service_level_today: number | null;
  asa_today_seconds: number | null;
  /** The last 30 minutes: contacts whose wait ended in the window (moves each minute). */
  offered_30min: number;
  answered_30min: number;
  abandoned_30min: number;
  service_level_30min: number | null;
  asa_30min_seconds: number | null;
  /** The queue's service-level target in seconds. */
  sl_target_seconds: number;
  /** The topic the queue serves (a topic skill's id and name), null for none: the wallboard's groups. */
  topic: string | null;
  topic_name: string | null;
}

export interface AgentRow {
  username: string;
  name: string;
  state: AgentState;
  reason: string | null;
  since: number;
  contact_id: string | null;
  queues: string[];
}

export interface Snapshot {
  queues: QueueFigures[];
  agents: AgentRow[];
}

export interface Wallboard {
  id: number;
  /** The server's time (unix seconds). */
  at: number;
  data: Snapshot;
}

/** GET /agent/options: what wrap-up and transfer offer to choose from. */
export interface WrapUpCode {
  id: string;
  name: string;
  description: string | null;
}

export interface TransferTarget {
  /** What POST /agent/call/transfer takes: "queue:<id>" or "line:<id>". */
  target: string;
  kind: "queue" | "line";
  id: string;
  name: string;
}

export interface DeskOptions {
  wrapup_codes: WrapUpCode[];
  transfer_targets: TransferTarget[];
}

export type TransferMode = "blind" | "warm";

export interface ApiProblem {
  loc: (string | number)[];
  message: string;
}
