// Translation: a dictionary per language, `t(key, params)` in components through a React context.

import { createContext, useContext, useMemo, type ReactNode } from "react";
import { en, type MessageKey } from "./en";
import { ru } from "./ru";
import type { Language } from "../api/types";

export type { MessageKey };
export const DICTIONARIES: Record<Language, Record<MessageKey, string>> = { en, ru };
export const LANGUAGES: { code: Language; name: string }[] = [
  { code: "ru", name: "Русский" },
  { code: "en", name: "English" },
];
export const DEFAULT_LANGUAGE: Language = "ru";

export type Params = Record<string, string | number>;
export type Translate = (key: MessageKey, params?: Params) => string;

/** The text of `key` with its {placeholders} filled; a missing parameter stays visible as {name}. */
export function translate(dictionary: Record<MessageKey, string>, key: MessageKey, params?: Params): string {
  const text = dictionary[key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

/** A user's `language` setting as one the app has ("ru-RU" → ru; unknown → the default). */
export function pickLanguage(wanted: string | null | undefined): Language {
  const base = (wanted ?? "").toLowerCase().split(/[-_]/)[0];
  return base === "en" || base === "ru" ? base : DEFAULT_LANGUAGE;
}

interface I18n {
  language: Language;
  locale: string;
  t: Translate;
}

const I18nContext = createContext<I18n>({
  language: DEFAULT_LANGUAGE,
  locale: "ru-RU",
  t: (key, params) => translate(DICTIONARIES[DEFAULT_LANGUAGE], key, params),
});

export function I18nProvider({ language, children }: { language: Language; children: ReactNode }) {
  const value = useMemo<I18n>(
    () => ({
      language,
      locale: language === "ru" ? "ru-RU" : "en-GB",
      t: (key, params) => translate(DICTIONARIES[language], key, params),
    }),
    [language],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}
