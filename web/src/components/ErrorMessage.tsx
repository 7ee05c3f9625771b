import { useI18n } from "../i18n";
import { describeError } from "../lib/errors";

/** An API error, readable, announced to screen readers; nothing when there is no error. */
export function ErrorMessage({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  const { t } = useI18n();
  if (error === null || error === undefined) return null;
  const { text, problems } = describeError(error, t);
  return (
    <div className="error" role="alert">
      <span>{text}</span>
      {problems.length > 0 && (
        <ul>
          {problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
      {onDismiss && (
        <button type="button" className="link" onClick={onDismiss}>
          {t("error.dismiss")}
        </button>
      )}
    </div>
  );
}
