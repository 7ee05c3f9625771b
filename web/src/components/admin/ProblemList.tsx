// A draft's problems (and warnings), each with its line: choosing the line puts the cursor there.

import { useI18n } from "../../i18n";
import type { DraftProblem } from "./adminApi";

function Item({ problem, onGoTo }: { problem: DraftProblem; onGoTo: (line: number) => void }) {
  const { t } = useI18n();
  return (
    <li>
      {problem.line !== null ? (
        <button type="button" className="link" onClick={() => onGoTo(problem.line as number)}>
          {t("admin.line", { line: problem.line })}
        </button>
      ) : (
        <span className="muted">{t("admin.noLine")}</span>
      )}{" "}
      {problem.path && <code>{problem.path}</code>} <span>{problem.message}</span>
    </li>
  );
}

export function ProblemList({
  id,
  problems,
  warnings,
  onGoTo,
}: {
  id: string;
  problems: DraftProblem[];
  warnings: DraftProblem[];
  onGoTo: (line: number) => void;
}) {
  const { t } = useI18n();
  if (problems.length === 0 && warnings.length === 0) return null;
  return (
    <div id={id} className="problems">
      {problems.length > 0 && (
        <div className="error" role="alert">
          <strong>{t("admin.problems", { count: problems.length })}</strong>
          <ul>
            {problems.map((p, i) => (
              <Item key={i} problem={p} onGoTo={onGoTo} />
            ))}
          </ul>
        </div>
      )}
      {warnings.length > 0 && (
        <div className="warnings" role="status">
          <strong>{t("admin.warnings", { count: warnings.length })}</strong>
          <ul>
            {warnings.map((p, i) => (
              <Item key={i} problem={p} onGoTo={onGoTo} />
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
