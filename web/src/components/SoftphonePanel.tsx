import { useState } from "react";
import type { PhoneKind } from "../api/types";
import { useI18n, type MessageKey } from "../i18n";
import type { SoftphoneStatus } from "../softphone/softphone";
import { Keypad } from "./Keypad";

const STATUS_KEYS: Record<SoftphoneStatus, MessageKey> = {
  idle: "phone.status.idle",
  connecting: "phone.status.connecting",
  connected: "phone.status.connected",
  mic_denied: "phone.status.mic_denied",
  failed: "phone.status.failed",
};

interface Props {
  /** null until the desktop knows the agent's choice */
  phone: PhoneKind | null;
  status: SoftphoneStatus;
  onCall: boolean;
  muted: boolean;
  held: boolean;
  onPhone: (phone: PhoneKind) => void;
  onConnect: () => void;
  onMute: () => void;
  onHold: () => void;
  onHangup: () => void;
  onDigit: (digit: string) => void;
  onTransfer: () => void;
}

/** Which device rings, the browser leg's health, and the controls of the call in progress. */
export function SoftphonePanel(props: Props) {
  const { t } = useI18n();
  const [keypad, setKeypad] = useState(false);
  const { phone, status, onCall, muted, held } = props;
  return (
    <section className="panel phone" aria-labelledby="phone-title">
      <h2 id="phone-title">{t("phone.title")}</h2>
      <fieldset className="inline" disabled={phone === null}>
        <legend>{t("desk.phone")}</legend>
        <label>
          <input type="radio" name="phone" checked={phone === "webrtc"} onChange={() => props.onPhone("webrtc")} />
          {t("desk.phone.webrtc")}
        </label>
        <label>
          <input type="radio" name="phone" checked={phone === "sip"} onChange={() => props.onPhone("sip")} />
          {t("desk.phone.sip")}
        </label>
      </fieldset>
      {phone === "webrtc" ? (
        <p className={`phone-status phone-${status}`} role="status">
          {t(STATUS_KEYS[status])}
          {(status === "idle" || status === "mic_denied") && (
            <button type="button" onClick={props.onConnect}>
              {t("phone.connect")}
            </button>
          )}
        </p>
      ) : (
        phone === "sip" && <p className="muted">{t("phone.sipNote")}</p>
      )}
      <div className="buttons call-controls" role="group" aria-label={t("phone.title")}>
        <button type="button" aria-pressed={muted} disabled={!onCall} onClick={props.onMute}>
          {t("phone.mute")}
        </button>
        <button type="button" aria-pressed={held} disabled={!onCall} onClick={props.onHold}>
          {t("phone.hold")}
        </button>
        <button type="button" aria-expanded={keypad} disabled={!onCall} onClick={() => setKeypad((k) => !k)}>
          {t("phone.keypad")}
        </button>
        <button type="button" disabled={!onCall} onClick={props.onTransfer}>
          {t("phone.transfer")}
        </button>
        <button type="button" className="hangup" disabled={!onCall} onClick={props.onHangup}>
          {t("phone.hangup")}
        </button>
      </div>
      {(muted || held) && onCall && (
        <p className="call-flags" aria-live="polite">
          {muted && <span className="badge">{t("phone.muted")}</span>}
          {held && <span className="badge">{t("phone.onHold")}</span>}
        </p>
      )}
      {keypad && onCall && <Keypad onDigit={props.onDigit} disabled={!onCall} />}
    </section>
  );
}
