// The topic's script: the steps taken so far with their answers, and the question now asked with a
// button per answer (or a box for free text). Each answer is saved on the server at once; the
// server's runner says where the script goes next. An earlier answer can be changed: the script
// takes the new branch from there. All text (the script's and the caller's answers) is shown as
// text, never as markup.

import { useState } from "react";
import type { ApiClient } from "../api/client";
import { ApiError } from "../api/client";
import { answerScript, type Script, type ScriptState, type ScriptStep } from "../api/scripts";
import { useI18n } from "../i18n";
import { ErrorMessage } from "./ErrorMessage";
import { takes, transcript, type TranscriptRow } from "./ScriptPanel.logic";
import "./ScriptPanel.css";

interface Props {
  api: ApiClient;
  contactId: string;
  script: Script;
  state: ScriptState;
  /** the server says the contact's script changed (another topic): load it again */
  onReload: () => void;
}

export function ScriptPanel({ api, contactId, script, state: initial, onReload }: Props) {
  const { t } = useI18n();
  const [state, setState] = useState(initial);
  const [saving, setSaving] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [changed, setChanged] = useState(false);

  const give = async (step: ScriptStep, answer: string) => {
    if (saving !== null || !takes(step, answer)) return;
    setSaving(step.id);
    setError(null);
    try {
      setState(await answerScript(api, contactId, { step: step.id, answer, script_id: script.id }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) setChanged(true);
      else setError(err);
    } finally {
      setSaving(null);
    }
  };

  const rows = transcript(script, state);
  return (
    <section className="panel script-panel" aria-labelledby="script-title">
      <h2 id="script-title">{t("script.title")}</h2>
      <p className="muted small">{t("script.version", { name: script.name, version: script.version })}</p>
      <ErrorMessage error={error} onDismiss={() => setError(null)} />
      {changed && (
        <div className="error" role="alert">
          <span>{t("script.changed")}</span>{" "}
          <button type="button" onClick={onReload}>
            {t("script.reload")}
          </button>
        </div>
      )}
      <ol className="script-steps">
        {rows.map((row) => (
          <ScriptRow key={row.step.id} row={row} busy={saving !== null} saving={saving === row.step.id} onAnswer={give} />
        ))}
      </ol>
      {state.done && <p className="script-done">{t("script.done")}</p>}
    </section>
  );
}

function ScriptRow({
  row,
  busy,
  saving,
  onAnswer,
}: {
  row: TranscriptRow;
  busy: boolean;
  saving: boolean;
  onAnswer: (step: ScriptStep, answer: string) => void;
}) {
  const { t } = useI18n();
  const { step } = row;
  const question = step.ask !== null;
  const labelId = `script-step-${step.id}`;
  return (
    <li className={row.current ? "script-step current" : "script-step"} aria-current={row.current ? "step" : undefined}>
      <p className="script-text" id={labelId}>
        <span className="script-kind">{question ? t("script.ask") : t("script.say")}</span> {question ? step.ask : step.say}
      </p>
      {step.hint && (
        <p className="script-hint small">
          <span className="script-kind">{t("script.hint")}</span> {step.hint}
        </p>
      )}
      {question && step.choices.length > 0 && (
        <div className="buttons" role="group" aria-labelledby={labelId}>
          {step.choices.map((choice) => (
            <button
              key={choice.value}
              type="button"
              aria-pressed={row.answer === choice.value}
              disabled={busy}
              onClick={() => onAnswer(step, choice.value)}
            >
              {choice.label}
            </button>
          ))}
        </div>
      )}
      {question && step.choices.length === 0 && (
        <FreeText step={step} answer={row.answer} labelId={labelId} busy={busy} onAnswer={onAnswer} />
      )}
      {saving && <p className="muted small">{t("script.saving")}</p>}
    </li>
  );
}

function FreeText({
  step,
  answer,
  labelId,
  busy,
  onAnswer,
}: {
  step: ScriptStep;
  answer: string | null;
  labelId: string;
  busy: boolean;
  onAnswer: (step: ScriptStep, answer: string) => void;
}) {
  const { t } = useI18n();
  const [editing, setEditing] = useState(answer === null);
  const [text, setText] = useState(answer ?? "");
  if (answer !== null && !editing) {
    return (
      <p className="script-answer">
        <span className="script-kind">{t("script.answer")}</span> {answer}{" "}
        <button type="button" className="link" onClick={() => setEditing(true)}>
          {t("script.change")}
        </button>
      </p>
    );
  }
  return (
    <form
      className="inline"
      onSubmit={(e) => {
        e.preventDefault();
        if (!takes(step, text)) return;
        setEditing(false);
        onAnswer(step, text);
      }}
    >
      <input
        aria-labelledby={labelId}
        value={text}
        maxLength={2000}
        onChange={(e) => setText(e.target.value)}
        disabled={busy}
      />
      <button type="submit" disabled={busy || !takes(step, text)}>
        {t("script.save")}
      </button>
    </form>
  );
}
