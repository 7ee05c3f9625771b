// Keyboard shortcuts of the agent desktop. Chosen not to clash with the browser: F5 reloads, F1,
// F3, F6, F7, F10-F12 are taken, Alt+letter opens menus and Alt+Shift switches keyboard layouts
// on Windows (Russian agents use it all day), so: F2 or Ctrl+Enter answers, F4 hangs up, F8
// toggles ready / not ready, "?" shows the list. Keys are read by `code`, so they work in any layout.

export type ShortcutAction = "answer" | "hangup" | "toggleReady" | "help";

export interface KeyLike {
  key: string;
  code: string;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  repeat?: boolean;
}

export interface ShortcutHelp {
  action: ShortcutAction;
  keys: string[];
}

export const SHORTCUTS: ShortcutHelp[] = [
  { action: "answer", keys: ["F2", "Ctrl+Enter"] },
  { action: "hangup", keys: ["F4"] },
  { action: "toggleReady", keys: ["F8"] },
  { action: "help", keys: ["?"] },
];

/**
 * The action a key press asks for, or null. `inText` is whether focus is in a field where typing
 * goes (notes, reason): there "?" is a character, not the help.
 */
export function shortcutFor(event: KeyLike, inText: boolean): ShortcutAction | null {
  if (event.repeat) return null;
  const plain = !event.ctrlKey && !event.altKey && !event.metaKey;
  if (plain && !event.shiftKey) {
    if (event.code === "F2") return "answer";
    if (event.code === "F4") return "hangup";
    if (event.code === "F8") return "toggleReady";
  }
  if (event.ctrlKey && !event.altKey && !event.metaKey && !event.shiftKey) {
    if (event.code === "Enter" || event.code === "NumpadEnter") return "answer";
  }
  if (!inText && !event.ctrlKey && !event.altKey && !event.metaKey && event.key === "?") return "help";
  return null;
}
