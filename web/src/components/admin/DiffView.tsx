// A unified diff shown as a table: removed lines red, added green, both sides numbered.

import { useMemo } from "react";
import { useI18n } from "../../i18n";
import { diffStats, parseDiff } from "./logic";

const SIGN = { add: "+", del: "−", same: " ", file: "", hunk: "" } as const;

export function DiffView({ diff, caption }: { diff: string; caption: string }) {
  const { t } = useI18n();
  const lines = useMemo(() => parseDiff(diff), [diff]);
  if (lines.length === 0) return <p className="muted">{t("admin.diff.none")}</p>;
  const stats = diffStats(lines);
  return (
    <div className="diff">
      <p className="small">{t("admin.diff.stats", stats)}</p>
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.diff.old")}</th>
            <th scope="col">{t("admin.diff.new")}</th>
            <th scope="col">{t("admin.diff.text")}</th>
          </tr>
        </thead>
        <tbody>
          {lines
            .filter((l) => l.kind !== "file")
            .map((line, i) => (
              <tr key={i} className={`diff-${line.kind}`}>
                <td className="num">{line.oldLine ?? ""}</td>
                <td className="num">{line.newLine ?? ""}</td>
                <td>
                  <code>
                    {SIGN[line.kind]}
                    {line.kind === "hunk" ? "…" : line.text}
                  </code>
                </td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}
