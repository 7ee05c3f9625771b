import { useState, type FormEvent } from "react";
import type { ApiClient } from "../api/client";
import { ErrorMessage } from "../components/ErrorMessage";
import { useI18n } from "../i18n";

/** The forced first-login password change (and any later one). */
export function PasswordPage({ api, forced, onChanged }: { api: ApiClient; forced: boolean; onChanged: () => void }) {
  const { t } = useI18n();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const mismatch = repeat !== "" && next !== repeat;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (next !== repeat) return;
    setBusy(true);
    setError(null);
    try {
      await api.changePassword(current, next);
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="centered">
      <form className="card" onSubmit={submit} aria-labelledby="password-title">
        <h1 id="password-title">{t("password.title")}</h1>
        {forced && <p>{t("password.required")}</p>}
        <label className="field">
          {t("password.current")}
          <input
            type="password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            autoComplete="current-password"
            autoFocus
            required
          />
        </label>
        <label className="field">
          {t("password.new")}
          <input
            type="password"
            value={next}
            onChange={(e) => setNext(e.target.value)}
            autoComplete="new-password"
            required
          />
        </label>
        <label className="field">
          {t("password.repeat")}
          <input
            type="password"
            value={repeat}
            onChange={(e) => setRepeat(e.target.value)}
            autoComplete="new-password"
            aria-invalid={mismatch}
            required
          />
        </label>
        {mismatch && (
          <p className="error" role="alert">
            {t("password.mismatch")}
          </p>
        )}
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy || mismatch}>
          {t("password.submit")}
        </button>
      </form>
    </main>
  );
}
