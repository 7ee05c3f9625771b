import { useI18n, type MessageKey } from "../i18n";
import type { ConnectionStatus } from "../live/events";

const KEYS: Record<ConnectionStatus, MessageKey> = {
  connecting: "live.connecting",
  open: "live.open",
  reconnecting: "live.reconnecting",
  stopped: "live.stopped",
};

/** Whether what the screen shows is live: a dot and a word, announced when it changes. */
export function LiveStatus({ status }: { status: ConnectionStatus }) {
  const { t } = useI18n();
  return (
    <span className={`live live-${status}`} role="status" aria-label={t("live.status", { status: t(KEYS[status]) })}>
      <span className="dot" aria-hidden="true" />
      {t(KEYS[status])}
    </span>
  );
}
