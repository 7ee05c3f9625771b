import { useId, useState, type FormEvent } from "react";
import type { WrapUpCode } from "../api/types";
import { useI18n } from "../i18n";
import { formatDuration } from "../lib/format";
import { ErrorMessage } from "./ErrorMessage";

interface Props {
  elapsed: number;
  /** The codes to pick from (GET /agent/options); null while unknown: the code is typed then. */
  codes: WrapUpCode[] | null;
  onFinish: (code: string) => Promise<void>;
}

/** After the call: the disposition code, picked by its name, and the running wrap-up time. */
export function WrapUpPanel({ elapsed, codes, onFinish }: Props) {
  const { t } = useI18n();
  const codeId = useId();
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!code.trim()) return;
    setBusy(true);
    setError(null);
    try {
      await onFinish(code.trim());
      setCode("");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel wrapup" aria-labelledby="wrap-title">
      <h2 id="wrap-title">{t("wrap.title")}</h2>
      <p className="timer">
        {t("wrap.timer")}:{" "}
        <span role="timer" aria-label={t("wrap.timer")}>
          {formatDuration(elapsed)}
        </span>
      </p>
      <form onSubmit={submit}>
        {codes && codes.length > 0 ? (
          <div className="field">
            <label htmlFor={codeId}>{t("wrap.code")}</label>
            <select id={codeId} value={code} onChange={(e) => setCode(e.target.value)} required>
              <option value="">{t("wrap.pickCode")}</option>
              {codes.map((c) => (
                <option key={c.id} value={c.id} title={c.description ?? undefined}>
                  {c.name}
                </option>
              ))}
            </select>
          </div>
        ) : (
          <label className="field">
            {t("wrap.code")}
            <input value={code} onChange={(e) => setCode(e.target.value)} required autoComplete="off" />
          </label>
        )}
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy || !code.trim()}>
          {busy ? t("wrap.busy") : t("wrap.submit")}
        </button>
      </form>
    </section>
  );
}
