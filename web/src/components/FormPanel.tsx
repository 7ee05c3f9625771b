// The topic's form, drawn from its JSON Schema by rjsf and checked in the browser with the same
// schema the server checks it with. Drafts are saved on the server as the agent types (debounced,
// naming the draft version they were edited from), and kept in the tab until the server has them,
// so neither a reload nor a dropped connection loses anything. A draft saved meanwhile elsewhere
// (409 stale_version) is never written over silently: the agent loads theirs or keeps their own.

import Form from "@rjsf/core";
import { TranslatableString, type ErrorSchema, type RJSFSchema, type UiSchema } from "@rjsf/utils";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import { ApiError } from "../api/client";
import { getScriptForm, saveDraft, submitForm, type ContactFormDefinition, type Draft, type FormData } from "../api/scripts";
import { useI18n, type MessageKey } from "../i18n";
import { loadText, saveText } from "../lib/storage";
import { ErrorMessage } from "./ErrorMessage";
import {
  localDraft,
  parseLocalDraft,
  problemsToErrorTree,
  problemText,
  reduce,
  shouldSave,
  startDraft,
  statusKey,
  type DraftState,
  type ErrorTree,
} from "./FormPanel.logic";
import { FormValidator } from "./FormPanel.validator";
import "./FormPanel.css";

const SAVE_AFTER_MS = 800;
const RETRY_AFTER_MS = 3000;
const draftKey = (contactId: string, formId: string) => `hotline.form.${contactId}.${formId}`;

const LIBRARY_STRINGS: Partial<Record<TranslatableString, MessageKey>> = {
  [TranslatableString.YesLabel]: "form.lib.yes",
  [TranslatableString.NoLabel]: "form.lib.no",
  [TranslatableString.AddButton]: "form.lib.add",
  [TranslatableString.AddItemButton]: "form.lib.add",
  [TranslatableString.RemoveButton]: "form.lib.remove",
  [TranslatableString.MoveUpButton]: "form.lib.moveUp",
  [TranslatableString.MoveDownButton]: "form.lib.moveDown",
  [TranslatableString.CopyButton]: "form.lib.copy",
  [TranslatableString.ArrayItemTitle]: "form.lib.item",
  [TranslatableString.EmptyArray]: "form.lib.empty",
  [TranslatableString.ErrorsLabel]: "form.lib.errors",
  [TranslatableString.NowLabel]: "form.lib.now",
  [TranslatableString.ClearLabel]: "form.lib.clear",
  [TranslatableString.ClearButton]: "form.lib.clear",
  [TranslatableString.AriaDateLabel]: "form.lib.pickDate",
  [TranslatableString.DecrementAriaLabel]: "form.lib.decrease",
  [TranslatableString.IncrementAriaLabel]: "form.lib.increase",
};

// Only what the agent enters goes into the data: no value is filled in for them, not even the
// first of a list of choices or a `const` (a consent box must be ticked by the agent).
const DEFAULTS = {
  constAsDefaults: "never",
  arrayMinItems: { populate: "never" },
  emptyObjectFields: "skipEmptyDefaults",
} as const;

interface Props {
  api: ApiClient;
  contactId: string;
  form: ContactFormDefinition;
  draft: Draft;
}

export function FormPanel({ api, contactId, form, draft }: Props) {
  const { t } = useI18n();
  const key = draftKey(contactId, form.id);
  const [state, dispatch] = useReducer(reduce, draft, (d) => startDraft(d, parseLocalDraft(loadText(key, "tab"))));
  const [serverErrors, setServerErrors] = useState<ErrorTree | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const latest = useRef<DraftState>(state);
  latest.current = state;

  const validator = useMemo(() => new FormValidator((problem) => problemText(problem, t)), [t]);
  const translateString = useCallback(
    (text: TranslatableString, params?: string[]) => {
      const known = LIBRARY_STRINGS[text];
      if (known) return t(known);
      return (params ?? []).reduce((s, p, i) => s.replace(`%${i + 1}`, p), String(text));
    },
    [t],
  );
  const uiSchema = form.ui_schema as UiSchema;

  // Unsaved edits stay in the tab until the server has them (see lib/storage.ts for why the tab).
  useEffect(() => {
    const local = localDraft(state);
    saveText(key, local === null ? null : JSON.stringify(local), "tab");
  }, [key, state]);

  const send = useCallback(
    async (submit: boolean) => {
      const now = latest.current;
      if (now.inFlight !== null || now.conflict !== null) return;
      dispatch({ type: "send", submit });
      const body = { base_version: now.base, data: now.data, form_id: form.id };
      try {
        const saved = submit ? await submitForm(api, contactId, body) : await saveDraft(api, contactId, body);
        dispatch({ type: "saved", draft: saved });
        if (submit) setServerErrors(undefined);
      } catch (err) {
        if (err instanceof ApiError && err.code === "stale_version") {
          const current = Number(err.details.current_version ?? 0);
          const by = typeof err.details.updated_by === "string" ? err.details.updated_by : null;
          dispatch({ type: "stale", current, by });
        } else if (err instanceof ApiError && err.status === 422) {
          dispatch({ type: "refused" });
          setServerErrors(problemsToErrorTree(err.problems));
          setError(err.problems.length === 0 ? err : null);
        } else if (err instanceof ApiError && (err.status === 0 || err.status >= 500)) {
          dispatch({ type: "failed" });
        } else {
          dispatch({ type: "refused" });
          setError(err);
        }
      }
    },
    [api, contactId, form.id],
  );

  // The debounced draft save; after a failed one, a slower retry.
  useEffect(() => {
    if (!shouldSave(state)) return;
    const timer = window.setTimeout(() => void send(false), state.offline ? RETRY_AFTER_MS : SAVE_AFTER_MS);
    return () => window.clearTimeout(timer);
  }, [state, send]);

  // Leaving the page: send what is not saved yet (the tab keeps it too).
  useEffect(() => {
    const flush = () => {
      const now = latest.current;
      if (!shouldSave(now)) return;
      void saveDraft(api, contactId, { base_version: now.base, data: now.data, form_id: form.id }, true).catch(() => undefined);
    };
    window.addEventListener("pagehide", flush);
    return () => window.removeEventListener("pagehide", flush);
  }, [api, contactId, form.id]);

  const loadTheirs = async () => {
    setError(null);
    try {
      const found = await getScriptForm(api, contactId);
      if (found.draft && found.form?.id === form.id) {
        dispatch({ type: "reload", draft: found.draft });
        setServerErrors(undefined);
      }
    } catch (err) {
      setError(err);
    }
  };

  const conflict = state.conflict;
  return (
    <section className="panel form-panel" aria-labelledby="form-title">
      <h2 id="form-title">{t("form.title")}</h2>
      <p className="muted small">{form.name}</p>
      <ErrorMessage error={error} onDismiss={() => setError(null)} />
      {conflict && (
        <div className="error" role="alert">
          <p>
            {t("form.conflict", { who: conflict.by ?? t("form.conflict.someone"), version: conflict.current })}
          </p>
          <div className="buttons">
            <button type="button" onClick={() => void loadTheirs()}>
              {t("form.conflict.reload")}
            </button>
            <button type="button" onClick={() => dispatch({ type: "keepMine" })}>
              {t("form.conflict.keep")}
            </button>
          </div>
        </div>
      )}
      {serverErrors && <p className="error">{t("form.invalid")}</p>}
      <Form
        schema={form.schema as RJSFSchema}
        uiSchema={uiSchema}
        formData={state.data}
        validator={validator}
        translateString={translateString}
        extraErrors={serverErrors as ErrorSchema | undefined}
        showErrorList={false}
        noHtml5Validate
        // No live validation on blur: with it, rjsf 6 drops a change made by the click that blurs
        // another field. Fields are checked on submit, and their errors clear as they are edited.
        experimental_defaultFormStateBehavior={DEFAULTS}
        onChange={(e) => {
          const data = (e.formData ?? {}) as FormData;
          if (JSON.stringify(data) === JSON.stringify(latest.current.data)) return;
          dispatch({ type: "edit", data });
          setServerErrors(undefined);
        }}
        onSubmit={() => void send(true)}
        onError={() => undefined /* the fields show their errors; rjsf would also log them */}
      >
        <div className="buttons">
          <button type="submit" className="primary" disabled={state.inFlight !== null || conflict !== null}>
            {state.inFlight?.submit ? t("form.submitting") : t("form.submit")}
          </button>
          <span className="form-status small" role="status">
            {t(statusKey(state))}
          </span>
        </div>
      </Form>
      <p className="muted small">{t("form.hint")}</p>
    </section>
  );
}
