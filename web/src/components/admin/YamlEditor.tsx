// A plain text editor for YAML with line numbers, lines with problems marked, and the problems
// listed below it: choosing one puts the cursor on its line. A textarea on purpose: it is fast
// with thousands of lines, works with every assistive technology, and needs no package.

import { forwardRef, useImperativeHandle, useRef, type UIEvent } from "react";
import { useI18n } from "../../i18n";
import type { DraftProblem } from "./adminApi";
import { lineOffset, problemsByLine } from "./logic";

export interface YamlEditorHandle {
  goToLine: (line: number) => void;
}

interface Props {
  id: string;
  label: string;
  value: string;
  onChange?: (value: string) => void;
  problems?: DraftProblem[];
  readOnly?: boolean;
  rows?: number;
}

export const YamlEditor = forwardRef<YamlEditorHandle, Props>(function YamlEditor(
  { id, label, value, onChange, problems = [], readOnly = false, rows = 24 },
  ref,
) {
  const { t } = useI18n();
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const marked = problemsByLine(problems);
  const count = value.split("\n").length;

  useImperativeHandle(ref, () => ({
    goToLine(line: number) {
      const element = area.current;
      if (!element) return;
      const start = lineOffset(element.value, line);
      const end = element.value.indexOf("\n", start);
      element.focus();
      element.setSelectionRange(start, end < 0 ? element.value.length : end);
      const lineHeight = element.scrollHeight / Math.max(1, element.value.split("\n").length);
      element.scrollTop = Math.max(0, (line - 3) * lineHeight);
    },
  }));

  const follow = (e: UIEvent<HTMLTextAreaElement>) => {
    if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
  };

  return (
    <div className="yaml-editor">
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <div className="yaml-frame">
        <div className="yaml-gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: count }, (_, i) => (
            <div key={i} className={marked.has(i + 1) ? "bad" : undefined}>
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          id={id}
          ref={area}
          value={value}
          rows={rows}
          wrap="off"
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          readOnly={readOnly}
          aria-invalid={problems.length > 0 || undefined}
          aria-describedby={problems.length > 0 ? `${id}-problems` : undefined}
          onScroll={follow}
          onChange={(e) => onChange?.(e.target.value)}
        />
      </div>
      {readOnly && <p className="muted small">{t("admin.readOnly")}</p>}
    </div>
  );
});
