// Checking a form in the browser for the form library (rjsf), without generating code at run time.
//
// rjsf's usual validator (Ajv) compiles each schema into JavaScript with `new Function`, which the
// page's Content-Security-Policy (script-src 'self', no 'unsafe-eval') forbids: the form would fail
// to check anything. @cfworker/json-schema interprets the schema instead, so the same JSON Schema
// (draft 2020-12) the server checks with is checked here too. This module turns its findings into
// one problem per field, with the limit from the schema, and into rjsf's error shapes; the words
// come from the page's dictionaries (FormPanel passes `describe`).

import { Validator, type OutputUnit, type Schema } from "@cfworker/json-schema";
import {
  createErrorHandler,
  getDefaultFormState,
  toErrorSchema,
  unwrapErrorHandler,
  validationDataMerge,
  type CustomValidator,
  type ErrorTransformer,
  type RJSFSchema,
  type RJSFValidationError,
  type UiSchema,
  type ValidationData,
  type ValidatorType,
} from "@rjsf/utils";

/** One thing wrong with one field: where (a path into the data), which rule, and its limit. */
export interface FieldProblem {
  path: string[];
  keyword: string;
  /** the rule's value in the schema (a maximum, a pattern, the allowed values...) */
  limit: unknown;
}

// Errors that only say "something inside failed", or that come from trying each branch of a
// oneOf/anyOf (the oneOf's own error says it): the field-level ones are reported instead.
const WRAPPERS = new Set(["properties", "items", "prefixItems", "additionalProperties", "allOf", "$ref", "dependentSchemas", "unevaluatedProperties"]);
const BRANCH = /\/(oneOf|anyOf)\/\d+(\/|$)/;

const validators = new WeakMap<object, Validator>();

function validatorFor(schema: object): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = new Validator(schema as Schema, "2020-12", false);
    validators.set(schema, validator);
  }
  return validator;
}

function pointer(location: string): string[] {
  return location
    .replace(/^#\/?/, "")
    .split("/")
    .filter((part) => part !== "")
    .map((part) => decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~"));
}

function at(schema: unknown, path: string[]): unknown {
  let node = schema;
  for (const part of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Every field-level problem of `data` against `schema`, in the validator's order. */
export function fieldProblems(schema: object, data: unknown): FieldProblem[] {
  const result = validatorFor(schema).validate(data);
  if (result.valid) return [];
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const unit of result.errors as OutputUnit[]) {
    if (WRAPPERS.has(unit.keyword) || BRANCH.test(unit.keywordLocation)) continue;
    let path = pointer(unit.instanceLocation);
    let keyword = unit.keyword;
    let limit = at(schema, pointer(unit.keywordLocation));
    if (keyword === "required") {
      const missing = /property "(.*)"/.exec(unit.error)?.[1];
      if (missing === undefined) continue;
      path = [...path, missing];
      limit = undefined;
    } else if (keyword === "false") {
      keyword = "unknown";
      limit = undefined;
    }
    const key = `${path.join("/")}|${keyword}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ path, keyword, limit });
  }
  return problems;
}

export type Describe = (problem: FieldProblem) => string;

/** rjsf's validator interface over `fieldProblems`; messages from `describe`. */
export class FormValidator implements ValidatorType {
  constructor(private readonly describe: Describe) {}

  validateFormData(
    formData: unknown,
    schema: RJSFSchema,
    customValidate?: CustomValidator,
    transformErrors?: ErrorTransformer,
    uiSchema?: UiSchema,
  ): ValidationData<unknown> {
    let errors: RJSFValidationError[] = fieldProblems(schema, formData ?? {}).map((problem) => {
      const message = this.describe(problem);
      const property = problem.path.length > 0 ? `.${problem.path.join(".")}` : "";
      return { name: problem.keyword, property, message, stack: `${property} ${message}`.trim() };
    });
    if (typeof transformErrors === "function") errors = transformErrors(errors, uiSchema);
    const errorSchema = toErrorSchema(errors);
    if (typeof customValidate !== "function") return { errors, errorSchema };
    const data = getDefaultFormState(this, schema, formData, schema, true);
    const handler = customValidate(data, createErrorHandler(data), uiSchema, errorSchema);
    return validationDataMerge({ errors, errorSchema }, unwrapErrorHandler(handler));
  }

  isValid(schema: RJSFSchema, formData: unknown, rootSchema: RJSFSchema): boolean {
    try {
      const whole = rootSchema.$defs ? { $defs: rootSchema.$defs, ...schema } : schema;
      return validatorFor(whole === schema ? schema : whole).validate(formData).valid;
    } catch {
      return false;
    }
  }

  rawValidation<Result = unknown>(schema: RJSFSchema, formData?: unknown): { errors?: Result[]; validationError?: Error } {
    try {
      const errors = fieldProblems(schema, formData ?? {});
      return errors.length > 0 ? { errors: errors as Result[] } : {};
    } catch (error) {
      return { validationError: error instanceof Error ? error : new Error(String(error)) };
    }
  }
}
