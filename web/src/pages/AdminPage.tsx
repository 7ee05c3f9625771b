// The administrators' area: IVR flows, the live configuration, prompts and users, one tab each
// (/admin/flows, /admin/config, /admin/prompts, /admin/users). What is published here applies to
// the next call, without a restart; every publish is audited on the server.

import { useMemo, type KeyboardEvent } from "react";
import type { ApiClient } from "../api/client";
import { AdminApi } from "../components/admin/adminApi";
import { ConfigPanel } from "../components/admin/ConfigPanel";
import { FlowsPanel } from "../components/admin/FlowsPanel";
import { PromptsPanel } from "../components/admin/PromptsPanel";
import { UsersImport } from "../components/admin/UsersImport";
import "../components/admin/admin.css";
import { useI18n, type MessageKey } from "../i18n";
import { navigate } from "../lib/router";

export const ADMIN_TABS = ["flows", "config", "prompts", "users"] as const;
export type AdminTab = (typeof ADMIN_TABS)[number];

const TAB_KEYS: Record<AdminTab, MessageKey> = {
  flows: "admin.tab.flows",
  config: "admin.tab.config",
  prompts: "admin.tab.prompts",
  users: "admin.tab.users",
};

/** The tab an /admin path shows (the first for /admin itself or an unknown one). */
export function adminTab(path: string): AdminTab {
  const part = path.split("/")[2] ?? "";
  return (ADMIN_TABS as readonly string[]).includes(part) ? (part as AdminTab) : "flows";
}

export function AdminPage({ api, path }: { api: ApiClient; path: string }) {
  const { t } = useI18n();
  const admin = useMemo(() => new AdminApi(api), [api]);
  const tab = adminTab(path);

  const keys = (e: KeyboardEvent<HTMLElement>) => {
    const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    const next = ADMIN_TABS[(ADMIN_TABS.indexOf(tab) + step + ADMIN_TABS.length) % ADMIN_TABS.length];
    navigate(`/admin/${next}`);
    document.getElementById(`admin-tab-${next}`)?.focus();
  };

  return (
    <main className="admin" aria-labelledby="admin-title">
      <h1 id="admin-title">{t("admin.title")}</h1>
      <nav className="admin-tabs" role="tablist" aria-label={t("admin.tabs")} onKeyDown={keys}>
        {ADMIN_TABS.map((name) => (
          <a
            key={name}
            id={`admin-tab-${name}`}
            role="tab"
            href={`/admin/${name}`}
            aria-selected={name === tab}
            aria-controls="admin-panel"
            tabIndex={name === tab ? 0 : -1}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/admin/${name}`);
            }}
          >
            {t(TAB_KEYS[name])}
          </a>
        ))}
      </nav>
      <div id="admin-panel" role="tabpanel" aria-labelledby={`admin-tab-${tab}`}>
        {tab === "flows" && <FlowsPanel admin={admin} />}
        {tab === "config" && <ConfigPanel admin={admin} />}
        {tab === "prompts" && <PromptsPanel admin={admin} />}
        {tab === "users" && <UsersImport admin={admin} />}
      </div>
    </main>
  );
}
