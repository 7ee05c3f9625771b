// Small per-browser settings and drafts (auto-answer, language, notes) in localStorage; a browser
// that refuses storage (private mode, quota) just forgets them.

export function loadText(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function saveText(key: string, value: string | null): void {
  try {
    if (value === null || value === "") window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    // nothing to do: the setting lasts for this page only
  }
}
