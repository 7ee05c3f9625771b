// Reports for supervisors and administrators: a period and an interval, then the week's summary,
// contacts, service per interval, agents, form answers by field and requests, as tables and
// charts, each downloadable as CSV or XLSX from the same route (docs/reports.md).

import { useEffect, useId, useMemo, useState, type FormEvent, type ReactNode } from "react";
import type { ApiClient } from "../api/client";
import { BarChart, LineChart } from "../components/reports/Charts";
import "../components/reports/reports.css";
import { ErrorMessage } from "../components/ErrorMessage";
import { useI18n, type MessageKey } from "../i18n";
import { formatDuration, formatPercent } from "../lib/format";
import {
  barsOf,
  cellKind,
  centreRows,
  downloadUrl,
  formGroups,
  hourBars,
  intervalLabel,
  lastDay,
  localDate,
  reportPaths,
  serviceSeries,
  summaryOf,
  tableOf,
  toNumber,
  type Interval,
  type Report,
  type ReportQuery,
  type ReportTable,
} from "../lib/reports";

const COLUMNS: Record<string, MessageKey> = {
  topic: "reports.col.topic",
  queue: "reports.col.queue",
  hour: "reports.col.hour",
  day: "reports.col.day",
  interval: "reports.col.interval",
  contacts: "reports.col.contacts",
  offered: "reports.col.offered",
  answered: "reports.col.answered",
  answered_in_target: "reports.col.answeredInTarget",
  abandoned: "reports.col.abandoned",
  short_abandoned: "reports.col.shortAbandoned",
  ended_in_ivr: "reports.col.endedInIvr",
  closed: "reports.col.closed",
  handled: "reports.col.handled",
  service_level: "reports.col.serviceLevel",
  asa_seconds: "reports.col.asa",
  abandon_rate: "reports.col.abandonRate",
  aht_seconds: "reports.col.aht",
  agent: "reports.col.agent",
  talk_seconds: "reports.col.talk",
  wrap_up_seconds: "reports.col.wrapUp",
  logged_in_seconds: "reports.col.loggedIn",
  ready_seconds: "reports.col.ready",
  handling_seconds: "reports.col.handling",
  not_ready_seconds: "reports.col.notReady",
  occupancy: "reports.col.occupancy",
  category: "reports.col.category",
  district: "reports.col.district",
  status: "reports.col.status",
  created: "reports.col.created",
  open: "reports.col.open",
  done: "reports.col.done",
  failed: "reports.col.failed",
  cancelled: "reports.col.cancelled",
  done_within_sla: "reports.col.doneWithinSla",
  sla_breached: "reports.col.slaBreached",
  needs_district: "reports.col.needsDistrict",
};

const SUMMARY: [string, MessageKey][] = [
  ["calls", "reports.sum.calls"],
  ["calls_answered", "reports.sum.answered"],
  ["service_level", "reports.sum.serviceLevel"],
  ["abandon_rate", "reports.sum.abandonRate"],
  ["forms_filled", "reports.sum.formsFilled"],
  ["agent_forms_submitted", "reports.sum.agentForms"],
  ["requests_done", "reports.sum.requestsDone"],
  ["requests_done_within_sla", "reports.sum.doneWithinSla"],
  ["share_done_within_sla", "reports.sum.shareWithinSla"],
  ["requests_open", "reports.sum.requestsOpen"],
];

const INTERVALS: Interval[] = [900, 1800, 3600];

type Loaded = Partial<Record<keyof ReturnType<typeof reportPaths>, Report>>;

function useCell() {
  const { locale } = useI18n();
  return (column: string, value: unknown): string => {
    if (value === null || value === undefined || value === "") return "—";
    const kind = cellKind(column);
    const number = toNumber(value);
    if (kind === "ratio") return formatPercent(number, locale);
    if (kind === "seconds") return formatDuration(number);
    if (kind === "interval") return intervalLabel(String(value), true);
    if (typeof value === "number") return new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(value);
    return String(value);
  };
}

function Downloads({ path, name }: { path: string; name: string }) {
  const { t } = useI18n();
  return (
    <span className="downloads">
      <a href={downloadUrl(path, "csv")} download aria-label={t("reports.downloadCsv", { name })}>
        {t("reports.csv")}
      </a>
      <a href={downloadUrl(path, "xlsx")} download aria-label={t("reports.downloadXlsx", { name })}>
        {t("reports.xlsx")}
      </a>
    </span>
  );
}

function DataTable({ table, caption, path, hide = [] }: {
  table: ReportTable | undefined;
  caption: string;
  path?: string;
  hide?: string[];
}) {
  const { t } = useI18n();
  const cell = useCell();
  if (!table) return null;
  const shown = table.columns.map((c, i) => [c, i] as const).filter(([c]) => !hide.includes(c));
  return (
    <div className="report-table">
      <table data-table={table.name}>
        <caption>
          {caption}
          {path && <Downloads path={path} name={caption} />}
        </caption>
        <thead>
          <tr>
            {shown.map(([c]) => (
              <th key={c} scope="col">
                {COLUMNS[c] ? t(COLUMNS[c]) : c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.length === 0 && (
            <tr>
              <td colSpan={shown.length} className="empty">
                {t("reports.noRows")}
              </td>
            </tr>
          )}
          {table.rows.map((row, r) => (
            <tr key={r}>
              {shown.map(([c, i]) => (
                <td key={c} className={typeof row[i] === "number" ? "num" : undefined}>
                  {cell(c, row[i])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section className="report-section" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

function Weekly({ report, path }: { report: Report | undefined; path: string }) {
  const { t } = useI18n();
  const cell = useCell();
  if (!report) return null;
  const figures = summaryOf(report);
  return (
    <Section id="report-weekly" title={t("reports.weekly", { from: report.from.slice(0, 10), to: lastDay(report.to) })}>
      <Downloads path={path} name={t("reports.weeklyName")} />
      <dl className="summary">
        {SUMMARY.map(([name, key]) => (
          <div key={name} className="figure" data-figure={name}>
            <dt>{t(key)}</dt>
            <dd>{cell(name, figures.get(name))}</dd>
          </div>
        ))}
      </dl>
    </Section>
  );
}

function FormAnswers({ report, path }: { report: Report | undefined; path: string }) {
  const { t, locale } = useI18n();
  const groups = useMemo(() => formGroups(report), [report]);
  const number = (v: number | null) =>
    v === null ? "—" : new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(v);
  return (
    <Section id="report-forms" title={t("reports.forms")}>
      <Downloads path={path} name={t("reports.forms")} />
      {groups.length === 0 && <p className="empty">{t("reports.noForms")}</p>}
      {groups.map((group) => (
        <article key={group.key} className="form-group" data-form={`${group.form}:${group.version}:${group.topic ?? ""}`}>
          <h3>
            {t("reports.formTitle", {
              name: group.name || group.form,
              version: group.version,
              topic: group.topic ?? t("reports.noTopic"),
              count: group.submitted,
            })}
          </h3>
          <table className="form-answers">
            <thead>
              <tr>
                <th scope="col">{t("reports.field")}</th>
                <th scope="col">{t("reports.answers")}</th>
                <th scope="col">{t("reports.breakdown")}</th>
              </tr>
            </thead>
            <tbody>
              {group.fields.map((field) => (
                <tr key={field.field} data-field={field.field}>
                  <th scope="row">{field.title}</th>
                  <td className="num">{field.answers}</td>
                  <td>
                    {field.kind === "number" && (
                      <span className="stats">
                        {t("reports.numberStats", { min: number(field.min), max: number(field.max), mean: number(field.mean) })}
                      </span>
                    )}
                    {field.values.length > 0 && (
                      <ul className="values">
                        {field.values.map((v) => (
                          <li key={v.label}>
                            <span className="value-label">{v.label === "true" ? t("reports.yes") : v.label === "false" ? t("reports.no") : v.label}</span>
                            <meter min={0} max={Math.max(1, group.submitted)} value={v.value} />
                            <span className="num">{v.value}</span>
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </article>
      ))}
    </Section>
  );
}

export function ReportsPage({ api }: { api: ApiClient }) {
  const { t, locale } = useI18n();
  const id = useId();
  const today = localDate();
  const [query, setQuery] = useState<ReportQuery>({ from: today, to: today, interval: 900 });
  const [draft, setDraft] = useState<ReportQuery>(query);
  const [loaded, setLoaded] = useState<Loaded>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const paths = useMemo(() => reportPaths(query), [query]);

  useEffect(() => {
    let current = true;
    setBusy(true);
    setError(null);
    const names = Object.keys(paths) as (keyof typeof paths)[];
    Promise.all(names.map((name) => api.request<Report>("GET", paths[name]))).then(
      (reports) => {
        if (!current) return;
        setLoaded(Object.fromEntries(names.map((name, i) => [name, reports[i]])));
        setBusy(false);
      },
      (failure: unknown) => {
        if (!current) return;
        setError(failure);
        setBusy(false);
      },
    );
    return () => {
      current = false;
    };
  }, [api, paths]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setQuery({ ...draft, to: draft.to < draft.from ? draft.from : draft.to });
  };
  const service = tableOf(loaded.service);
  const percent = (v: number) => formatPercent(v, locale);
  const requestsByCategory = tableOf(loaded.requestsByCategory);

  return (
    <main className="reports">
      <h1>{t("reports.title")}</h1>
      <form className="report-query" onSubmit={submit} aria-label={t("reports.period")}>
        <div className="control">
          <label htmlFor={`${id}-from`}>{t("reports.from")}</label>
          <input id={`${id}-from`} type="date" required value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        </div>
        <div className="control">
          <label htmlFor={`${id}-to`}>{t("reports.to")}</label>
          <input id={`${id}-to`} type="date" required value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </div>
        <div className="control">
          <label htmlFor={`${id}-interval`}>{t("reports.interval")}</label>
          <select
            id={`${id}-interval`}
            value={draft.interval}
            onChange={(e) => setDraft({ ...draft, interval: Number(e.target.value) as Interval })}
          >
            {INTERVALS.map((i) => (
              <option key={i} value={i}>
                {t("reports.minutes", { count: i / 60 })}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="primary">
          {t("reports.show")}
        </button>
        {busy && <span role="status">{t("app.loading")}</span>}
      </form>
      <ErrorMessage error={error} />

      <Weekly report={loaded.weekly} path={paths.weekly} />

      <Section id="report-contacts" title={t("reports.contacts")}>
        <div className="charts">
          <BarChart title={t("reports.chart.byTopic")} bars={barsOf(tableOf(loaded.contactsByTopic), "topic", "contacts", t("reports.noTopic"))} />
          <BarChart title={t("reports.chart.byHour")} bars={hourBars(tableOf(loaded.contactsByHour))} />
        </div>
        <DataTable table={tableOf(loaded.contactsByTopic)} caption={t("reports.byTopic")} path={paths.contactsByTopic} />
        <DataTable table={tableOf(loaded.contactsByQueue)} caption={t("reports.byQueue")} path={paths.contactsByQueue} />
        <DataTable table={tableOf(loaded.contactsByHour)} caption={t("reports.byHour")} path={paths.contactsByHour} />
        <DataTable table={tableOf(loaded.contactsByDay)} caption={t("reports.byDay")} path={paths.contactsByDay} />
      </Section>

      <Section id="report-service" title={t("reports.service")}>
        <div className="charts">
          <LineChart
            title={t("reports.chart.serviceLevel")}
            max={1}
            format={percent}
            lines={[
              { name: t("reports.col.serviceLevel"), points: serviceSeries(service, "service_level"), series: 0 },
              { name: t("reports.col.abandonRate"), points: serviceSeries(service, "abandon_rate"), series: 1 },
            ]}
          />
          <LineChart
            title={t("reports.chart.times")}
            format={formatDuration}
            lines={[
              { name: t("reports.col.asa"), points: serviceSeries(service, "asa_seconds"), series: 2 },
              { name: t("reports.col.aht"), points: serviceSeries(service, "aht_seconds"), series: 3 },
            ]}
          />
        </div>
        <DataTable
          table={service && { ...service, rows: centreRows(service).map((row) => service.columns.map((c) => row[c])) }}
          caption={t("reports.perInterval")}
          path={paths.service}
          hide={["queue"]}
        />
      </Section>

      <Section id="report-agents" title={t("reports.agents")}>
        <DataTable table={tableOf(loaded.agents)} caption={t("reports.agentPerformance")} path={paths.agents} />
      </Section>

      <FormAnswers report={loaded.forms} path={paths.forms} />

      <Section id="report-requests" title={t("reports.requests")}>
        <div className="charts">
          <BarChart title={t("reports.chart.requests")} bars={barsOf(requestsByCategory, "category", "created")} />
          <BarChart title={t("reports.chart.withinSla")} bars={barsOf(requestsByCategory, "category", "done_within_sla")} />
        </div>
        <DataTable table={requestsByCategory} caption={t("reports.byCategory")} path={paths.requestsByCategory} />
        <DataTable table={tableOf(loaded.requestsByDistrict)} caption={t("reports.byDistrict")} path={paths.requestsByDistrict} />
        <DataTable table={tableOf(loaded.requestsByStatus)} caption={t("reports.byStatus")} path={paths.requestsByStatus} />
      </Section>
    </main>
  );
}
