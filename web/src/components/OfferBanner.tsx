import { useEffect, useRef } from "react";
import type { PhoneKind } from "../api/types";
import { useI18n } from "../i18n";
import type { Offer } from "../lib/desk";

interface Props {
  offer: Offer;
  phone: PhoneKind | null;
  accepting: boolean;
  onAccept: () => void;
}

/** The ringing call: impossible to miss, one big button, and focus on it so Enter answers too.
 * A callback says so in its title: the agent is about to call someone who asked for it. */
export function OfferBanner({ offer, phone, accepting, onAccept }: Props) {
  const { t } = useI18n();
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    button.current?.focus();
  }, [offer.contact_id]);
  return (
    <section
      className={offer.callback ? "offer callback" : "offer"}
      role="alertdialog"
      aria-labelledby="offer-title"
      aria-describedby="offer-who"
    >
      <h2 id="offer-title">
        {offer.callback ? t("offer.callbackTitle") : t("offer.title")}
        {offer.callback && <span className="badge">{t("offer.callback")}</span>}
      </h2>
      <p id="offer-who" className="offer-who">
        {offer.caller_number !== undefined && (
          <span className="caller-number">{offer.caller_number ?? t("offer.unknownNumber")}</span>
        )}
        {offer.queue && <span>{t("offer.queue", { queue: offer.queue })}</span>}
      </p>
      {phone === "webrtc" ? (
        <button
          ref={button}
          type="button"
          className="accept"
          aria-label={t("offer.acceptLabel")}
          disabled={accepting}
          onClick={onAccept}
        >
          {t("offer.accept")}
        </button>
      ) : (
        <p>{t("offer.onSipPhone")}</p>
      )}
    </section>
  );
}
