// The administration API (/api/v1/admin/...): IVR flows, the live configuration, prompts and the
// bulk import of users. JSON goes through the app's one ApiClient (cookie, CSRF token, typed
// errors); a recording is uploaded as the request's body, with the same token.

import { API_PREFIX, ApiError, type ApiClient } from "../../api/client";

/** A draft's problem (or warning): its line in the text (null: about no line), field, message. */
export interface DraftProblem {
  line: number | null;
  path: string;
  message: string;
}

export interface CheckResult {
  valid: boolean;
  problems: DraftProblem[];
  warnings: DraftProblem[];
}

export interface DiffResult {
  diff: string;
  from_version: number | null;
  changes?: ConfigChange[];
}

export interface LineSummary {
  id: string;
  name: string;
  number: string;
  kind: string;
  current_version: number | null;
  flow_name: string | null;
  versions: number;
}

export interface FlowVersion {
  line_id: string;
  version: number;
  name: string;
  published_at: string;
  published_by: string;
  based_on: number | null;
  note: string | null;
  current: boolean;
}

export interface FlowVersionDetail extends FlowVersion {
  yaml: string;
}

export interface FlowPublished {
  version: FlowVersion;
  warnings: DraftProblem[];
}

export interface LiveConfig {
  version: number;
  digest: string;
  yaml: string;
}

export interface ConfigVersion {
  version: number;
  published_at: string;
  published_by: string;
  based_on: number | null;
  note: string | null;
}

export interface ConfigChange {
  section: string;
  id: string;
  change: "added" | "changed" | "removed";
}

export interface ConfigPublished {
  version: ConfigVersion;
  digest: string;
  changes: ConfigChange[];
  applied: string[];
}

export interface Prompt {
  name: string;
  kind: "upload" | "tts";
  text: string | null;
  lang: string | null;
  voice: string | null;
  filename: string | null;
  duration: number;
  size: number;
  updated_at: string;
  updated_by: string;
  used_by: string[];
  audio: string;
}

export interface RowProblem {
  row: number;
  field: string;
  message: string;
}

export interface CsvCheck {
  users: number;
  problems: RowProblem[];
}

export interface Credentials {
  username: string;
  name: string;
  roles: string[];
  password: string;
  sip_password: string | null;
}

const enc = encodeURIComponent;

export class AdminApi {
  constructor(private readonly api: ApiClient) {}

  // IVR flows

  lines(): Promise<LineSummary[]> {
    return this.api.request("GET", "/admin/ivr/lines");
  }

  flowVersions(line: string): Promise<FlowVersion[]> {
    return this.api.request("GET", `/admin/ivr/lines/${enc(line)}/versions`);
  }

  flowVersion(line: string, version: number): Promise<FlowVersionDetail> {
    return this.api.request("GET", `/admin/ivr/lines/${enc(line)}/versions/${version}`);
  }

  validateFlow(line: string, yaml: string): Promise<CheckResult> {
    return this.api.request("POST", `/admin/ivr/lines/${enc(line)}/validate`, { body: { yaml } });
  }

  diffFlow(line: string, yaml: string): Promise<DiffResult> {
    return this.api.request("POST", `/admin/ivr/lines/${enc(line)}/diff`, { body: { yaml } });
  }

  publishFlow(line: string, yaml: string, baseVersion: number | null, note: string): Promise<FlowPublished> {
    return this.api.request("POST", `/admin/ivr/lines/${enc(line)}/publish`, {
      body: { yaml, base_version: baseVersion, note: note || null },
    });
  }

  rollbackFlow(line: string, version: number, baseVersion: number | null): Promise<FlowPublished> {
    return this.api.request("POST", `/admin/ivr/lines/${enc(line)}/rollback`, {
      body: { version, base_version: baseVersion },
    });
  }

  // The live configuration

  config(): Promise<LiveConfig> {
    return this.api.request("GET", "/admin/config");
  }

  configVersions(): Promise<ConfigVersion[]> {
    return this.api.request("GET", "/admin/config/versions");
  }

  configVersion(version: number): Promise<ConfigVersion & { yaml: string }> {
    return this.api.request("GET", `/admin/config/versions/${version}`);
  }

  validateConfig(yaml: string): Promise<CheckResult> {
    return this.api.request("POST", "/admin/config/validate", { body: { yaml } });
  }

  diffConfig(yaml: string): Promise<DiffResult> {
    return this.api.request("POST", "/admin/config/diff", { body: { yaml } });
  }

  publishConfig(yaml: string, base: LiveConfig, note: string): Promise<ConfigPublished> {
    return this.api.request("POST", "/admin/config/publish", {
      body: { yaml, base_version: base.version, base_digest: base.digest, note: note || null },
    });
  }

  rollbackConfig(version: number, base: LiveConfig): Promise<ConfigPublished> {
    return this.api.request("POST", "/admin/config/rollback", {
      body: { version, base_version: base.version, base_digest: base.digest },
    });
  }

  // Prompts

  prompts(): Promise<Prompt[]> {
    return this.api.request("GET", "/admin/prompts");
  }

  speak(name: string, text: string, lang: string): Promise<Prompt> {
    return this.api.request("PUT", `/admin/prompts/${enc(name)}`, { body: { text, lang } });
  }

  deletePrompt(name: string): Promise<void> {
    return this.api.request("DELETE", `/admin/prompts/${enc(name)}`);
  }

  /** Send a recording as the request's body (the server reads its kind from the file name). */
  async upload(name: string, file: Blob, filename: string): Promise<Prompt> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      "Content-Type": file.type || "application/octet-stream",
    };
    if (this.api.csrfToken) headers["X-CSRF-Token"] = this.api.csrfToken;
    let response: Response;
    try {
      response = await fetch(`${API_PREFIX}/admin/prompts/${enc(name)}/audio?filename=${enc(filename)}`, {
        method: "PUT",
        headers,
        body: file,
        credentials: "include",
      });
    } catch (error) {
      throw new ApiError(0, "network_error", error instanceof Error ? error.message : String(error));
    }
    const body: unknown = await response.json().catch(() => null);
    if (response.ok) return body as Prompt;
    const shaped = (body ?? {}) as { code?: string; message?: string; details?: Record<string, unknown> };
    throw new ApiError(
      response.status,
      shaped.code ?? `http_${response.status}`,
      shaped.message ?? response.statusText,
      shaped.details ?? {},
    );
  }

  // Users

  checkUsers(csv: string): Promise<CsvCheck> {
    return this.api.request("POST", "/admin/users/import/check", { body: { csv } });
  }

  importUsers(csv: string): Promise<{ created: Credentials[] }> {
    return this.api.request("POST", "/admin/users/import", { body: { csv } });
  }
}
