import { useI18n } from "../i18n";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** Twelve keys; each press goes to the call as a digit (e.g. a carrier's or department's menu). */
export function Keypad({ onDigit, disabled }: { onDigit: (digit: string) => void; disabled: boolean }) {
  const { t } = useI18n();
  return (
    <div className="keypad" role="group" aria-label={t("phone.keypad")}>
      {KEYS.map((k) => (
        <button
          key={k}
          type="button"
          disabled={disabled}
          aria-label={t("phone.digit", { digit: k })}
          onClick={() => onDigit(k)}
        >
          {k}
        </button>
      ))}
    </div>
  );
}
