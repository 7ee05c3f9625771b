// Every key in both languages, the same placeholders in both, and no visible text in the
// components that does not come from the dictionaries.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DICTIONARIES, pickLanguage, translate } from "../src/i18n";
import { en } from "../src/i18n/en";
import { ru } from "../src/i18n/ru";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

function sources(dir: string, ending: RegExp = /\.tsx$/): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path, ending);
    return ending.test(path) ? [path] : [];
  });
}

describe("dictionaries", () => {
  it("have the same keys in Russian and English", () => {
    expect(Object.keys(ru).sort()).toEqual(Object.keys(en).sort());
  });

  it("have no empty text", () => {
    for (const [language, dictionary] of Object.entries(DICTIONARIES)) {
      for (const [key, text] of Object.entries(dictionary)) {
        expect(text.trim(), `${language} ${key}`).not.toBe("");
      }
    }
  });

  it("use the same placeholders in both languages", () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(ru[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it("hold no key that the app does not use", () => {
    const code = sources(join(__dirname, "..", "src"), /\.tsx?$/)
      .filter((path) => !/[\\/]i18n[\\/](\w+\.)?(en|ru)\.ts$/.test(path))
      .map((path) => readFileSync(path, "utf8"))
      .join("\n");
    const unused = Object.keys(en).filter((key) => !code.includes(`"${key}"`));
    expect(unused).toEqual([]);
  });

  it("are Russian in Russian", () => {
    const cyrillic = Object.entries(ru).filter(([, text]) => /[а-яё]/i.test(text));
    expect(cyrillic.length).toBeGreaterThan(Object.keys(ru).length * 0.9);
  });
});

describe("translate", () => {
  it("fills placeholders and leaves a missing one visible", () => {
    expect(translate(en, "desk.stateNow", { state: "Ready", time: "1:05" })).toBe("Ready for 1:05");
    expect(translate(ru, "desk.stateNow", { state: "Готов" })).toBe("Готов уже {time}");
  });

  it("picks a language the app has from the user's setting", () => {
    expect(pickLanguage("en")).toBe("en");
    expect(pickLanguage("en-GB")).toBe("en");
    expect(pickLanguage("ru_RU")).toBe("ru");
    expect(pickLanguage("de")).toBe("ru");
    expect(pickLanguage(null)).toBe("ru");
  });
});

describe("components", () => {
  const files = sources(join(__dirname, "..", "src"));

  it("show no text of their own between tags", () => {
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      // JSX text: letters right after a tag's ">" (not an arrow's "=>"), on its line or the next.
      const sameLine = text.match(/(?<![=-])>[ \t]*[A-Za-zА-Яа-яЁё][^<>{}\n]*</g);
      const ownLine = text.match(/(?<![=-])>[ \t]*\n[ \t]*[A-Za-zА-Яа-яЁё][^<>{}\n]*\n[ \t]*</g);
      expect(sameLine, file).toBeNull();
      expect(ownLine, file).toBeNull();
    }
  });

  it("give no literal text to aria-label, title or placeholder", () => {
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const literal = text.match(/\b(aria-label|title|placeholder)="[^"]*[A-Za-zА-Яа-я][^"]*"/g);
      expect(literal, file).toBeNull();
    }
  });
});
