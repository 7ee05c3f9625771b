// Bulk creation of agents and volunteers from a CSV file (pasted or chosen): checked first, every
// problem with its row and column; created all at once or not at all. The first-login passwords
// are shown once: print the sheet (one card per person, the page's print style shows only them)
// or save it as HTML or CSV before leaving.

import { useId, useState } from "react";
import { createPortal } from "react-dom";
import { ErrorMessage } from "../ErrorMessage";
import { useI18n } from "../../i18n";
import type { AdminApi, Credentials, RowProblem } from "./adminApi";
import { credentialsCsv, credentialsSheet, importProblems, type SheetLabels } from "./logic";

const EXAMPLE = `username,name,roles,skills,department,language
op101,Irina Sokolova,agent,medical:3;ru:8,,ru
vol201,Pavel Orlov,field_worker,,,ru
`;

function Problems({ problems }: { problems: RowProblem[] }) {
  const { t } = useI18n();
  return (
    <div className="error" role="alert">
      <strong>{t("admin.users.problems", { count: problems.length })}</strong>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("admin.users.row")}</th>
            <th scope="col">{t("admin.users.column")}</th>
            <th scope="col">{t("admin.users.message")}</th>
          </tr>
        </thead>
        <tbody>
          {problems.map((p, i) => (
            <tr key={i}>
              <td className="num">{p.row}</td>
              <td>
                <code>{p.field}</code>
              </td>
              <td>{p.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function download(name: string, type: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  URL.revokeObjectURL(url);
}

function Created({ created }: { created: Credentials[] }) {
  const { t, language } = useI18n();
  const labels: SheetLabels = {
    title: t("admin.users.sheetTitle"),
    intro: t("admin.users.sheetIntro"),
    username: t("admin.users.username"),
    name: t("admin.users.name"),
    roles: t("admin.users.roles"),
    password: t("admin.users.password"),
    sipPassword: t("admin.users.sipPassword"),
  };
  return (
    <section className="panel" aria-labelledby="users-created">
      <h4 id="users-created">{t("admin.users.created", { count: created.length })}</h4>
      <p className="badge">{t("admin.users.once")}</p>
      <div className="buttons">
        <button type="button" className="primary" onClick={() => window.print()}>
          {t("admin.users.print")}
        </button>
        <button
          type="button"
          onClick={() => download("credentials.html", "text/html", credentialsSheet(created, labels, language))}
        >
          {t("admin.users.saveHtml")}
        </button>
        <button type="button" onClick={() => download("credentials.csv", "text/csv", credentialsCsv(created))}>
          {t("admin.users.saveCsv")}
        </button>
      </div>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("admin.users.username")}</th>
            <th scope="col">{t("admin.users.name")}</th>
            <th scope="col">{t("admin.users.roles")}</th>
            <th scope="col">{t("admin.users.password")}</th>
            <th scope="col">{t("admin.users.sipPassword")}</th>
          </tr>
        </thead>
        <tbody>
          {created.map((c) => (
            <tr key={c.username}>
              <td>{c.username}</td>
              <td>{c.name}</td>
              <td>{c.roles.join(", ")}</td>
              <td>
                <code>{c.password}</code>
              </td>
              <td>
                <code>{c.sip_password ?? "—"}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {createPortal(
      <div className="print-sheet">
        <h1>{labels.title}</h1>
        <p>{labels.intro}</p>
        {created.map((c) => (
          <section key={c.username} className="print-card">
            <dl>
              <dt>{labels.username}</dt>
              <dd>{c.username}</dd>
              <dt>{labels.name}</dt>
              <dd>{c.name}</dd>
              <dt>{labels.password}</dt>
              <dd>
                <code>{c.password}</code>
              </dd>
              {c.sip_password && (
                <>
                  <dt>{labels.sipPassword}</dt>
                  <dd>
                    <code>{c.sip_password}</code>
                  </dd>
                </>
              )}
            </dl>
          </section>
        ))}
      </div>,
        document.body,
      )}
    </section>
  );
}

export function UsersImport({ admin }: { admin: AdminApi }) {
  const { t } = useI18n();
  const textId = useId();
  const fileId = useId();
  const [csv, setCsv] = useState("");
  const [checked, setChecked] = useState<number | null>(null);
  const [problems, setProblems] = useState<RowProblem[]>([]);
  const [created, setCreated] = useState<Credentials[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const edit = (text: string) => {
    setCsv(text);
    setChecked(null);
    setProblems([]);
  };

  const check = async () => {
    setBusy(true);
    setError(null);
    try {
      const result = await admin.checkUsers(csv);
      setProblems(result.problems);
      setChecked(result.problems.length ? null : result.users);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      const result = await admin.importUsers(csv);
      setCreated(result.created);
      setCsv("");
      setChecked(null);
      setProblems([]);
    } catch (err) {
      const rows = importProblems(err);
      if (rows) setProblems(rows);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <p className="muted small">{t("admin.users.about")}</p>
      <pre className="example" aria-label={t("admin.users.example")}>
        {EXAMPLE}
      </pre>
      <div className="field">
        <label htmlFor={fileId}>{t("admin.users.file")}</label>
        <input
          id={fileId}
          type="file"
          accept=".csv,text/csv,text/plain"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void file.text().then(edit, setError);
          }}
        />
      </div>
      <div className="field">
        <label htmlFor={textId}>{t("admin.users.paste")}</label>
        <textarea
          id={textId}
          rows={12}
          spellCheck={false}
          wrap="off"
          value={csv}
          onChange={(e) => edit(e.target.value)}
        />
      </div>
      <div className="buttons">
        <button type="button" onClick={() => void check()} disabled={busy || !csv.trim()}>
          {t("admin.users.check")}
        </button>
        <button type="button" className="primary" onClick={() => void create()} disabled={busy || !csv.trim()}>
          {busy ? t("admin.users.creating") : t("admin.users.create")}
        </button>
      </div>
      {checked !== null && (
        <p className="ok-note" role="status">
          {t("admin.users.ready", { count: checked })}
        </p>
      )}
      {problems.length > 0 && <Problems problems={problems} />}
      <ErrorMessage error={error} onDismiss={() => setError(null)} />
      {created && <Created created={created} />}
    </div>
  );
}
