import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import type { TransferMode, TransferTarget } from "../api/types";
import { useI18n } from "../i18n";
import { ErrorMessage } from "./ErrorMessage";

export interface QueueChoice {
  id: string;
  name: string;
}

interface Props {
  /** Where a call may go (GET /agent/options): queues and department lines, by name. */
  targets: TransferTarget[];
  onTransfer: (mode: TransferMode, target: string) => Promise<void>;
  onClose: () => void;
}

/** Blind or warm, to a queue or a department line, picked by name from the server's list. */
export function TransferDialog({ targets, onTransfer, onClose }: Props) {
  const queues = targets.filter((x) => x.kind === "queue");
  const lines = targets.filter((x) => x.kind === "line");
  const { t } = useI18n();
  const [mode, setMode] = useState<TransferMode>("blind");
  const [kind, setKind] = useState<"queue" | "line">("queue");
  const [queue, setQueue] = useState("");
  const [line, setLine] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  // A select's label is linked by id, not wrapped: a wrapping label's text would take in the options.
  const queueId = useId();
  const lineId = useId();

  useEffect(() => {
    first.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  const target = kind === "queue" ? queue : line;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!target) return;
    setBusy(true);
    setError(null);
    try {
      await onTransfer(mode, target);
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="modal-backdrop">
      <form className="modal" role="dialog" aria-modal="true" aria-labelledby="transfer-title" onSubmit={submit}>
        <h2 id="transfer-title">{t("transfer.title")}</h2>
        <fieldset>
          <legend>{t("transfer.mode")}</legend>
          <label>
            <input ref={first} type="radio" name="mode" checked={mode === "blind"} onChange={() => setMode("blind")} />
            {t("transfer.blind")}
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === "warm"} onChange={() => setMode("warm")} />
            {t("transfer.warm")}
          </label>
        </fieldset>
        <fieldset>
          <legend>{t("transfer.kind")}</legend>
          <label>
            <input type="radio" name="kind" checked={kind === "queue"} onChange={() => setKind("queue")} />
            {t("transfer.toQueue")}
          </label>
          <label>
            <input type="radio" name="kind" checked={kind === "line"} onChange={() => setKind("line")} />
            {t("transfer.toLine")}
          </label>
        </fieldset>
        {kind === "queue" ? (
          <div className="field">
            <label htmlFor={queueId}>{t("transfer.queue")}</label>
            <select id={queueId} value={queue} onChange={(e) => setQueue(e.target.value)} required>
              <option value="">{t("transfer.pickQueue")}</option>
              {queues.map((q) => (
                <option key={q.target} value={q.target}>
                  {q.name}
                </option>
              ))}
            </select>
          </div>
        ) : (
          <div className="field">
            <label htmlFor={lineId}>{t("transfer.line")}</label>
            <select id={lineId} value={line} onChange={(e) => setLine(e.target.value)} required>
              <option value="">{t("transfer.pickLine")}</option>
              {lines.map((l) => (
                <option key={l.target} value={l.target}>
                  {l.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <ErrorMessage error={error} />
        <div className="buttons">
          <button type="submit" className="primary" disabled={busy || !target}>
            {t("transfer.submit")}
          </button>
          <button type="button" onClick={onClose}>
            {t("transfer.cancel")}
          </button>
        </div>
      </form>
    </div>
  );
}
