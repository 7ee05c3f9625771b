import { useState } from "react";
import type { TransferInProgress } from "../api/types";
import { useI18n } from "../i18n";

interface Props {
  transfer: TransferInProgress;
  onAction: (action: "complete" | "cancel") => Promise<void>;
}

/** A warm transfer while the agent consults: hand the caller over once a colleague has answered,
 * or go back to the caller (who hears music meanwhile). */
export function TransferProgress({ transfer, onAction }: Props) {
  const { t } = useI18n();
  const answered = transfer.answered;
  const [busy, setBusy] = useState(false);
  const act = (action: "complete" | "cancel") => {
    setBusy(true);
    void onAction(action).finally(() => setBusy(false));
  };
  return (
    <section className="panel transfer-progress" aria-labelledby="transfer-progress-title">
      <h2 id="transfer-progress-title">{t("transfer.consulting", { target: transfer.target_name })}</h2>
      <p role="status">{answered ? t("transfer.answered") : t("transfer.waitingAnswer")}</p>
      <div className="buttons">
        <button type="button" className="primary" disabled={busy || !answered} onClick={() => act("complete")}>
          {t("transfer.complete")}
        </button>
        <button type="button" disabled={busy} onClick={() => act("cancel")}>
          {t("transfer.back")}
        </button>
      </div>
    </section>
  );
}
