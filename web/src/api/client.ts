// The browser's one way to the REST API: JSON in and out, the session cookie sent along, the CSRF
// token on every request that changes something, and the catalogue's {code, message, details}
// turned into a typed ApiError. A 401 sends the page to the login screen (except at login itself).

import type {
  AgentMe,
  ApiProblem,
  ChosenState,
  ContactPop,
  DeskOptions,
  Language,
  Me,
  PhoneKind,
  TransferMode,
  Wallboard,
} from "./types";

export const API_PREFIX = "/api/v1";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  /** Seconds to wait before trying again (429's Retry-After), when the server said. */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
    retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }

  /** The field-level problems of a 422 invalid_input, if any. */
  get problems(): ApiProblem[] {
    const problems = this.details.problems;
    return Array.isArray(problems) ? (problems as ApiProblem[]) : [];
  }
}

export interface ApiClientOptions {
  /** Origin to prefix (empty: the page's own). Tests point it at a loopback server. */
  base?: string;
  fetch?: typeof fetch;
  onUnauthorized?: () => void;
  onPasswordChangeRequired?: () => void;
  /** Where the CSRF token comes from before login/me answered (the hotline_csrf cookie). */
  readCookie?: (name: string) => string | null;
}

function browserCookie(name: string): string | null {
  if (typeof document === "undefined") return null;
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

function parseRetryAfter(header: string | null, details: Record<string, unknown>): number | null {
  if (header !== null && /^\d+$/.test(header.trim())) return Number(header.trim());
  const fromDetails = details.retry_after ?? details.retry_after_seconds;
  return typeof fromDetails === "number" ? fromDetails : null;
}

export interface RequestOptions {
  body?: unknown;
  /** Let the request outlive the page (closing the softphone leg on unload). */
  keepalive?: boolean;
}

export class ApiClient {
  csrfToken: string | null = null;
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;
  private readonly options: ApiClientOptions;

  constructor(options: ApiClientOptions = {}) {
    this.options = options;
    this.base = options.base ?? "";
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    const init: RequestInit = { method, headers, credentials: "include" };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    if (options.keepalive) init.keepalive = true;
    if (UNSAFE.has(method)) {
      const token = this.csrfToken ?? (this.options.readCookie ?? browserCookie)("hotline_csrf");
      if (token) headers["X-CSRF-Token"] = token;
    }
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.base}${API_PREFIX}${path}`, init);
    } catch (error) {
      throw new ApiError(0, "network_error", error instanceof Error ? error.message : String(error));
    }
    if (response.ok) {
      if (response.status === 204) return undefined as T;
      const text = await response.text();
      return (text ? JSON.parse(text) : undefined) as T;
    }
    const error = await this.toError(response);
    if (error.status === 401 && path !== "/auth/login") this.options.onUnauthorized?.();
    if (error.code === "password_change_required") this.options.onPasswordChangeRequired?.();
    throw error;
  }

  private async toError(response: Response): Promise<ApiError> {
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    const shaped =
      typeof body === "object" && body !== null && typeof (body as { code?: unknown }).code === "string"
        ? (body as { code: string; message?: unknown; details?: unknown })
        : null;
    const details =
      shaped && typeof shaped.details === "object" && shaped.details !== null
        ? (shaped.details as Record<string, unknown>)
        : {};
    return new ApiError(
      response.status,
      shaped ? shaped.code : `http_${response.status}`,
      shaped && typeof shaped.message === "string" ? shaped.message : response.statusText,
      details,
      parseRetryAfter(response.headers.get("Retry-After"), details),
    );
  }

  // Sign-in

  async login(username: string, password: string): Promise<Me> {
    const me = await this.request<Me>("POST", "/auth/login", { body: { username, password } });
    this.csrfToken = me.csrf_token;
    return me;
  }

  async me(): Promise<Me> {
    const me = await this.request<Me>("GET", "/auth/me");
    this.csrfToken = me.csrf_token;
    return me;
  }

  async logout(): Promise<void> {
    await this.request<void>("POST", "/auth/logout");
    this.csrfToken = null;
  }

  /** Keeps the app's language on the server: every device of the user opens in it. */
  async setLanguage(language: Language): Promise<Me> {
    const me = await this.request<Me>("PATCH", "/auth/me", { body: { language } });
    this.csrfToken = me.csrf_token;
    return me;
  }

  changePassword(currentPassword: string, newPassword: string): Promise<void> {
    return this.request("POST", "/auth/password", {
      body: { current_password: currentPassword, new_password: newPassword },
    });
  }

  // The agent desktop

  agentMe(): Promise<AgentMe> {
    return this.request("GET", "/agent/me");
  }

  setState(state: ChosenState, reason?: string): Promise<AgentMe> {
    return this.request("POST", "/agent/state", { body: reason ? { state, reason } : { state } });
  }

  setPhone(phone: PhoneKind): Promise<unknown> {
    return this.request("POST", "/agent/phone", { body: { phone } });
  }

  softphoneOffer(sdp: string): Promise<{ sdp: string }> {
    return this.request("POST", "/agent/softphone", { body: { sdp } });
  }

  softphoneClose(keepalive = false): Promise<void> {
    return this.request("DELETE", "/agent/softphone", { keepalive });
  }

  acceptOffer(): Promise<void> {
    return this.request("POST", "/agent/offer/accept");
  }

  /** Wrap-up codes and transfer targets, with their names. */
  agentOptions(): Promise<DeskOptions> {
    return this.request("GET", "/agent/options");
  }

  /** Mute is not here: it is the softphone's own (its microphone track), no server call. */
  callAction(action: "hangup" | "hold" | "resume"): Promise<void> {
    return this.request("POST", `/agent/call/${action}`);
  }

  sendDigits(digits: string): Promise<void> {
    return this.request("POST", "/agent/call/digits", { body: { digits } });
  }

  transfer(mode: TransferMode, target: string): Promise<void> {
    return this.request("POST", "/agent/call/transfer", { body: { mode, target } });
  }

  /** A warm transfer: hand the caller over to the consulted colleague, or go back to them. */
  transferAction(action: "complete" | "cancel"): Promise<void> {
    return this.request("POST", `/agent/call/transfer/${action}`);
  }

  wrapUp(code: string, note?: string): Promise<void> {
    return this.request("POST", "/agent/wrapup", { body: note ? { code, note } : { code } });
  }

  contact(id: string): Promise<ContactPop> {
    return this.request("GET", `/contacts/${encodeURIComponent(id)}`);
  }

  // The wallboard

  wallboard(): Promise<Wallboard> {
    return this.request("GET", "/wallboard");
  }

  setAgentState(username: string, state: ChosenState, reason?: string): Promise<void> {
    return this.request("POST", `/agents/${encodeURIComponent(username)}/state`, {
      body: reason ? { state, reason } : { state },
    });
  }
}
