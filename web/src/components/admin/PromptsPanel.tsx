// Prompts by name: upload a recording (WAV, MP3 or OGG) or type text for the speech synthesizer,
// listen to the result as callers will hear it (8 kHz), see which lines' flows play it, delete.
// IVR flows play them as {file: NAME}.

import { useCallback, useEffect, useId, useState, type FormEvent } from "react";
import { ApiError } from "../../api/client";
import { ErrorMessage } from "../ErrorMessage";
import { useI18n } from "../../i18n";
import { formatDateTime, formatDuration } from "../../lib/format";
import type { AdminApi, Prompt } from "./adminApi";
import { formatBytes, isPromptName, promptNameFor } from "./logic";

function UploadForm({ admin, onDone }: { admin: AdminApi; onDone: () => void }) {
  const { t } = useI18n();
  const fileId = useId();
  const nameId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [tooLarge, setTooLarge] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file || !isPromptName(name)) return;
    setBusy(true);
    setError(null);
    setTooLarge(false);
    try {
      await admin.upload(name, file, file.name);
      setFile(null);
      setName("");
      (e.target as HTMLFormElement).reset();
      onDone();
    } catch (err) {
      if (err instanceof ApiError && err.code === "upload_too_large") setTooLarge(true);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} aria-labelledby={`${fileId}-title`} className="panel">
      <h4 id={`${fileId}-title`}>{t("admin.prompts.upload")}</h4>
      <label className="field" htmlFor={fileId}>
        {t("admin.prompts.file")}
      </label>
      <input
        id={fileId}
        type="file"
        accept=".wav,.mp3,.ogg,.oga,audio/wav,audio/mpeg,audio/ogg"
        onChange={(e) => {
          const chosen = e.target.files?.[0] ?? null;
          setFile(chosen);
          if (chosen && !name) setName(promptNameFor(chosen.name));
        }}
        required
      />
      <NameField id={nameId} value={name} onChange={setName} />
      <button type="submit" className="primary" disabled={busy || !file || !isPromptName(name)}>
        {busy ? t("admin.prompts.uploading") : t("admin.prompts.uploadButton")}
      </button>
      {tooLarge && (
        <p className="error" role="alert">
          {t("admin.prompts.tooLarge")}
        </p>
      )}
      <ErrorMessage error={error} onDismiss={() => setError(null)} />
    </form>
  );
}

function NameField({ id, value, onChange }: { id: string; value: string; onChange: (v: string) => void }) {
  const { t } = useI18n();
  const bad = value !== "" && !isPromptName(value);
  return (
    <div className="field">
      <label htmlFor={id}>{t("admin.prompts.name")}</label>
      <input
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        maxLength={64}
        required
        aria-invalid={bad || undefined}
        aria-describedby={`${id}-hint`}
      />
      <span id={`${id}-hint`} className={bad ? "error small" : "muted small"}>
        {t("admin.prompts.nameHint")}
      </span>
    </div>
  );
}

function SpeakForm({ admin, onDone }: { admin: AdminApi; onDone: () => void }) {
  const { t, language } = useI18n();
  const formId = useId();
  const [name, setName] = useState("");
  const [text, setText] = useState("");
  const [lang, setLang] = useState<string>(language);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!isPromptName(name) || !text.trim()) return;
    setBusy(true);
    setError(null);
    try {
      await admin.speak(name, text, lang);
      setName("");
      setText("");
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} aria-labelledby={`${formId}-title`} className="panel">
      <h4 id={`${formId}-title`}>{t("admin.prompts.speak")}</h4>
      <NameField id={`${formId}-name`} value={name} onChange={setName} />
      <div className="field">
        <label htmlFor={`${formId}-text`}>{t("admin.prompts.text")}</label>
        <textarea id={`${formId}-text`} rows={3} maxLength={2000} value={text} onChange={(e) => setText(e.target.value)} required />
      </div>
      <div className="field inline">
        <label htmlFor={`${formId}-lang`}>{t("admin.prompts.lang")}</label>
        <select id={`${formId}-lang`} value={lang} onChange={(e) => setLang(e.target.value)}>
          <option value="ru">{t("admin.prompts.lang.ru")}</option>
          <option value="en">{t("admin.prompts.lang.en")}</option>
        </select>
      </div>
      <button type="submit" className="primary" disabled={busy || !isPromptName(name) || !text.trim()}>
        {busy ? t("admin.prompts.speaking") : t("admin.prompts.speakButton")}
      </button>
      <ErrorMessage error={error} onDismiss={() => setError(null)} />
    </form>
  );
}

export function PromptsPanel({ admin }: { admin: AdminApi }) {
  const { t, locale } = useI18n();
  const [prompts, setPrompts] = useState<Prompt[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(() => {
    admin.prompts().then(setPrompts, setError);
  }, [admin]);
  useEffect(load, [load]);

  const remove = async (name: string) => {
    if (!window.confirm(t("admin.prompts.confirmDelete", { name }))) return;
    setError(null);
    try {
      await admin.deletePrompt(name);
      load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div className="admin-columns">
      <section aria-labelledby="prompts-list">
        <h3 id="prompts-list">{t("admin.prompts.title")}</h3>
        <p className="muted small">{t("admin.prompts.about")}</p>
        <ErrorMessage error={error} onDismiss={() => setError(null)} />
        {prompts === null ? (
          <p role="status">{t("app.loading")}</p>
        ) : prompts.length === 0 ? (
          <p className="muted">{t("admin.prompts.none")}</p>
        ) : (
          <table className="prompts">
            <thead>
              <tr>
                <th scope="col">{t("admin.prompts.name")}</th>
                <th scope="col">{t("admin.prompts.what")}</th>
                <th scope="col">{t("admin.prompts.listen")}</th>
                <th scope="col">{t("admin.prompts.usedBy")}</th>
                <th scope="col">{t("admin.versions.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {prompts.map((p) => (
                <tr key={p.name}>
                  <td>
                    <code>{p.name}</code>
                    <div className="muted small">
                      {t("admin.prompts.madeBy", {
                        who: p.updated_by,
                        when: formatDateTime(p.updated_at, locale),
                      })}
                    </div>
                  </td>
                  <td>
                    {p.kind === "tts"
                      ? t("admin.prompts.kind.tts", { lang: p.lang ?? "" })
                      : t("admin.prompts.kind.upload", { file: p.filename ?? "" })}
                    {p.text && <div className="prompt-text">{p.text}</div>}
                    <div className="muted small">
                      {t("admin.prompts.size", { duration: formatDuration(p.duration), size: formatBytes(p.size) })}
                    </div>
                  </td>
                  <td>
                    <audio controls preload="none" src={p.audio} aria-label={t("admin.prompts.listenTo", { name: p.name })} />
                  </td>
                  <td>{p.used_by.length ? p.used_by.join(", ") : "—"}</td>
                  <td>
                    <button
                      type="button"
                      onClick={() => void remove(p.name)}
                      disabled={p.used_by.length > 0}
                      aria-label={t("admin.prompts.deleteNamed", { name: p.name })}
                    >
                      {t("admin.prompts.delete")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <div>
        <UploadForm admin={admin} onDone={load} />
        <SpeakForm admin={admin} onDone={load} />
      </div>
    </div>
  );
}
