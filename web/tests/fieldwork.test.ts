// The pure part of the field worker's page and the request panel (src/lib/fieldwork.ts).

import { describe, expect, it } from "vitest";
import {
  formatAddress,
  formData,
  formInputs,
  isOpen,
  problemsByField,
  requestBody,
  requestRef,
  taskActions,
  type PanelValues,
} from "../src/lib/fieldwork";

const MEDICINE = {
  type: "object",
  required: ["medicines", "payment"],
  properties: {
    medicines: { type: "string", title: "Medicines and amounts", minLength: 2, maxLength: 2000 },
    prescription: { type: "boolean", title: "Has a prescription" },
    prescription_number: { type: "string", maxLength: 50 },
    payment: { type: "string", title: "Who pays", enum: ["caller_cash", "caller_transfer"] },
    budget: { type: "integer", title: "Budget", minimum: 0, maximum: 100000 },
    amount: { type: "number" },
    from: { type: "string", format: "date" },
  },
};

describe("taskActions", () => {
  it("offers accept or decline to a task just assigned, and no call before it is accepted", () => {
    expect(taskActions("assigned")).toEqual(["accept", "decline"]);
  });

  it("offers the call, done and failed once accepted, and no way back once on the way but done or failed", () => {
    expect(taskActions("accepted")).toEqual(["call", "start", "done", "failed", "decline"]);
    expect(taskActions("in_progress")).toEqual(["call", "done", "failed"]);
  });

  it("offers nothing for a finished task", () => {
    for (const state of ["done", "failed", "cancelled"] as const) {
      expect(taskActions(state)).toEqual([]);
      expect(isOpen(state)).toBe(false);
    }
    expect(isOpen("accepted")).toBe(true);
  });
});

describe("formatAddress", () => {
  it("reads street, house, flat and postcode in that order", () => {
    expect(formatAddress({ street: "Тверская", house: "5", flat: "12", postcode: "125009" }, "кв.")).toBe(
      "Тверская 5, кв. 12 (125009)",
    );
  });

  it("leaves out what is missing", () => {
    expect(formatAddress({ street: null, house: null, flat: null, postcode: "125009" }, "flat")).toBe("125009");
    expect(formatAddress({ street: "Petrovka", house: "3", flat: null, postcode: null }, "flat")).toBe("Petrovka 3");
    expect(formatAddress({ street: null, house: null, flat: null, postcode: null }, "flat")).toBe("");
  });
});

describe("problemsByField", () => {
  it("keys a 422's problems by field without the body prefix, keeping several per field", () => {
    expect(
      problemsByField([
        { loc: ["body", "caller", "age"], message: "too old" },
        { loc: ["form", "medicines"], message: "required" },
        { loc: ["form", "medicines"], message: "too short" },
        { loc: [], message: "no" },
        { loc: ["body", "note"], message: "too long" },
      ]),
    ).toEqual({
      "caller.age": ["too old"],
      "form.medicines": ["required", "too short"],
      "": ["no"],
      note: ["too long"],
    });
  });

  it("keeps a field that is itself called body when it is not the first part", () => {
    expect(problemsByField([{ loc: ["form", "body"], message: "x" }])).toEqual({ "form.body": ["x"] });
  });
});

describe("formInputs", () => {
  it("turns a category's JSON Schema into inputs of the right kind", () => {
    const inputs = formInputs(MEDICINE);
    expect(inputs.map((i) => [i.name, i.kind, i.required])).toEqual([
      ["medicines", "textarea", true],
      ["prescription", "boolean", false],
      ["prescription_number", "text", false],
      ["payment", "choice", true],
      ["budget", "integer", false],
      ["amount", "number", false],
      ["from", "date", false],
    ]);
    expect(inputs[0]?.title).toBe("Medicines and amounts");
    expect(inputs[2]?.title).toBe("prescription_number"); // no title: the field's name
    expect(inputs[3]?.choices).toEqual(["caller_cash", "caller_transfer"]);
    expect([inputs[4]?.min, inputs[4]?.max]).toEqual([0, 100000]);
  });

  it("makes nothing of a schema without properties", () => {
    expect(formInputs({ type: "object" })).toEqual([]);
  });
});

describe("formData", () => {
  const inputs = formInputs(MEDICINE);

  it("leaves empty inputs out and sends numbers as numbers", () => {
    expect(
      formData(inputs, { medicines: "Aspirin", prescription: false, payment: "", budget: " 1500 ", amount: "2,5" }),
    ).toEqual({ medicines: "Aspirin", budget: 1500, amount: 2.5 });
  });

  it("sends text that is no number as typed, for the server to say what is wrong", () => {
    expect(formData(inputs, { budget: "lots" })).toEqual({ budget: "lots" });
  });

  it("sends a ticked box as true", () => {
    expect(formData(inputs, { prescription: true })).toEqual({ prescription: true });
  });
});

describe("requestBody", () => {
  const draft = { idempotency_key: "key-123456", contact_id: "c1", caller: { number: "+74950001122" } };
  const values: PanelValues = {
    category: "medicine",
    callerNumber: "+70000000000",
    callerName: " Anna ",
    callerAge: "70",
    disability: false,
    urgent: true,
    address: { postcode: "125009", street: "Тверская", house: "5", flat: "", note: "" },
    note: "",
    form: { medicines: "Aspirin", payment: "caller_cash" },
  };

  it("carries the draft's key, contact and number, and only the address parts given", () => {
    expect(requestBody(values, formInputs(MEDICINE), draft)).toEqual({
      category: "medicine",
      idempotency_key: "key-123456",
      contact_id: "c1",
      caller: { number: "+74950001122", name: "Anna", age: 70, disability: false },
      address: { postcode: "125009", street: "Тверская", house: "5" },
      form: { medicines: "Aspirin", payment: "caller_cash" },
      urgent: true,
    });
  });

  it("with no call behind the draft, sends the typed number and no contact", () => {
    const blank = { idempotency_key: "key-654321", contact_id: null, caller: { number: null } };
    const body = requestBody({ ...values, callerNumber: " +7 495 000-77-88 " }, formInputs(MEDICINE), blank);
    expect(body.contact_id).toBeUndefined();
    expect(body.caller.number).toBe("+7 495 000-77-88");
    expect(requestBody({ ...values, callerNumber: " " }, formInputs(MEDICINE), blank).caller.number).toBeNull();
  });

  it("is the same for the same form, so a second submission is recognised as the first", () => {
    const inputs = formInputs(MEDICINE);
    expect(requestBody(values, inputs, draft)).toEqual(requestBody({ ...values }, inputs, draft));
  });

  it("sends no address when none was typed", () => {
    const body = requestBody(
      { ...values, address: { postcode: "", street: " ", house: "", flat: "", note: "" } },
      formInputs(MEDICINE),
      draft,
    );
    expect(body.address).toBeUndefined();
  });
});

describe("requestRef", () => {
  it("is what the caller's status message quotes: the id's last six, upper-cased", () => {
    expect(requestRef("01jf3k9x2abcdef")).toBe("ABCDEF");
  });
});
