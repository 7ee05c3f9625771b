import type { ContactPop } from "../api/types";
import { useI18n } from "../i18n";
import { formatDateTime, formatDuration } from "../lib/format";

/** What the agent needs to know about the caller the moment the call rings or is answered. A
 * warm transfer's consultation says who consults, with the caller's own topic and IVR path. */
export function ScreenPop({ pop }: { pop: ContactPop | null }) {
  const { t, locale } = useI18n();
  return (
    <section className="panel pop" aria-labelledby="pop-title">
      <h2 id="pop-title">{t("pop.title")}</h2>
      {pop === null ? (
        <p className="muted">{t("pop.none")}</p>
      ) : (
        <>
          <dl className="facts">
            <div>
              <dt>{t("pop.number")}</dt>
              <dd className="caller-number">{pop.caller.number ?? t("offer.unknownNumber")}</dd>
            </div>
            {pop.consultation && (
              <div className="consultation">
                <dt>{t("pop.consultation")}</dt>
                <dd>
                  {pop.consultation.from_agent
                    ? t("pop.consultationFrom", { agent: pop.consultation.from_agent })
                    : t("pop.consultationFromColleague")}
                </dd>
              </div>
            )}
            {pop.callback && (
              <div>
                <dt>{t("pop.callback")}</dt>
                <dd>
                  <span className="badge">{t("pop.callbackYes")}</span>
                </dd>
              </div>
            )}
            <div>
              <dt>{t("pop.topic")}</dt>
              <dd>{pop.topic ?? "—"}</dd>
            </div>
            <div>
              <dt>{t("pop.queue")}</dt>
              <dd>{pop.queue ?? "—"}</dd>
            </div>
            <div>
              <dt>{t("pop.line")}</dt>
              <dd>{pop.line ?? "—"}</dd>
            </div>
            <div>
              <dt>{t("pop.ivrPath")}</dt>
              <dd>
                {pop.ivr_path.length === 0 ? (
                  "—"
                ) : (
                  <ol className="ivr-path">
                    {pop.ivr_path.map((step, i) => (
                      <li key={i}>{String(step)}</li>
                    ))}
                  </ol>
                )}
              </dd>
            </div>
            <div>
              <dt>{t("pop.waited")}</dt>
              <dd>{formatDuration(pop.waited)}</dd>
            </div>
          </dl>
          <h3>{t("pop.history")}</h3>
          {pop.history.length === 0 ? (
            <p className="muted">{t("pop.noHistory")}</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("pop.when")}</th>
                  <th scope="col">{t("pop.topic")}</th>
                  <th scope="col">{t("pop.outcome")}</th>
                </tr>
              </thead>
              <tbody>
                {pop.history.map((h) => (
                  <tr key={h.id}>
                    <td>{formatDateTime(h.started_at, locale)}</td>
                    <td>{h.topic ?? "—"}</td>
                    <td>{h.outcome ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {/* The caller's requests are in the request panel below; this shows only what the
              contact itself carries. */}
          {pop.requests.length > 0 && <h3>{t("pop.requests")}</h3>}
          {pop.requests.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("pop.request")}</th>
                  <th scope="col">{t("pop.status")}</th>
                  <th scope="col">{t("pop.when")}</th>
                </tr>
              </thead>
              <tbody>
                {pop.requests.map((r) => (
                  <tr key={String(r.id)}>
                    <td>{[r.category, r.summary].filter(Boolean).join(": ") || `#${String(r.id)}`}</td>
                    <td>{r.status ?? "—"}</td>
                    <td>{formatDateTime(r.created_at, locale)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
