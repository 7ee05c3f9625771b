// A record's published versions, newest first: who, when, what it copied, and a rollback to any
// older one (a new version copying it, so the history only grows).

import { useState } from "react";
import { ErrorMessage } from "../ErrorMessage";
import { useI18n } from "../../i18n";
import { formatDateTime } from "../../lib/format";

export interface VersionRow {
  version: number;
  published_at: string;
  published_by: string;
  based_on: number | null;
  note: string | null;
  current: boolean;
}

export function VersionList({
  versions,
  onOpen,
  onRollback,
}: {
  versions: VersionRow[];
  onOpen: (version: number) => void;
  onRollback: (version: number) => Promise<void>;
}) {
  const { t, locale } = useI18n();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<number | null>(null);
  if (versions.length === 0) return <p className="muted">{t("admin.versions.none")}</p>;

  const rollback = async (version: number) => {
    if (!window.confirm(t("admin.versions.confirm", { version }))) return;
    setBusy(version);
    setError(null);
    try {
      await onRollback(version);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div>
      <ErrorMessage error={error} onDismiss={() => setError(null)} />
      <table className="versions">
        <caption className="visually-hidden">{t("admin.versions")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.versions.version")}</th>
            <th scope="col">{t("admin.versions.when")}</th>
            <th scope="col">{t("admin.versions.who")}</th>
            <th scope="col">{t("admin.versions.note")}</th>
            <th scope="col">{t("admin.versions.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} className={v.current ? "current" : undefined}>
              <td className="num">
                {v.version}
                {v.current && <span className="badge">{t("admin.versions.live")}</span>}
              </td>
              <td>{formatDateTime(v.published_at, locale)}</td>
              <td>{v.published_by}</td>
              <td>
                {v.based_on !== null && (
                  <span className="muted">{t("admin.versions.copies", { version: v.based_on })} </span>
                )}
                {v.note}
              </td>
              <td className="buttons">
                <button type="button" onClick={() => onOpen(v.version)}>
                  {t("admin.versions.open")}
                </button>
                {!v.current && (
                  <button type="button" onClick={() => void rollback(v.version)} disabled={busy !== null}>
                    {t("admin.versions.rollback")}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
