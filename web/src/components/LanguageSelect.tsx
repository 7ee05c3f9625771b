import type { Language } from "../api/types";
import { LANGUAGES, useI18n } from "../i18n";

/** The page's language, switchable at any time (also before signing in). */
export function LanguageSelect({ language, onLanguage }: { language: Language; onLanguage: (l: Language) => void }) {
  const { t } = useI18n();
  return (
    <select
      className="lang"
      aria-label={t("app.language")}
      value={language}
      onChange={(e) => onLanguage(e.target.value as Language)}
    >
      {LANGUAGES.map((l) => (
        <option key={l.code} value={l.code} lang={l.code}>
          {l.name}
        </option>
      ))}
    </select>
  );
}
