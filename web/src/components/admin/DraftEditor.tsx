// The editing workflow the IVR flows and the live configuration share: edit a draft of the live
// text, check it (problems on their lines), see what it changes, publish it on top of the version
// it was made from. A draft made from an older version is refused by the server (someone else
// published since): the page says so and keeps the draft, so nothing is lost or overwritten.

import { useEffect, useRef, useState, type ReactNode } from "react";
import { ErrorMessage } from "../ErrorMessage";
import { useI18n } from "../../i18n";
import type { CheckResult, DiffResult, DraftProblem } from "./adminApi";
import { DiffView } from "./DiffView";
import { draftProblems, isStale } from "./logic";
import { ProblemList } from "./ProblemList";
import { YamlEditor, type YamlEditorHandle } from "./YamlEditor";

export interface Published {
  version: number;
  warnings: DraftProblem[];
}

type Busy = null | "check" | "diff" | "publish";

export function DraftEditor({
  id,
  label,
  draft,
  onDraft,
  edited,
  baseVersion,
  validate,
  diff,
  publish,
  onReload,
  changes,
}: {
  id: string;
  label: string;
  draft: string;
  onDraft: (yaml: string) => void;
  /** Whether the draft differs from the live text. */
  edited: boolean;
  baseVersion: number | null;
  validate: (yaml: string) => Promise<CheckResult>;
  diff: (yaml: string) => Promise<DiffResult>;
  publish: (yaml: string, note: string) => Promise<Published>;
  onReload: () => void;
  changes?: (result: DiffResult) => ReactNode;
}) {
  const { t } = useI18n();
  const editor = useRef<YamlEditorHandle>(null);
  const [check, setCheck] = useState<CheckResult | null>(null);
  const [shown, setShown] = useState<DiffResult | null>(null);
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState<Busy>(null);
  const [error, setError] = useState<unknown>(null);
  const [stale, setStale] = useState(false);
  const [done, setDone] = useState<Published | null>(null);

  // What was said about the draft no longer holds once it changes.
  useEffect(() => {
    setCheck(null);
    setShown(null);
    setDone(null);
  }, [draft]);

  const run = async (what: Exclude<Busy, null>, action: () => Promise<void>) => {
    setBusy(what);
    setError(null);
    try {
      await action();
    } catch (err) {
      const problems = draftProblems(err);
      if (problems) setCheck({ valid: false, problems, warnings: [] });
      else if (isStale(err)) setStale(true);
      else setError(err);
    } finally {
      setBusy(null);
    }
  };

  const onCheck = () => run("check", async () => setCheck(await validate(draft)));
  const onDiff = () => run("diff", async () => setShown(await diff(draft)));
  const onPublish = () =>
    run("publish", async () => {
      const result = await publish(draft, note.trim());
      setStale(false);
      setNote("");
      setShown(null);
      setDone(result);
      setCheck(result.warnings.length ? { valid: true, problems: [], warnings: result.warnings } : null);
    });

  return (
    <section className="draft" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{label}</h3>
      <p className="muted small">
        {baseVersion === null ? t("admin.base.none") : t("admin.base", { version: baseVersion })}
        {edited ? ` · ${t("admin.edited")}` : ""}
      </p>
      {stale && (
        <div className="error" role="alert">
          <p>{t("admin.stale")}</p>
          <div className="buttons">
            <button type="button" onClick={onDiff}>
              {t("admin.stale.compare")}
            </button>
            <button
              type="button"
              onClick={() => {
                setStale(false);
                onReload();
              }}
            >
              {t("admin.stale.reload")}
            </button>
          </div>
        </div>
      )}
      <YamlEditor ref={editor} id={`${id}-text`} label={label} value={draft} onChange={onDraft} problems={check?.problems} />
      <ProblemList
        id={`${id}-text-problems`}
        problems={check?.problems ?? []}
        warnings={check?.warnings ?? []}
        onGoTo={(line) => editor.current?.goToLine(line)}
      />
      {check?.valid && check.warnings.length === 0 && !done && (
        <p className="ok-note" role="status">
          {t("admin.valid")}
        </p>
      )}
      <div className="buttons">
        <button type="button" onClick={onCheck} disabled={busy !== null}>
          {busy === "check" ? t("admin.checking") : t("admin.check")}
        </button>
        <button type="button" onClick={onDiff} disabled={busy !== null}>
          {t("admin.showDiff")}
        </button>
        <button type="button" onClick={onReload} disabled={busy !== null || !edited}>
          {t("admin.discard")}
        </button>
      </div>
      <div className="field inline">
        <label htmlFor={`${id}-note`}>{t("admin.note")}</label>
        <input id={`${id}-note`} value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} />
        <button type="button" className="primary" onClick={onPublish} disabled={busy !== null}>
          {busy === "publish" ? t("admin.publishing") : t("admin.publish")}
        </button>
      </div>
      {done && (
        <p className="ok-note" role="status">
          {t("admin.published", { version: done.version })}
        </p>
      )}
      <ErrorMessage error={error} onDismiss={() => setError(null)} />
      {shown && (
        <div className="panel">
          <h4>{t("admin.diff.title", { version: shown.from_version ?? "—" })}</h4>
          {changes?.(shown)}
          <DiffView diff={shown.diff} caption={t("admin.diff.title", { version: shown.from_version ?? "—" })} />
        </div>
      )}
    </section>
  );
}
