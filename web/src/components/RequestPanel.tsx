// The call's requests on the agent desktop: the caller's requests and where each stands (kept
// current by the live connection's request.changed), and a "Create request" form prefilled from
// the call (GET /contacts/{id}/request-draft). The draft's idempotency key goes with every
// submission of the form, so a double click or a retry makes one request; a 422's problems are
// shown beside their inputs. With no contact (a department specialist's desktop between calls),
// the same form opens blank (GET /request-draft) and the citizen's number is typed in; there is
// no caller's history to show then.

import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiError, type ApiClient } from "../api/client";
import {
  blankRequestDraft,
  callerRequests,
  createRequest,
  requestCategories,
  requestDraft,
  type Category,
  type RequestCreated,
  type RequestDraft,
  type RequestSummary,
} from "../api/requests";
import { useI18n } from "../i18n";
import { formInputs, problemsByField, requestBody, REQUEST_STATE_KEYS, requestRef, type FormInput, type PanelValues } from "../lib/fieldwork";
import { formatDateTime } from "../lib/format";
import { useLiveStore } from "../live/LiveContext";
import { ErrorMessage } from "./ErrorMessage";

const EMPTY: PanelValues = {
  category: "",
  callerNumber: "",
  callerName: "",
  callerAge: "",
  disability: false,
  urgent: false,
  address: { postcode: "", street: "", house: "", flat: "", note: "" },
  note: "",
  form: {},
};

function Problem({ id, messages }: { id: string; messages: string[] | undefined }) {
  if (!messages || messages.length === 0) return null;
  return (
    <span id={id} className="field-problem" role="alert">
      {messages.join(" ")}
    </span>
  );
}

function FormField({
  input,
  value,
  problems,
  onChange,
}: {
  input: FormInput;
  value: string | boolean | undefined;
  problems: string[] | undefined;
  onChange: (value: string | boolean) => void;
}) {
  const { t } = useI18n();
  const id = `rq-form-${input.name}`;
  const invalid = problems && problems.length > 0;
  const common = {
    id,
    "aria-invalid": invalid || undefined,
    "aria-describedby": invalid ? `${id}-problem` : undefined,
  };
  if (input.kind === "boolean")
    return (
      <div className="field">
        <label className="check">
          <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />
          {input.title}
        </label>
        <Problem id={`${id}-problem`} messages={problems} />
      </div>
    );
  const text = typeof value === "string" ? value : "";
  let control;
  if (input.kind === "choice")
    control = (
      <select {...common} value={text} required={input.required} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t("request.choose")}</option>
        {input.choices.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    );
  else if (input.kind === "textarea")
    control = <textarea {...common} value={text} rows={2} maxLength={input.maxLength} onChange={(e) => onChange(e.target.value)} />;
  else
    control = (
      <input
        {...common}
        type={input.kind === "date" ? "date" : "text"}
        inputMode={input.kind === "integer" ? "numeric" : input.kind === "number" ? "decimal" : undefined}
        value={text}
        maxLength={input.maxLength}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  return (
    <div className="field">
      <label htmlFor={id}>
        {input.title}
        {input.required && <span aria-hidden="true"> *</span>}
      </label>
      {control}
      <Problem id={`${id}-problem`} messages={problems} />
    </div>
  );
}

/** The requests of the contact `contactId`'s caller, and a new one from the call; with
 *  `contactId` null, a new request with no call behind it. */
export function RequestPanel({ api, contactId }: { api: ApiClient; contactId: string | null }) {
  const { t, language, locale } = useI18n();
  const store = useLiveStore();
  const [history, setHistory] = useState<RequestSummary[] | null>(null);
  const [categories, setCategories] = useState<Category[]>([]);
  const [draft, setDraft] = useState<RequestDraft | null>(null);
  const [values, setValues] = useState<PanelValues>(EMPTY);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<RequestCreated | null>(null);
  const [numberMissing, setNumberMissing] = useState(false);
  const noCall = contactId === null;

  const loadHistory = useCallback(() => {
    if (contactId !== null) callerRequests(api, contactId).then(setHistory, setError);
  }, [api, contactId]);

  useEffect(() => {
    setDraft(null);
    setCreated(null);
    setError(null);
    setValues(EMPTY);
    setNumberMissing(false);
    loadHistory();
  }, [loadHistory]);

  useEffect(() => store.onEvent((event) => event.type === "request.changed" && loadHistory()), [store, loadHistory]);

  useEffect(() => {
    requestCategories(api).then(setCategories, () => undefined);
  }, [api]);

  const byId = useMemo(() => new Map(categories.map((c) => [c.id, c])), [categories]);
  const name = (id: string) => {
    const c = byId.get(id);
    return c ? (c.name[language] ?? c.name.en ?? id) : id;
  };
  const category = byId.get(values.category);
  const inputs = useMemo(() => (category ? formInputs(category.form) : []), [category]);

  const open = async () => {
    setError(null);
    setCreated(null);
    try {
      const fresh = contactId === null ? await blankRequestDraft(api) : await requestDraft(api, contactId);
      setNumberMissing(false);
      setDraft(fresh);
      setValues({ ...EMPTY, category: categories.some((c) => c.id === fresh.topic) ? (fresh.topic ?? "") : "" });
    } catch (err) {
      setError(err);
    }
  };

  const submit = async () => {
    if (!draft) return;
    // Without a call the typed number is the only way back to the citizen.
    const missing = draft.contact_id === null && values.callerNumber.trim() === "";
    setNumberMissing(missing);
    if (missing) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await createRequest(api, requestBody(values, inputs, draft));
      // A second submission's answer (created: false) does not hide that the first made it.
      setCreated((before) => (before?.created && before.request.id === answer.request.id ? before : answer));
      setDraft(null);
      loadHistory();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const problems: Record<string, string[]> = error instanceof ApiError ? problemsByField(error.problems) : {};
  if (numberMissing) problems["caller.number"] = [t("request.numberRequired"), ...(problems["caller.number"] ?? [])];
  const shown = new Set(["category", "caller.number", "caller.name", "caller.age", "address.postcode", "address.street", "address.house", "address.flat", "address.note", "note", ...inputs.map((i) => `form.${i.name}`)]);
  const unplaced = Object.entries(problems)
    .filter(([key]) => !shown.has(key))
    .flatMap(([key, messages]) => messages.map((m) => (key ? `${key}: ${m}` : m)));
  const set = (patch: Partial<PanelValues>) => setValues((v) => ({ ...v, ...patch }));
  const setAddress = (key: keyof PanelValues["address"], value: string) =>
    setValues((v) => ({ ...v, address: { ...v.address, [key]: value } }));
  const text = (id: string, label: string, key: string, value: string, onChange: (v: string) => void, extra = {}) => (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={value}
        aria-invalid={problems[key] ? true : undefined}
        aria-describedby={problems[key] ? `${id}-problem` : undefined}
        onChange={(e) => onChange(e.target.value)}
        {...extra}
      />
      <Problem id={`${id}-problem`} messages={problems[key]} />
    </div>
  );

  return (
    <section className="panel request-panel" aria-labelledby="requests-title">
      <h2 id="requests-title">{t(noCall ? "request.noCallTitle" : "request.title")}</h2>
      {noCall && !draft && <p className="muted small">{t("request.noCallHint")}</p>}
      {history === null || noCall ? null : history.length === 0 ? (
        <p className="muted">{t("request.noHistory")}</p>
      ) : (
        <table className="caller-requests">
          <thead>
            <tr>
              <th scope="col">{t("pop.request")}</th>
              <th scope="col">{t("pop.status")}</th>
              <th scope="col">{t("pop.when")}</th>
              <th scope="col">{t("request.worker")}</th>
            </tr>
          </thead>
          <tbody>
            {history.map((r) => (
              <tr key={r.id} data-request={r.id}>
                <td>{name(r.category)}</td>
                <td>
                  {t(REQUEST_STATE_KEYS[r.state])}
                  {r.sla_breached && <span className="badge urgent">{t("request.slaBreached")}</span>}
                </td>
                <td>{formatDateTime(r.created_at, locale)}</td>
                <td>{r.worker ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {created && (
        <p className="notice" role="status">
          {created.created
            ? t("request.created", { ref: requestRef(created.request.id) })
            : t("request.alreadyCreated", { ref: requestRef(created.request.id) })}{" "}
          {created.request.worker
            ? t("request.assignedTo", { worker: created.request.worker })
            : created.request.needs_district
              ? t("request.needsDistrict")
              : ""}
          {created.duplicates.length > 0 && ` ${t("request.duplicates", { count: created.duplicates.length })}`}
        </p>
      )}
      {!draft && <ErrorMessage error={error} onDismiss={() => setError(null)} />}
      {!draft ? (
        <button type="button" className="primary" onClick={() => void open()}>
          {t(noCall ? "request.createNoCall" : "request.create")}
        </button>
      ) : (
        <form
          className="request-form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          {Object.keys(problems).length > 0 ? (
            <div className="error" role="alert">
              <span>{t("request.fixFields")}</span>
              {unplaced.length > 0 && (
                <ul>
                  {unplaced.map((p, i) => (
                    <li key={i}>{p}</li>
                  ))}
                </ul>
              )}
            </div>
          ) : (
            <ErrorMessage error={error} onDismiss={() => setError(null)} />
          )}
          <div className="field">
            <label htmlFor="rq-category">{t("request.category")}</label>
            <select
              id="rq-category"
              value={values.category}
              aria-invalid={problems.category ? true : undefined}
              onChange={(e) => set({ category: e.target.value, form: {} })}
            >
              <option value="">{t("request.choose")}</option>
              {categories.map((c) => (
                <option key={c.id} value={c.id}>
                  {name(c.id)}
                </option>
              ))}
            </select>
            <Problem id="rq-category-problem" messages={problems.category} />
          </div>
          {draft.contact_id === null ? (
            text("rq-caller-number", t("request.citizenNumber"), "caller.number", values.callerNumber, (v) => set({ callerNumber: v }), {
              type: "tel",
              inputMode: "tel",
              autoComplete: "off",
              required: true,
              maxLength: 64,
            })
          ) : (
            <p className="muted small">
              {t("request.callerNumber")} <span className="num">{draft.caller.number ?? "—"}</span>
            </p>
          )}
          {text("rq-caller-name", t("request.callerName"), "caller.name", values.callerName, (v) => set({ callerName: v }))}
          {text("rq-caller-age", t("request.callerAge"), "caller.age", values.callerAge, (v) => set({ callerAge: v }), {
            inputMode: "numeric",
          })}
          <label className="check">
            <input type="checkbox" checked={values.disability} onChange={(e) => set({ disability: e.target.checked })} />
            {t("request.disability")}
          </label>
          {category && !category.information_only && (
            <fieldset className="request-address">
              <legend>{t("request.address")}</legend>
              {text("rq-postcode", t("request.postcode"), "address.postcode", values.address.postcode, (v) => setAddress("postcode", v), { inputMode: "numeric" })}
              {text("rq-street", t("request.street"), "address.street", values.address.street, (v) => setAddress("street", v))}
              {text("rq-house", t("request.house"), "address.house", values.address.house, (v) => setAddress("house", v))}
              {text("rq-flat", t("request.flat"), "address.flat", values.address.flat, (v) => setAddress("flat", v))}
              {text("rq-address-note", t("request.addressNote"), "address.note", values.address.note, (v) => setAddress("note", v))}
            </fieldset>
          )}
          {inputs.map((input) => (
            <FormField
              key={`${values.category}:${input.name}`}
              input={input}
              value={values.form[input.name]}
              problems={problems[`form.${input.name}`]}
              onChange={(v) => setValues((old) => ({ ...old, form: { ...old.form, [input.name]: v } }))}
            />
          ))}
          <label className="check">
            <input type="checkbox" checked={values.urgent} onChange={(e) => set({ urgent: e.target.checked })} />
            {t("request.urgent")}
          </label>
          <div className="field">
            <label htmlFor="rq-note">{t("request.note")}</label>
            <textarea id="rq-note" rows={2} maxLength={4000} value={values.note} onChange={(e) => set({ note: e.target.value })} />
            <Problem id="rq-note-problem" messages={problems.note} />
          </div>
          <div className="buttons">
            <button type="submit" className="primary" disabled={busy || !values.category}>
              {busy ? t("request.submitting") : t("request.submit")}
            </button>
            <button type="button" disabled={busy} onClick={() => setDraft(null)}>
              {t("request.cancel")}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
