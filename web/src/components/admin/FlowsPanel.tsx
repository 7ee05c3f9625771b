// The IVR flow editor: a line's live flow as YAML, a draft of it checked, compared and published
// (the next call runs it), and the line's versions with rollback. Drafts are kept in the tab
// (sessionStorage), so a reload does not lose an afternoon's edits.

import { useCallback, useEffect, useId, useState } from "react";
import { ErrorMessage } from "../ErrorMessage";
import { useI18n } from "../../i18n";
import { loadText, saveText } from "../../lib/storage";
import type { AdminApi, FlowVersion, LineSummary } from "./adminApi";
import { DraftEditor } from "./DraftEditor";
import { VersionList } from "./VersionList";

const NEW_FLOW = `name: New flow
language: ru
start: menu
steps:
  menu:
    type: menu
    prompts: [{say: "Press one to speak to an operator."}]
    options: {"1": to_queue}
  to_queue:
    type: enqueue
    queue: QUEUE_ID
`;

const draftKey = (line: string) => `hotline.admin.flow.${line}`;

export function FlowsPanel({ admin }: { admin: AdminApi }) {
  const { t } = useI18n();
  const lineSelect = useId();
  const [lines, setLines] = useState<LineSummary[] | null>(null);
  const [lineId, setLineId] = useState<string | null>(null);
  const [versions, setVersions] = useState<FlowVersion[]>([]);
  const [live, setLive] = useState<{ version: number | null; yaml: string } | null>(null);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<unknown>(null);

  const loadLines = useCallback(async () => {
    const found = await admin.lines();
    setLines(found);
    setLineId((current) => current ?? found[0]?.id ?? null);
    return found;
  }, [admin]);

  const loadLine = useCallback(
    async (line: string, keepDraft: boolean) => {
      const [found, history] = await Promise.all([loadLines(), admin.flowVersions(line)]);
      const summary = found.find((l) => l.id === line);
      const version = summary?.current_version ?? null;
      const text = version === null ? "" : (await admin.flowVersion(line, version)).yaml;
      setVersions(history);
      setLive({ version, yaml: text });
      const saved = keepDraft ? loadText(draftKey(line), "tab") : null;
      setDraft(saved ?? (text || NEW_FLOW));
    },
    [admin, loadLines],
  );

  useEffect(() => {
    loadLines().catch(setError);
  }, [loadLines]);

  useEffect(() => {
    if (lineId === null) return;
    setLive(null);
    loadLine(lineId, true).catch(setError);
  }, [lineId, loadLine]);

  const changeDraft = (text: string) => {
    setDraft(text);
    if (lineId !== null) saveText(draftKey(lineId), text === live?.yaml ? null : text, "tab");
  };

  const reload = () => {
    if (lineId === null) return;
    saveText(draftKey(lineId), null, "tab");
    loadLine(lineId, false).catch(setError);
  };

  if (lines === null) return <p role="status">{t("app.loading")}</p>;
  if (lines.length === 0) return <p className="muted">{t("admin.flows.noLines")}</p>;
  const line = lines.find((l) => l.id === lineId);

  return (
    <div className="admin-columns">
      <div>
        <div className="field inline">
          <label htmlFor={lineSelect}>{t("admin.flows.line")}</label>
          <select id={lineSelect} value={lineId ?? ""} onChange={(e) => setLineId(e.target.value)}>
            {lines.map((l) => (
              <option key={l.id} value={l.id}>
                {t("admin.flows.lineOption", { name: l.name, number: l.number })}
              </option>
            ))}
          </select>
        </div>
        <ErrorMessage error={error} onDismiss={() => setError(null)} />
        {line && live && (
          <DraftEditor
            id="flow"
            label={t("admin.flows.draft", { line: line.name })}
            draft={draft}
            onDraft={changeDraft}
            edited={draft !== live.yaml}
            baseVersion={live.version}
            validate={(yaml) => admin.validateFlow(line.id, yaml)}
            diff={(yaml) => admin.diffFlow(line.id, yaml)}
            publish={async (yaml, note) => {
              const result = await admin.publishFlow(line.id, yaml, live.version, note);
              saveText(draftKey(line.id), null, "tab");
              await loadLine(line.id, false);
              return { version: result.version.version, warnings: result.warnings };
            }}
            onReload={reload}
          />
        )}
      </div>
      {line && live && (
        <section aria-labelledby="flow-versions">
          <h3 id="flow-versions">{t("admin.versions")}</h3>
          <VersionList
            versions={versions}
            onOpen={(version) => {
              admin
                .flowVersion(line.id, version)
                .then((v) => changeDraft(v.yaml))
                .catch(setError);
            }}
            onRollback={async (version) => {
              await admin.rollbackFlow(line.id, version, live.version);
              await loadLine(line.id, false);
            }}
          />
        </section>
      )}
    </div>
  );
}
