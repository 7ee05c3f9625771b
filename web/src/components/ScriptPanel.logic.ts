// What the script panel shows, worked out from the script and the server's state of it: the steps
// taken with their answers (as the button's label, or the free text), and the question now asked.
// Pure: the server's runner decides the path; this only reads it.

import type { Script, ScriptState, ScriptStep } from "../api/scripts";

export interface TranscriptRow {
  step: ScriptStep;
  /** the stored answer (a choice's value, or free text); null for a say step or the open question */
  answer: string | null;
  /** what to show for the answer: the choice's label, or the free text itself */
  shown: string | null;
  current: boolean;
}

/** The answer as the agent saw it given: the label of the choice, else the text as typed. */
export function shownAnswer(step: ScriptStep, answer: string | null): string | null {
  if (answer === null) return null;
  return step.choices.find((c) => c.value === answer)?.label ?? answer;
}

/** The steps taken, in order; steps the script does not have (a newer version?) are skipped. */
export function transcript(script: Script, state: ScriptState): TranscriptRow[] {
  const steps = new Map(script.steps.map((s) => [s.id, s]));
  const rows: TranscriptRow[] = [];
  for (const visit of state.path) {
    const step = steps.get(visit.step);
    if (!step) continue;
    rows.push({
      step,
      answer: visit.answer,
      shown: shownAnswer(step, visit.answer),
      current: visit.step === state.current,
    });
  }
  return rows;
}

/** Whether the question would take `answer` (the server checks the same). */
export function takes(step: ScriptStep, answer: string): boolean {
  if (step.ask === null || answer.length > 2000) return false;
  if (step.choices.length > 0) return step.choices.some((c) => c.value === answer);
  return answer.trim() !== "";
}
