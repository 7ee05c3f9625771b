// The field worker's page, made for a phone held in one hand: their own tasks (the server sends
// no one else's, and the caller's number only masked), big buttons for each step, calling the
// citizen through the platform, and going on or off duty. It refreshes when the live connection
// says one of their requests changed, and every minute anyway as a backstop.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiError, type ApiClient } from "../api/client";
import {
  callCitizen,
  declineTask,
  failTask,
  finishTask,
  listTasks,
  myDuty,
  requestCategories,
  setDuty,
  stepTask,
  type Category,
  type CitizenCall,
  type FieldTask,
  type FieldWorkerStatus,
} from "../api/requests";
import { ErrorMessage } from "../components/ErrorMessage";
import { useI18n, type MessageKey } from "../i18n";
import { formatAddress, formInputs, isOpen, problemsByField, STATE_KEYS, taskActions } from "../lib/fieldwork";
import { formatDateTime } from "../lib/format";
import { useLive, useLiveStore } from "../live/LiveContext";
import "./FieldPage.css";

const POLL_MS = 60_000;

/** The step that needs words from the field worker before it is sent. */
type Writing = "done" | "failed" | "decline";

const WRITING: Record<Writing, { label: MessageKey; submit: MessageKey; field: string }> = {
  done: { label: "field.doneNote", submit: "field.confirmDone", field: "note" },
  failed: { label: "field.failedReason", submit: "field.confirmFailed", field: "reason" },
  decline: { label: "field.declineReason", submit: "field.confirmDecline", field: "reason" },
};

function TaskCard({
  api,
  task,
  category,
  onChanged,
}: {
  api: ApiClient;
  task: FieldTask;
  category: Category | undefined;
  onChanged: (task: FieldTask | null) => void;
}) {
  const { t, language, locale } = useI18n();
  const [writing, setWriting] = useState<Writing | null>(null);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [call, setCall] = useState<CitizenCall | null>(null);

  const run = async (action: () => Promise<FieldTask | null | void>) => {
    setBusy(true);
    setError(null);
    try {
      const after = await action();
      setWriting(null);
      setText("");
      onChanged(after ?? null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const placeCall = async () => {
    setBusy(true);
    setError(null);
    setCall(null);
    try {
      setCall(await callCitizen(api, task.id));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const submitWriting = () => {
    if (writing === "done") return run(() => finishTask(api, task.id, text));
    if (writing === "failed") return run(() => failTask(api, task.id, text));
    if (writing === "decline") return run(() => declineTask(api, task.id, text));
  };

  const problems = error instanceof ApiError ? problemsByField(error.problems) : {};
  const fieldProblems = writing ? (problems[WRITING[writing].field] ?? []) : [];
  const otherError = fieldProblems.length > 0 ? null : error;
  const inputs = useMemo(() => (category ? formInputs(category.form) : []), [category]);
  const titles = Object.fromEntries(inputs.map((i) => [i.name, i.title]));
  const address = formatAddress(task, t("field.flat"));
  const actions = taskActions(task.state);
  const titleId = `task-${task.id}-title`;
  const writingId = `task-${task.id}-writing`;

  return (
    <article className={`task-card task-${task.state}`} aria-labelledby={titleId} data-task={task.id}>
      <header className="task-head">
        <h2 id={titleId}>{category ? (category.name[language] ?? category.name.en ?? category.id) : task.category}</h2>
        <span className={`badge task-state state-${task.state}`}>{t(STATE_KEYS[task.state])}</span>
        {task.urgent && <span className="badge urgent">{t("field.urgent")}</span>}
        {!task.urgent && task.priority > 0 && <span className="badge high">{t("field.highPriority")}</span>}
      </header>
      <p className="task-address">{address || t("field.noAddress")}</p>
      {task.address_note && <p className="task-note">{task.address_note}</p>}
      <dl className="task-facts">
        <div>
          <dt>{t("field.citizen")}</dt>
          <dd>
            {task.caller_name ?? "—"} <span className="masked num">{task.caller_number}</span>
          </dd>
        </div>
        {Object.entries(task.form).map(([name, value]) => (
          <div key={name}>
            <dt>{titles[name] ?? name}</dt>
            <dd>{typeof value === "boolean" ? (value ? t("field.yes") : t("field.no")) : String(value)}</dd>
          </div>
        ))}
        {task.note && (
          <div>
            <dt>{t("field.agentNote")}</dt>
            <dd>{task.note}</dd>
          </div>
        )}
        {task.state === "assigned" && task.accept_by && (
          <div>
            <dt>{t("field.acceptBy")}</dt>
            <dd>{formatDateTime(task.accept_by, locale)}</dd>
          </div>
        )}
        {isOpen(task.state) && (
          <div>
            <dt>{t("field.deadline")}</dt>
            <dd>{formatDateTime(task.sla_deadline, locale)}</dd>
          </div>
        )}
        {task.outcome_note && (
          <div>
            <dt>{t("field.outcome")}</dt>
            <dd>{task.outcome_note}</dd>
          </div>
        )}
        {task.reason && (
          <div>
            <dt>{t("field.reason")}</dt>
            <dd>{task.reason}</dd>
          </div>
        )}
      </dl>
      {call && (
        <p className="notice" role="status">
          {call.mode === "bridge" ? t("field.callBridge") : t("field.callAgent")}
        </p>
      )}
      {otherError instanceof ApiError && otherError.code === "no_outbound_route" ? (
        <p className="error" role="alert">
          {t("field.noRoute")}
        </p>
      ) : (
        <ErrorMessage error={otherError} onDismiss={() => setError(null)} />
      )}
      {writing ? (
        <form
          className="task-writing"
          onSubmit={(e) => {
            e.preventDefault();
            void submitWriting();
          }}
        >
          <label htmlFor={writingId}>{t(WRITING[writing].label)}</label>
          <textarea
            id={writingId}
            value={text}
            rows={3}
            maxLength={4000}
            aria-invalid={fieldProblems.length > 0 || undefined}
            aria-describedby={fieldProblems.length > 0 ? `${writingId}-problem` : undefined}
            onChange={(e) => {
              setText(e.target.value);
              setError(null); // the message was about what was there before
            }}
          />
          {fieldProblems.length > 0 && (
            <p id={`${writingId}-problem`} className="field-problem" role="alert">
              {fieldProblems.join(" ")}
            </p>
          )}
          <div className="task-buttons">
            <button type="submit" className={writing === "done" ? "primary" : "danger"} disabled={busy}>
              {t(WRITING[writing].submit)}
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                setWriting(null);
                setError(null);
              }}
            >
              {t("field.back")}
            </button>
          </div>
        </form>
      ) : (
        actions.length > 0 && (
          <div className="task-buttons">
            {actions.includes("accept") && (
              <button type="button" className="primary" disabled={busy} onClick={() => void run(() => stepTask(api, task.id, "accept"))}>
                {t("field.accept")}
              </button>
            )}
            {actions.includes("call") && (
              <button type="button" className="call" disabled={busy} onClick={() => void placeCall()}>
                {t("field.call")}
              </button>
            )}
            {actions.includes("start") && (
              <button type="button" disabled={busy} onClick={() => void run(() => stepTask(api, task.id, "start"))}>
                {t("field.start")}
              </button>
            )}
            {actions.includes("done") && (
              <button type="button" className="primary" disabled={busy} onClick={() => setWriting("done")}>
                {t("field.done")}
              </button>
            )}
            {actions.includes("failed") && (
              <button type="button" disabled={busy} onClick={() => setWriting("failed")}>
                {t("field.failed")}
              </button>
            )}
            {actions.includes("decline") && (
              <button type="button" disabled={busy} onClick={() => setWriting("decline")}>
                {t("field.decline")}
              </button>
            )}
          </div>
        )
      )}
    </article>
  );
}

export function FieldPage({ api }: { api: ApiClient }) {
  const { t } = useI18n();
  const live = useLive();
  const store = useLiveStore();
  const [tasks, setTasks] = useState<FieldTask[] | null>(null);
  const [duty, setDutyState] = useState<FieldWorkerStatus | null>(null);
  const [categories, setCategories] = useState<Category[]>([]);
  const [showEnded, setShowEnded] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [dutyBusy, setDutyBusy] = useState(false);
  const loading = useRef(0);

  const load = useCallback(async () => {
    const mine = ++loading.current;
    try {
      const [found, status] = await Promise.all([listTasks(api, showEnded), myDuty(api)]);
      if (mine !== loading.current) return; // a newer load answers for the page
      setTasks(found);
      setDutyState(status);
      setError(null);
    } catch (err) {
      if (mine === loading.current) setError(err);
    }
  }, [api, showEnded]);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), POLL_MS);
    return () => window.clearInterval(timer);
  }, [load]);

  useEffect(
    () =>
      store.onEvent((event) => {
        if (event.type === "request.changed") void load();
      }),
    [store, load],
  );

  // Back online after a drop: what changed meanwhile may have been missed.
  useEffect(() => {
    if (live.status === "open") void load();
  }, [live.status, load]);

  useEffect(() => {
    requestCategories(api).then(setCategories, () => undefined);
  }, [api]);

  const changeDuty = async () => {
    if (!duty) return;
    setDutyBusy(true);
    try {
      setDutyState(await setDuty(api, !duty.available));
    } catch (err) {
      setError(err);
    } finally {
      setDutyBusy(false);
    }
  };

  const byId = useMemo(() => new Map(categories.map((c) => [c.id, c])), [categories]);
  const open = (tasks ?? []).filter((task) => isOpen(task.state));
  const ended = (tasks ?? []).filter((task) => !isOpen(task.state));

  return (
    <main className="field-page" aria-labelledby="field-title">
      <div className="field-top">
        <h1 id="field-title">{t("field.title")}</h1>
        {duty && (
          <button
            type="button"
            className="duty"
            aria-pressed={duty.available}
            disabled={dutyBusy}
            onClick={() => void changeDuty()}
          >
            {duty.available ? t("field.onDuty") : t("field.offDuty")}
          </button>
        )}
      </div>
      {duty && (
        <p className="muted" aria-live="polite">
          {t("field.load", { active: duty.active_tasks, capacity: duty.capacity })}
        </p>
      )}
      <ErrorMessage error={error} onDismiss={() => void load()} />
      {tasks === null ? (
        <p role="status">{t("app.loading")}</p>
      ) : open.length === 0 ? (
        <p className="muted field-empty">{t("field.none")}</p>
      ) : (
        <div className="task-list">
          {open.map((task) => (
            <TaskCard
              key={task.id}
              api={api}
              task={task}
              category={byId.get(task.category)}
              onChanged={() => void load()}
            />
          ))}
        </div>
      )}
      <label className="check ended-toggle">
        <input type="checkbox" checked={showEnded} onChange={(e) => setShowEnded(e.target.checked)} />
        {t("field.showEnded")}
      </label>
      {showEnded && ended.length > 0 && (
        <div className="task-list ended">
          {ended.map((task) => (
            <TaskCard key={task.id} api={api} task={task} category={byId.get(task.category)} onChanged={() => void load()} />
          ))}
        </div>
      )}
    </main>
  );
}
