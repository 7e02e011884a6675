// Text with Kyverno variables: "{{ expression }}" anywhere in a string, "\{{" to write the braces literally. The
// text is split once, when the policy compiles, into literal parts and compiled expressions. A string that is one
// variable and nothing else takes the variable's JSON value (a number stays a number); otherwise each value is
// written into the text, strings as they are and everything else as Go's JSON ("null" for null).
//
// Variables are found as Kyverno's regular expression finds them: "{{", then characters other than braces or one
// level of {...} (a multi-select hash), then "}}"; not after a backslash. "{{- expr }}" (Kyverno's shallow
// substitution) is read as "{{ expr }}". Unlike Kyverno, a value put into the text is never searched for variables
// again: values come from attestations, and text in them must stay text.
import { err, ok, type Result } from '../result/index.js';
import { sanitizeText } from '../text/index.js';
import type { ConditionError } from './condition-error.js';
import { evaluationFailure } from './evaluation-failure.js';
import type { EvaluationRun } from './evaluation-run.js';
import { compileExpression, evaluateExpression, type CompiledExpression } from './expression.js';
import { marshalGoJson } from './go-json.js';
import type { JsonValue } from './json-value.js';
import { MAX_STRING_LENGTH } from './limits.js';

export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'variable'; readonly written: string; readonly expression: CompiledExpression };

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
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    if (open < 0) break;
    const end = open > 0 && source[open - 1] === '\\' ? -1 : variableEnd(source, open);
    if (end < 0) {
      i = open + 1;
      continue;
    }
    if (open > literalStart) parts.push({ kind: 'text', text: unescapeBraces(source.slice(literalStart, open)) });
    const written = source.slice(open, end);
    const compiled = compileExpression(expressionOf(written));
    if (compiled.ok) parts.push({ kind: 'variable', written, expression: compiled.value });
    else errors.push({ field, message: `${quote(written)}: ${compiled.error}` });
    literalStart = end;
    i = end;
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

/**
 * Where the variable starting at `open` ends (after its "}}"), or -1. The body is characters other than braces,
 * or a {...} group without braces inside.
 */
function variableEnd(text: string, open: number): number {
  let i = open + 2;
  while (i < text.length) {
    const c = text[i];
    if (c === '}') return text[i + 1] === '}' ? i + 2 : -1;
    if (c === '{') {
      let j = i + 1;
      while (j < text.length && text[j] !== '{' && text[j] !== '}') j++;
      if (text[j] !== '}') return -1;
      i = j + 1;
      continue;
    }
    i++;
  }
  return -1;
}

/** Kyverno's replaceBracesAndTrimSpaces: every "{{" and "}}" removed, spaces trimmed, a leading "-" dropped. */
function expressionOf(written: string): string {
  const inner = written.split('{{').join('').split('}}').join('').trim();
  return inner.startsWith('-') ? inner.slice(1).trim() : inner;
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
  if (template.whole) return resolveVariable(template.parts[0] as Extract<TemplatePart, { kind: 'variable' }>, root);
  return renderText(template, root, run);
}

/** The template as text: a whole-variable template that is not a string is written as JSON. */
export function renderText(template: CompiledTemplate, root: JsonValue, run: EvaluationRun): string {
  let out = '';
  for (const part of template.parts) {
    if (part.kind === 'text') out += part.text;
    else {
      const value = resolveVariable(part, root);
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

function resolveVariable(part: Extract<TemplatePart, { kind: 'variable' }>, root: JsonValue): JsonValue {
  let result;
  try {
    result = evaluateExpression(part.expression, root);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw evaluationFailure(`failed to evaluate ${quote(part.written)}: ${sanitizeText(message, 300)}`);
  }
  if (!result.found) {
    throw evaluationFailure(
      `variable ${quote(part.written)} could not be resolved: unknown key ${quote(result.missingKey)} in path`,
    );
  }
  return result.value;
}
