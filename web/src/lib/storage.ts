// Small per-browser settings (auto-answer, language) in localStorage, and drafts that carry
// caller details (notes) in sessionStorage: they survive a reload but not the tab, so nothing of a
// caller stays behind on a shared computer. A browser that refuses storage just forgets them.

export type Keep = "browser" | "tab";

function area(keep: Keep): Storage {
  return keep === "browser" ? window.localStorage : window.sessionStorage;
}

export function loadText(key: string, keep: Keep = "browser"): string | null {
  try {
    return area(keep).getItem(key);
  } catch {
    return null;
  }
}

export function saveText(key: string, value: string | null, keep: Keep = "browser"): void {
  try {
    if (value === null || value === "") area(keep).removeItem(key);
    else area(keep).setItem(key, value);
  } catch {
    // nothing to do: the setting lasts for this page only
  }
}
