import { useState } from "react";
import type { AgentState, ChosenState } from "../api/types";
import { useI18n, type MessageKey } from "../i18n";
import { formatDuration } from "../lib/format";

export const STATE_KEYS: Record<AgentState, MessageKey> = {
  offline: "state.offline",
  logged_out: "state.logged_out",
  ready: "state.ready",
  not_ready: "state.not_ready",
  reserved: "state.reserved",
  busy: "state.busy",
  wrap_up: "state.wrap_up",
};

interface Props {
  state: AgentState;
  reason: string | null;
  inState: number;
  busy: boolean;
  reasonDraft: string;
  onReasonDraft: (reason: string) => void;
  onChoose: (state: ChosenState, reason?: string) => void;
}

/** The agent's state and time in it, and the three choices the agent has. */
export function StatePanel({ state, reason, inState, busy, reasonDraft, onReasonDraft, onChoose }: Props) {
  const { t } = useI18n();
  const [askReason, setAskReason] = useState(false);
  const label = t(STATE_KEYS[state]);
  return (
    <section className="panel" aria-labelledby="state-title">
      <h2 id="state-title">{t("desk.state")}</h2>
      <p className={`state-now state-${state}`} aria-live="polite">
        {t("desk.stateNow", { state: label, time: formatDuration(inState) })}
      </p>
      {reason && <p className="muted">{t("desk.reasonShown", { reason })}</p>}
      <div className="buttons" role="group" aria-label={t("desk.state")}>
        <button
          type="button"
          className="ready"
          aria-pressed={state === "ready"}
          disabled={busy}
          onClick={() => onChoose("ready")}
        >
          {t("desk.goReady")}
        </button>
        <button
          type="button"
          aria-pressed={state === "not_ready"}
          disabled={busy}
          onClick={() => {
            setAskReason(true);
            onChoose("not_ready", reasonDraft.trim() || undefined);
          }}
        >
          {t("desk.goNotReady")}
        </button>
        <button
          type="button"
          aria-pressed={state === "logged_out" || state === "offline"}
          disabled={busy}
          onClick={() => onChoose("logged_out")}
        >
          {t("desk.goLoggedOut")}
        </button>
      </div>
      {(askReason || state === "not_ready") && (
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            onChoose("not_ready", reasonDraft.trim() || undefined);
          }}
        >
          <label className="field">
            {t("desk.reason")}
            <input value={reasonDraft} onChange={(e) => onReasonDraft(e.target.value)} maxLength={200} />
          </label>
        </form>
      )}
    </section>
  );
}
