// The script and form panels' pure parts: the script's transcript, the form draft's save rules
// (one request at a time, stale saves become a choice, nothing lost offline or on reload), the
// server's field problems shown at their fields, and the browser-side check of a form, which must
// not generate code (the page's Content-Security-Policy forbids it).

import type { RJSFSchema } from "@rjsf/utils";
import { describe, expect, it } from "vitest";
import type { Draft, Script, ScriptState } from "../src/api/scripts";
import { translate } from "../src/i18n";
import { en } from "../src/i18n/en";
import { ru } from "../src/i18n/ru";
import {
  localDraft,
  parseLocalDraft,
  problemsToErrorTree,
  problemText,
  reduce,
  shouldSave,
  startDraft,
  statusKey,
  type DraftEvent,
  type DraftState,
} from "../src/components/FormPanel.logic";
import { fieldProblems, FormValidator } from "../src/components/FormPanel.validator";
import { shownAnswer, takes, transcript } from "../src/components/ScriptPanel.logic";

const tEn = (key: keyof typeof en, params?: Record<string, string | number>) => translate(en, key, params);
const tRu = (key: keyof typeof en, params?: Record<string, string | number>) => translate(ru, key, params);

const SCRIPT: Script = {
  id: "triage_ru",
  version: 1,
  name: "Triage",
  language: "ru",
  start: "greet",
  steps: [
    { id: "greet", say: "Hello", ask: null, hint: "Say your name", choices: [], next: null },
    {
      id: "danger",
      say: null,
      ask: "Trouble breathing?",
      hint: null,
      choices: [
        { value: "yes", label: "Yes", next: "ambulance" },
        { value: "no", label: "No", next: null },
      ],
      next: "name",
    },
    { id: "ambulance", say: "Call 103", ask: null, hint: null, choices: [], next: "end" },
    { id: "name", say: null, ask: "Your name?", hint: null, choices: [], next: null },
  ],
};

const STATE: ScriptState = {
  answers: { danger: "no", name: "<b>Anna</b>" },
  path: [
    { step: "greet", answer: null },
    { step: "danger", answer: "no" },
    { step: "name", answer: "<b>Anna</b>" },
  ],
  current: null,
  done: true,
  updated_at: null,
  updated_by: null,
};

function draft(extra: Partial<Draft> = {}): Draft {
  return {
    version: 0,
    form_version: 1,
    status: "new",
    data: {},
    updated_at: null,
    updated_by: null,
    submitted_at: null,
    ...extra,
  };
}

function run(state: DraftState, ...events: DraftEvent[]): DraftState {
  return events.reduce(reduce, state);
}

describe("the script's transcript", () => {
  it("lists the steps taken with the choice's label or the free text as given", () => {
    const rows = transcript(SCRIPT, STATE);
    expect(rows.map((r) => [r.step.id, r.shown, r.current])).toEqual([
      ["greet", null, false],
      ["danger", "No", false],
      ["name", "<b>Anna</b>", false],
    ]);
  });

  it("marks the question now asked and skips steps the script does not have", () => {
    const rows = transcript(SCRIPT, {
      ...STATE,
      path: [
        { step: "gone", answer: null },
        { step: "greet", answer: null },
        { step: "danger", answer: null },
      ],
      current: "danger",
      done: false,
    });
    expect(rows.map((r) => [r.step.id, r.current])).toEqual([
      ["greet", false],
      ["danger", true],
    ]);
  });

  it("takes a choice's value or non-blank text, as the server does", () => {
    const [greet, danger, , name] = SCRIPT.steps;
    expect(takes(danger!, "yes")).toBe(true);
    expect(takes(danger!, "Yes")).toBe(false);
    expect(takes(name!, "  ")).toBe(false);
    expect(takes(name!, "x".repeat(2001))).toBe(false);
    expect(takes(greet!, "anything")).toBe(false);
    expect(shownAnswer(danger!, "maybe")).toBe("maybe");
  });
});

describe("the form draft", () => {
  it("sends one save at a time and stays dirty for edits made while it was in flight", () => {
    let state = run(startDraft(draft()), { type: "edit", data: { age: 1 } });
    expect(shouldSave(state)).toBe(true);
    state = reduce(state, { type: "send", submit: false });
    expect(state.inFlight?.data).toEqual({ age: 1 });
    expect(shouldSave(state)).toBe(false);
    expect(reduce(state, { type: "send", submit: true })).toBe(state);
    state = run(state, { type: "edit", data: { age: 2 } }, { type: "saved", draft: draft({ version: 1, status: "draft" }) });
    expect([state.base, state.dirty, state.data]).toEqual([1, true, { age: 2 }]);
    state = run(state, { type: "send", submit: false }, { type: "saved", draft: draft({ version: 2, status: "draft" }) });
    expect([state.base, state.dirty, shouldSave(state)]).toEqual([2, false, false]);
    expect(statusKey(state)).toBe("form.status.saved");
  });

  it("turns a stale save into a choice: nothing is sent until the agent keeps theirs or reloads", () => {
    let state = run(
      startDraft(draft({ version: 3, status: "draft", data: { age: 1 } })),
      { type: "edit", data: { age: 5 } },
      { type: "send", submit: false },
      { type: "stale", current: 4, by: "boss" },
    );
    expect(state.conflict).toEqual({ current: 4, by: "boss" });
    expect(statusKey(state)).toBe("form.status.conflict");
    expect(state.data).toEqual({ age: 5 });
    expect(shouldSave(state)).toBe(false);
    expect(reduce(state, { type: "send", submit: false })).toBe(state);
    const kept = reduce(state, { type: "keepMine" });
    expect([kept.base, kept.conflict, shouldSave(kept)]).toEqual([4, null, true]);
    const theirs = reduce(state, { type: "reload", draft: draft({ version: 4, status: "draft", data: { age: 9 } }) });
    expect([theirs.base, theirs.data, theirs.dirty, theirs.conflict]).toEqual([4, { age: 9 }, false, null]);
  });

  it("keeps the edits and tries again after a failed request", () => {
    const state = run(startDraft(draft()), { type: "edit", data: { a: 1 } }, { type: "send", submit: false }, { type: "failed" });
    expect([state.dirty, state.offline, shouldSave(state)]).toEqual([true, true, true]);
    expect(statusKey(state)).toBe("form.status.offline");
    expect(localDraft(state)).toEqual({ base: 0, data: { a: 1 } });
  });

  it("holds refused data until the agent edits it", () => {
    let state = run(startDraft(draft()), { type: "edit", data: { age: -1 } }, { type: "send", submit: true }, { type: "refused" });
    expect([state.held, shouldSave(state)]).toEqual([true, false]);
    expect(statusKey(state)).toBe("form.status.held");
    state = reduce(state, { type: "edit", data: { age: 3 } });
    expect(shouldSave(state)).toBe(true);
  });

  it("says when a submitted form was changed afterwards", () => {
    const submitted = draft({ version: 2, status: "submitted", submitted_at: "2026-01-01T10:00:00Z" });
    expect(statusKey(startDraft(submitted))).toBe("form.status.submitted");
    const changed = run(
      startDraft(submitted),
      { type: "edit", data: { a: 1 } },
      { type: "send", submit: false },
      { type: "saved", draft: { ...submitted, version: 3, status: "draft" } },
    );
    expect(statusKey(changed)).toBe("form.status.changedSinceSubmit");
    expect(statusKey(startDraft(draft()))).toBe("form.status.new");
  });

  it("restores unsaved edits from the tab after a reload, or asks when the server moved on", () => {
    const server = draft({ version: 2, status: "draft", data: { age: 1 }, updated_by: "boss" });
    const same = startDraft(server, { base: 2, data: { age: 7 } });
    expect([same.data, same.dirty, same.conflict]).toEqual([{ age: 7 }, true, null]);
    const moved = startDraft(server, { base: 1, data: { age: 7 } });
    expect(moved.conflict).toEqual({ current: 2, by: "boss" });
    const nothingNew = startDraft(server, { base: 1, data: { age: 1 } });
    expect([nothingNew.dirty, nothingNew.conflict]).toEqual([false, null]);
    expect(localDraft(startDraft(server))).toBeNull();
  });

  it("reads back only a well-formed local draft", () => {
    expect(parseLocalDraft(JSON.stringify({ base: 1, data: { a: "<script>" } }))).toEqual({ base: 1, data: { a: "<script>" } });
    for (const junk of [null, "", "{", "[]", '{"base":"1","data":{}}', '{"base":1,"data":[]}']) {
      expect(parseLocalDraft(junk)).toBeNull();
    }
  });
});

describe("field problems", () => {
  it("puts the server's problems at their fields", () => {
    expect(
      problemsToErrorTree([
        { loc: ["data", "age"], message: "at most 120" },
        { loc: ["data", "address"], message: "field required" },
        { loc: ["data", "address"], message: "too short" },
        { loc: ["data", "contacts", 0, "phone"], message: "not in the expected format" },
        { loc: ["data"], message: "too large" },
      ]),
    ).toEqual({
      __errors: ["too large"],
      age: { __errors: ["at most 120"] },
      address: { __errors: ["field required", "too short"] },
      contacts: { "0": { phone: { __errors: ["not in the expected format"] } } },
    });
  });
});

const AGE: RJSFSchema = { type: "integer", minimum: 0, maximum: 120 };
const FORM: RJSFSchema = {
  type: "object",
  required: ["age", "address", "consent"],
  properties: {
    age: AGE,
    address: { type: "string", minLength: 5 },
    since: { type: "string", format: "date" },
    symptoms: {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { type: "string", oneOf: [{ const: "fever", title: "Fever" }, { const: "cough", title: "Cough" }] },
    },
    consent: { type: "boolean", const: true },
  },
  additionalProperties: false,
};

describe("checking a form in the browser", () => {
  it("finds one problem per field, with the schema's limit", () => {
    const problems = fieldProblems(FORM, { age: 200, address: "abc", since: "2026-13-40", symptoms: ["flu", "flu"], nick: 1 });
    expect(problems.map((p) => [p.path.join("."), p.keyword, p.limit])).toEqual([
      ["consent", "required", undefined],
      ["age", "maximum", 120],
      ["address", "minLength", 5],
      ["since", "format", "date"],
      ["symptoms.0", "oneOf", expect.anything()],
      ["symptoms.1", "oneOf", expect.anything()],
      ["symptoms", "uniqueItems", true],
      ["nick", "unknown", undefined],
    ]);
    expect(fieldProblems(FORM, { age: 70, address: "Tverskaya 1", consent: true, symptoms: ["fever"] })).toEqual([]);
  });

  it("words problems in the agent's language, never echoing what was typed", () => {
    const [required, maximum] = fieldProblems(FORM, { age: 200, address: "Tverskaya 1" });
    expect(problemText(required!, tEn)).toBe("Required");
    expect(problemText(maximum!, tEn)).toBe("At most 120");
    expect(problemText(maximum!, tRu)).toBe("Не больше 120");
    const [wrongType] = fieldProblems(FORM, { age: "old", address: "Tverskaya 1", consent: true });
    expect(problemText(wrongType!, tEn)).toBe("Expected a whole number");
    expect(problemText({ path: [], keyword: "if", limit: {} }, tEn)).toBe("Not a valid value");
  });

  it("gives rjsf its errors by field, without generating code (the page's CSP forbids eval)", () => {
    const validator = new FormValidator((p) => problemText(p, tEn));
    const real = { Function: globalThis.Function, eval: globalThis.eval };
    const refuse = () => {
      throw new EvalError("code generation is not allowed here");
    };
    Object.assign(globalThis, { Function: refuse, eval: refuse });
    try {
      const { errors, errorSchema } = validator.validateFormData({ age: -1, address: "Tverskaya 1" }, FORM);
      expect(errors.map((e) => [e.property, e.message])).toEqual([
        [".consent", "Required"],
        [".age", "At least 0"],
      ]);
      expect(errorSchema).toEqual({ consent: { __errors: ["Required"] }, age: { __errors: ["At least 0"] } });
      expect(validator.isValid(AGE, 5, FORM)).toBe(true);
      expect(validator.isValid(AGE, 500, FORM)).toBe(false);
    } finally {
      Object.assign(globalThis, real);
    }
  });
});
