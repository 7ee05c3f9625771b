// An API error as a sentence the person can act on, in their language.

import { ApiError } from "../api/client";
import type { MessageKey, Translate } from "../i18n";
import { formatDuration } from "./format";

const KNOWN: Record<string, MessageKey> = {
  bad_credentials: "error.bad_credentials",
  csrf_failed: "error.csrf_failed",
  forbidden: "error.forbidden",
  not_signed_in: "error.not_signed_in",
  password_change_required: "error.password_change_required",
  invalid_input: "error.invalid_input",
  network_error: "error.network_error",
  internal_error: "error.internal_error",
  not_found: "error.not_found",
};

export interface ErrorText {
  text: string;
  /** Field-level problems of invalid input: "field: message". */
  problems: string[];
}

export function describeError(error: unknown, t: Translate): ErrorText {
  if (!(error instanceof ApiError)) {
    const message = error instanceof Error ? error.message : String(error);
    return { text: t("error.unknown", { message }), problems: [] };
  }
  if (error.code === "too_many_attempts") {
    return {
      text:
        error.retryAfter !== null
          ? t("error.too_many_attempts", { wait: formatDuration(error.retryAfter) })
          : t("error.too_many_attempts_later"),
      problems: [],
    };
  }
  const key = KNOWN[error.code];
  const problems = error.problems.map((p) => {
    const field = p.loc.filter((part) => part !== "body").join(".");
    return field ? `${field}: ${p.message}` : p.message;
  });
  // An unknown code is a newer server's: its own message is better than nothing.
  return { text: key ? t(key) : t("error.unknown", { message: error.message }), problems };
}
