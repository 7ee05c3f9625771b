// The live configuration editor: skills, business hours, queues, wrap-up codes and agents' skill
// levels as one YAML document; checked, compared, published (the router takes it at once) and
// rolled back. The draft is kept in the tab (sessionStorage).

import { useCallback, useEffect, useState } from "react";
import { ErrorMessage } from "../ErrorMessage";
import { useI18n, type MessageKey } from "../../i18n";
import { loadText, saveText } from "../../lib/storage";
import type { AdminApi, ConfigChange, ConfigVersion, LiveConfig } from "./adminApi";
import { DraftEditor } from "./DraftEditor";
import { VersionList } from "./VersionList";

const DRAFT_KEY = "hotline.admin.config";

const CHANGE_KEYS: Record<ConfigChange["change"], MessageKey> = {
  added: "admin.config.added",
  changed: "admin.config.changed",
  removed: "admin.config.removed",
};

function Changes({ changes }: { changes: ConfigChange[] }) {
  const { t } = useI18n();
  if (changes.length === 0) return null;
  return (
    <ul className="changes">
      {changes.map((c) => (
        <li key={`${c.section}/${c.id}`} className={`change-${c.change}`}>
          {t(CHANGE_KEYS[c.change], { section: c.section, id: c.id })}
        </li>
      ))}
    </ul>
  );
}

export function ConfigPanel({ admin }: { admin: AdminApi }) {
  const { t } = useI18n();
  const [live, setLive] = useState<LiveConfig | null>(null);
  const [versions, setVersions] = useState<ConfigVersion[]>([]);
  const [draft, setDraft] = useState("");
  const [applied, setApplied] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(
    async (keepDraft: boolean) => {
      const [now, history] = await Promise.all([admin.config(), admin.configVersions()]);
      setLive(now);
      setVersions(history);
      const saved = keepDraft ? loadText(DRAFT_KEY, "tab") : null;
      setDraft(saved ?? now.yaml);
    },
    [admin],
  );

  useEffect(() => {
    load(true).catch(setError);
  }, [load]);

  const changeDraft = (text: string) => {
    setDraft(text);
    saveText(DRAFT_KEY, text === live?.yaml ? null : text, "tab");
  };
  const reload = () => {
    saveText(DRAFT_KEY, null, "tab");
    load(false).catch(setError);
  };

  if (live === null) {
    return (
      <>
        <ErrorMessage error={error} />
        <p role="status">{t("app.loading")}</p>
      </>
    );
  }
  const latest = versions[0]?.version ?? null;

  return (
    <div className="admin-columns">
      <div>
        <p className="muted small">{t("admin.config.about")}</p>
        <ErrorMessage error={error} onDismiss={() => setError(null)} />
        <DraftEditor
          id="config"
          label={t("admin.config.draft")}
          draft={draft}
          onDraft={changeDraft}
          edited={draft !== live.yaml}
          baseVersion={live.version}
          validate={(yaml) => admin.validateConfig(yaml)}
          diff={(yaml) => admin.diffConfig(yaml)}
          publish={async (yaml, note) => {
            const result = await admin.publishConfig(yaml, live, note);
            setApplied(result.applied);
            saveText(DRAFT_KEY, null, "tab");
            await load(false);
            return { version: result.version.version, warnings: [] };
          }}
          onReload={reload}
          changes={(result) => <Changes changes={result.changes ?? []} />}
        />
        {applied && applied.length > 0 && (
          <p className="ok-note" role="status">
            {t("admin.config.applied", { queues: applied.join(", ") })}
          </p>
        )}
      </div>
      <section aria-labelledby="config-versions">
        <h3 id="config-versions">{t("admin.versions")}</h3>
        <VersionList
          versions={versions.map((v) => ({ ...v, current: v.version === latest }))}
          onOpen={(version) => {
            admin
              .configVersion(version)
              .then((v) => changeDraft(v.yaml))
              .catch(setError);
          }}
          onRollback={async (version) => {
            const result = await admin.rollbackConfig(version, live);
            setApplied(result.applied);
            await load(false);
          }}
        />
      </section>
    </div>
  );
}
