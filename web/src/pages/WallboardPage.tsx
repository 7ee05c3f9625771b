// The supervisor's live view: a tile per queue (grouped by topic, coloured at thresholds) and a
// table of agents with their time in state ticking, where the supervisor can change a state.

import { useId, useMemo, useState, type FormEvent } from "react";
import type { ApiClient } from "../api/client";
import type { AgentRow, ChosenState, QueueFigures } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { STATE_KEYS } from "../components/StatePanel";
import { useI18n, type MessageKey } from "../i18n";
import { formatDuration, formatPercent } from "../lib/format";
import {
  DEFAULT_SL_TARGET_SECONDS,
  longestWaitLevel,
  queueLevel,
  serviceLevelLevel,
  waitingLevel,
  type Level,
} from "../lib/thresholds";
import { useNow } from "../lib/useNow";
import { agentsFor, groupByTopic, longestWaitNow } from "../lib/wallboard";
import { useLive } from "../live/LiveContext";
import { secondsSince } from "../live/store";

const LEVEL_KEYS: Record<Level, MessageKey> = {
  ok: "board.level.ok",
  warn: "board.level.warn",
  alarm: "board.level.alarm",
};
const ALL = "\u0000all";
const NONE = "\u0000none";

function Figure({ label, value, level }: { label: string; value: string | number; level?: Level }) {
  return (
    <div className={`figure level-${level ?? "ok"}`}>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function QueueTile({ figures, longest }: { figures: QueueFigures; longest: number }) {
  const { t, locale } = useI18n();
  const target = figures.sl_target_seconds || DEFAULT_SL_TARGET_SECONDS;
  const level = queueLevel(figures, longest);
  const titleId = `queue-${figures.queue_id}`;
  return (
    <article className={`tile level-${level}`} aria-labelledby={titleId}>
      <header>
        <h3 id={titleId}>{figures.name}</h3>
        <span className="level-word">{t(LEVEL_KEYS[level])}</span>
      </header>
      <dl>
        <Figure label={t("board.waiting")} value={figures.waiting} level={waitingLevel(figures)} />
        <Figure
          label={t("board.longestWait")}
          value={figures.waiting > 0 ? formatDuration(longest) : "—"}
          level={longestWaitLevel(longest, target)}
        />
        <Figure
          label={t("board.slToday")}
          value={formatPercent(figures.service_level_today, locale)}
          level={serviceLevelLevel(figures.service_level_today)}
        />
        <Figure
          label={t("board.sl30")}
          value={formatPercent(figures.service_level_30min, locale)}
          level={serviceLevelLevel(figures.service_level_30min)}
        />
        <Figure label={t("board.asa")} value={formatDuration(figures.asa_today_seconds)} />
        <Figure label={t("board.asa30")} value={formatDuration(figures.asa_30min_seconds)} />
        <Figure label={t("board.abandoned")} value={figures.abandoned_today} />
        <Figure label={t("board.abandoned30")} value={figures.abandoned_30min} />
        <Figure label={t("board.callbacks")} value={figures.callbacks_waiting} />
      </dl>
    </article>
  );
}

function AgentStateControl({ api, agent }: { api: ApiClient; agent: AgentRow }) {
  const { t } = useI18n();
  const [state, setState] = useState<ChosenState>("ready");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.setAgentState(agent.username, state, state === "not_ready" ? reason.trim() || undefined : undefined);
      setReason("");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline" onSubmit={submit}>
      <select
        aria-label={t("board.setStateFor", { name: agent.name })}
        value={state}
        onChange={(e) => setState(e.target.value as ChosenState)}
      >
        <option value="ready">{t("state.ready")}</option>
        <option value="not_ready">{t("state.not_ready")}</option>
        <option value="logged_out">{t("state.logged_out")}</option>
      </select>
      {state === "not_ready" && (
        <input
          aria-label={t("board.reasonFor", { name: agent.name })}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          maxLength={200}
        />
      )}
      <button type="submit" disabled={busy} aria-label={t("board.applyFor", { name: agent.name })}>
        {t("board.apply")}
      </button>
      <ErrorMessage error={error} onDismiss={() => setError(null)} />
    </form>
  );
}

export function WallboardPage({ api }: { api: ApiClient }) {
  const { t } = useI18n();
  const live = useLive();
  const now = useNow();
  const [topic, setTopic] = useState<string>(ALL);
  const topicId = useId();
  const snapshot = live.snapshot;
  const groups = useMemo(() => groupByTopic(snapshot?.queues ?? []), [snapshot?.queues]);
  const queueNames = useMemo(
    () => new Map((snapshot?.queues ?? []).map((q) => [q.queue_id, q.name])),
    [snapshot?.queues],
  );

  if (snapshot === null) {
    return (
      <main className="board">
        <h1>{t("board.title")}</h1>
        <p className="muted" role="status">
          {t("board.waitingForData")}
        </p>
      </main>
    );
  }

  const shown = topic === ALL ? groups : groups.filter((g) => (g.topic ?? NONE) === topic);
  const queueIds = topic === ALL ? null : new Set(shown.flatMap((g) => g.queues.map((q) => q.queue_id)));
  const agents = agentsFor(snapshot.agents, queueIds);
  const topicName = (name: string | null) => name ?? t("board.noTopic");

  return (
    <main className="board" aria-labelledby="board-title">
      <div className="board-head">
        <h1 id="board-title">{t("board.title")}</h1>
        {groups.length > 1 && (
          <div className="field inline">
            <label htmlFor={topicId}>{t("board.topic")}</label>
            <select id={topicId} value={topic} onChange={(e) => setTopic(e.target.value)}>
              <option value={ALL}>{t("board.allTopics")}</option>
              {groups.map((g) => (
                <option key={g.topic ?? NONE} value={g.topic ?? NONE}>
                  {topicName(g.name)}
                </option>
              ))}
            </select>
          </div>
        )}
      </div>
      <section aria-labelledby="board-queues">
        <h2 id="board-queues">{t("board.queues")}</h2>
        {shown.length === 0 && <p className="muted">{t("board.noQueues")}</p>}
        {shown.map((g) => (
          <section key={g.topic ?? NONE} className="topic" aria-label={`${t("board.topic")}: ${topicName(g.name)}`}>
            {groups.length > 1 && <h3 className="topic-name">{topicName(g.name)}</h3>}
            <div className="tiles">
              {g.queues.map((q) => (
                <QueueTile
                  key={q.queue_id}
                  figures={q}
                  longest={longestWaitNow(q, live.queueReceivedAt[q.queue_id], now)}
                />
              ))}
            </div>
          </section>
        ))}
      </section>
      <section aria-labelledby="board-agents">
        <h2 id="board-agents">{t("board.agents")}</h2>
        {agents.length === 0 ? (
          <p className="muted">{t("board.noAgents")}</p>
        ) : (
          <table className="agents">
            <thead>
              <tr>
                <th scope="col">{t("board.agent")}</th>
                <th scope="col">{t("board.state")}</th>
                <th scope="col">{t("board.inState")}</th>
                <th scope="col">{t("board.contact")}</th>
                <th scope="col">{t("board.agentQueues")}</th>
                <th scope="col">{t("board.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {agents.map((a) => (
                <tr key={a.username} className={`state-${a.state}`}>
                  <th scope="row">{a.name}</th>
                  <td>
                    <span className={`state-chip state-${a.state}`}>{t(STATE_KEYS[a.state] ?? "state.offline")}</span>
                    {a.reason && <span className="muted"> ({a.reason})</span>}
                  </td>
                  <td className="num">{formatDuration(secondsSince(a.since, now, live.clockOffset))}</td>
                  <td>{a.contact_id ?? "—"}</td>
                  <td>{a.queues.map((q) => queueNames.get(q) ?? q).join(", ")}</td>
                  <td>
                    <AgentStateControl api={api} agent={a} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </main>
  );
}
