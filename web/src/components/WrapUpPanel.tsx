import { useState, type FormEvent } from "react";
import { useI18n } from "../i18n";
import { formatDuration } from "../lib/format";
import { ErrorMessage } from "./ErrorMessage";

interface Props {
  elapsed: number;
  onFinish: (code: string) => Promise<void>;
}

/**
 * After the call: the disposition code and the running wrap-up time. The code is typed, since
 * the contract has no list of wrap-up codes for the agent yet; the server validates it.
 */
export function WrapUpPanel({ elapsed, onFinish }: Props) {
  const { t } = useI18n();
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
        <label className="field">
          {t("wrap.code")}
          <input value={code} onChange={(e) => setCode(e.target.value)} required autoComplete="off" />
        </label>
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy || !code.trim()}>
          {busy ? t("wrap.busy") : t("wrap.submit")}
        </button>
      </form>
    </section>
  );
}
