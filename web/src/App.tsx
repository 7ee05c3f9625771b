// The app's shell: who is signed in, which screen, which language; one API client and, once
// signed in, one live connection for the page.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiClient } from "./api/client";
import type { Language, Me } from "./api/types";
import { LiveStatus } from "./components/LiveStatus";
import { LanguageSelect } from "./components/LanguageSelect";
import { I18nProvider, pickLanguage, useI18n } from "./i18n";
import { answersContacts, homePath } from "./lib/home";
import { navigate, usePath } from "./lib/router";
import { loadText, saveText } from "./lib/storage";
import { LiveProvider, useLive } from "./live/LiveContext";
import { AdminPage } from "./pages/AdminPage";
import { AgentDesktop } from "./pages/AgentDesktop";
import { FieldPage } from "./pages/FieldPage";
import { LoginPage } from "./pages/LoginPage";
import { PasswordPage } from "./pages/PasswordPage";
import { ReportsPage } from "./pages/ReportsPage";
import { WallboardPage } from "./pages/WallboardPage";

const LANGUAGE_KEY = "hotline.language";

type Session = { kind: "loading" } | { kind: "signedOut" } | { kind: "signedIn"; me: Me };

function Header({ me, language, onLanguage, onSignOut }: {
  me: Me;
  language: Language;
  onLanguage: (l: Language) => void;
  onSignOut: () => void;
}) {
  const { t } = useI18n();
  const live = useLive();
  const path = usePath();
  const roles = me.user.roles;
  const link = (to: string, label: string) => (
    <a
      href={to}
      aria-current={path === to ? "page" : undefined}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
    >
      {label}
    </a>
  );
  return (
    <header className="top">
      <span className="brand">{t("app.title")}</span>
      <nav aria-label={t("app.nav")}>
        {answersContacts(roles) && link("/agent", t("app.nav.desktop"))}
        {roles.includes("supervisor") && link("/wallboard", t("app.nav.wallboard"))}
        {roles.includes("admin") && link("/admin", t("admin.nav"))}
        {roles.includes("field_worker") && link("/field", t("app.nav.field"))}
        {(roles.includes("supervisor") || roles.includes("admin")) && link("/reports", t("reports.nav"))}
      </nav>
      <LiveStatus status={live.status} />
      <span className="spacer" />
      <LanguageSelect language={language} onLanguage={onLanguage} />
      <span className="who" title={t("app.signedInAs", { name: me.user.name })}>
        {me.user.name}
      </span>
      <button type="button" onClick={onSignOut}>
        {t("app.signOut")}
      </button>
    </header>
  );
}

function Screen({ api, me, path }: { api: ApiClient; me: Me; path: string }) {
  const { t } = useI18n();
  const roles = me.user.roles;
  if (path === "/agent" && answersContacts(roles))
    return (
      <AgentDesktop api={api} username={me.user.username} specialist={roles.includes("department_specialist")} />
    );
  if (path === "/wallboard" && roles.includes("supervisor")) return <WallboardPage api={api} />;
  if (path === "/reports" && (roles.includes("supervisor") || roles.includes("admin")))
    return <ReportsPage api={api} />;
  if ((path === "/admin" || path.startsWith("/admin/")) && roles.includes("admin"))
    return <AdminPage api={api} path={path} />;
  if (path === "/field" && roles.includes("field_worker")) return <FieldPage api={api} />;
  const home = homePath(me);
  return (
    <main className="centered">
      <p>{home === "/" ? t("app.noPage") : t("app.notFound")}</p>
      {home !== "/" && (
        <button type="button" onClick={() => navigate(home)}>
          {t("app.toHome")}
        </button>
      )}
    </main>
  );
}

export function App() {
  const path = usePath();
  const [session, setSession] = useState<Session>({ kind: "loading" });
  const [chosenLanguage, setChosenLanguage] = useState<Language | null>(() => {
    const saved = loadText(LANGUAGE_KEY);
    return saved === "ru" || saved === "en" ? saved : null;
  });
  const signedOut = useCallback(() => {
    setSession({ kind: "signedOut" });
    navigate("/login", true);
  }, []);
  const mustChange = useCallback(() => {
    setSession((s) =>
      s.kind === "signedIn" ? { kind: "signedIn", me: { ...s.me, user: { ...s.me.user, must_change_password: true } } } : s,
    );
    navigate("/password", true);
  }, []);
  // The handlers are read through a ref so the one client keeps working as they change.
  const handlers = useRef({ signedOut, mustChange });
  handlers.current = { signedOut, mustChange };
  const api = useMemo(
    () =>
      new ApiClient({
        onUnauthorized: () => handlers.current.signedOut(),
        onPasswordChangeRequired: () => handlers.current.mustChange(),
      }),
    [],
  );

  useEffect(() => {
    api.me().then(
      (me) => setSession({ kind: "signedIn", me }),
      () => setSession((s) => (s.kind === "loading" ? { kind: "signedOut" } : s)),
    );
  }, [api]);

  const language: Language =
    chosenLanguage ?? (session.kind === "signedIn" ? pickLanguage(session.me.user.language) : pickLanguage(navigator.language));
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);
  const chooseLanguage = (l: Language) => {
    setChosenLanguage(l);
    saveText(LANGUAGE_KEY, l);
    // Signed in: kept on the server too (PATCH /auth/me), so every device opens in it.
    if (session.kind === "signedIn" && session.me.user.language !== l)
      void api.setLanguage(l).then((me) => setSession({ kind: "signedIn", me }), () => undefined);
  };

  // Put the address in line with the session: sign-in pages only when signed out, and so on.
  useEffect(() => {
    if (session.kind === "signedOut" && path !== "/login") navigate("/login", true);
    if (session.kind === "signedIn") {
      const me = session.me;
      if (me.user.must_change_password && path !== "/password") navigate("/password", true);
      else if (!me.user.must_change_password && (path === "/login" || path === "/" || path === "/password"))
        navigate(homePath(me), true);
    }
  }, [session, path]);

  const signIn = (me: Me) => setSession({ kind: "signedIn", me });
  const signOut = () => {
    void api.logout().catch(() => undefined).finally(signedOut);
  };
  const reconnecting = (attempt: number) => {
    // A WebSocket refused for an ended session looks like a network drop: ask the API, whose
    // 401 sends the page to the login screen.
    if (attempt >= 2) void api.me().catch(() => undefined);
  };

  let body;
  if (session.kind === "loading") {
    body = <LoadingScreen />;
  } else if (session.kind === "signedOut") {
    body = (
      <>
        <div className="corner">
          <LanguageSelect language={language} onLanguage={chooseLanguage} />
        </div>
        <LoginPage api={api} onSignedIn={signIn} />
      </>
    );
  } else if (session.me.user.must_change_password) {
    body = (
      <>
        <div className="corner">
          <LanguageSelect language={language} onLanguage={chooseLanguage} />
        </div>
        <PasswordPage
        api={api}
        forced
        onChanged={() => {
          void api.me().then(signIn, () => undefined);
        }}
      />
      </>
    );
  } else {
    const me = session.me;
    body = (
      <LiveProvider key={me.user.username} onReconnecting={reconnecting} onUnauthorized={signedOut}>
        <Header me={me} language={language} onLanguage={chooseLanguage} onSignOut={signOut} />
        <Screen api={api} me={me} path={path} />
      </LiveProvider>
    );
  }
  return <I18nProvider language={language}>{body}</I18nProvider>;
}

function LoadingScreen() {
  const { t } = useI18n();
  return (
    <main className="centered">
      <p role="status">{t("app.loading")}</p>
    </main>
  );
}
