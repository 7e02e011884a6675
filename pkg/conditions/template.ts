// Text with Kyverno variables: "{{ expression }}" anywhere in a string, "\{{" to write the braces literally. The
// text is split once, when the policy compiles, into literal parts and compiled variables. A string that is one
// variable and nothing else takes the variable's JSON value (a number stays a number); otherwise each value is
// written into the text, strings as they are and everything else as Go's JSON ("null" for null).
//
// Variables are found as Kyverno's regular expression finds them (template-syntax.ts): "{{", then characters other
// than braces, one level of {...} (a multi-select hash) or other variables, then "}}"; not after a backslash; an
// unclosed "{{" stays text. A variable with variables inside ("{{ regex_match('^x', '{{ subject }}') }}") is nested:
// the inner ones are evaluated first and the outer one then, as in Kyverno (variable.ts, which also says how the
// inner values are written into the outer expression: unlike Kyverno, so that they cannot change it). "{{- expr }}"
// (Kyverno's shallow substitution) is read as "{{ expr }}". Unlike Kyverno, a value put into the text is never
// searched for variables again: values come from attestations, and text in them must stay text.
import { err, ok, type Result } from '../result/index.js';
import { sanitizeText } from '../text/index.js';
import type { ConditionError } from './condition-error.js';
import { evaluationFailure } from './evaluation-failure.js';
import type { EvaluationRun } from './evaluation-run.js';
import { marshalGoJson } from './go-json.js';
import type { JsonValue } from './json-value.js';
import { MAX_STRING_LENGTH } from './limits.js';
import { findVariables } from './template-syntax.js';
import { compileVariable, resolveVariable, type Variable } from './variable.js';

export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'variable'; readonly written: string; readonly variable: Variable };

export interface CompiledTemplate {
  /** The text as the policy has it. */
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  /** Whether the text is one variable and nothing else, so that it takes the variable's JSON value. */
  readonly whole: boolean;
}

/** Splits text into literal parts and variables; errors name `field`. */
export function compileTemplate(source: string, field: string): Result<CompiledTemplate, ConditionError[]> {
  const parts: TemplatePart[] = [];
  const errors: ConditionError[] = [];
  let literalStart = 0;
  for (const span of findVariables(source)) {
    if (span.open > literalStart) {
      parts.push({ kind: 'text', text: unescapeBraces(source.slice(literalStart, span.open)) });
    }
    const written = source.slice(span.open, span.end);
    const compiled = compileVariable(source, span);
    if (compiled.ok) parts.push({ kind: 'variable', written, variable: compiled.value });
    else errors.push({ field, message: `${quote(written)}: ${compiled.error}` });
    literalStart = span.end;
  }
  if (literalStart < source.length) parts.push({ kind: 'text', text: unescapeBraces(source.slice(literalStart)) });
  if (errors.length > 0) return err(errors);
  const whole = parts.length === 1 && parts[0]!.kind === 'variable';
  return ok({ source, parts, whole });
}

/** Whether the text has any variable at all. */
export function hasVariables(template: CompiledTemplate): boolean {
  return template.parts.some((part) => part.kind === 'variable');
}

function unescapeBraces(text: string): string {
  return text.split('\\{{').join('{{');
}

function quote(text: string): string {
  return JSON.stringify(sanitizeText(text, 200));
}

/**
 * The template's value: the variable's own JSON value for a whole-variable template, else the text. A variable
 * that names a member an object does not have is an error, as in Kyverno.
 */
export function renderTemplate(template: CompiledTemplate, root: JsonValue, run: EvaluationRun): JsonValue {
  if (template.whole) {
    return resolveVariable((template.parts[0] as Extract<TemplatePart, { kind: 'variable' }>).variable, root, run);
  }
  return renderText(template, root, run);
}

/** The template as text: a whole-variable template that is not a string is written as JSON. */
export function renderText(template: CompiledTemplate, root: JsonValue, run: EvaluationRun): string {
  let out = '';
  for (const part of template.parts) {
    if (part.kind === 'text') out += part.text;
    else {
      const value = resolveVariable(part.variable, root, run);
      out += typeof value === 'string' ? value : marshalGoJson(value, run.budget);
    }
    if (out.length > MAX_STRING_LENGTH) {
      throw evaluationFailure(
        `the text made from ${quote(template.source)} is longer than ${MAX_STRING_LENGTH} characters`,
      );
    }
  }
  run.budget.charge(1 + (out.length >> 4));
  return out;
}
