import { useEffect, useRef } from "react";
import { useI18n, type MessageKey } from "../i18n";
import { SHORTCUTS, type ShortcutAction } from "../lib/shortcuts";

const LABELS: Record<ShortcutAction, MessageKey> = {
  answer: "help.answer",
  hangup: "help.hangup",
  toggleReady: "help.toggleReady",
  help: "help.help",
};

/** The list of keyboard shortcuts, as a small dialog that Escape or the button closes. */
export function HelpPopover({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useI18n();
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    closeRef.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open, onClose]);
  if (!open) return null;
  return (
    <div className="popover" role="dialog" aria-modal="false" aria-labelledby="help-title">
      <h2 id="help-title">{t("help.title")}</h2>
      <dl className="shortcuts">
        {SHORTCUTS.map((s) => (
          <div key={s.action}>
            <dt>
              {s.keys.map((k, i) => (
                <span key={k}>
                  {i > 0 && " / "}
                  <kbd>{k}</kbd>
                </span>
              ))}
            </dt>
            <dd>{t(LABELS[s.action])}</dd>
          </div>
        ))}
      </dl>
      <button type="button" ref={closeRef} onClick={onClose}>
        {t("help.close")}
      </button>
    </div>
  );
}
