// One "{{ }}" variable of a template, compiled, and its value at admission. A plain variable's expression is
// compiled with the policy. A nested one ("{{ regex_match('^https://github.com/org/', '{{ subject }}') }}",
// "{{ time_after('{{ a.ts }}', '{{ b.ts }}') }}", "{{ keys.data.{{ request.namespace }} }}") is evaluated as Kyverno
// does it: the inner variables first, their values written into the outer text, then the outer text compiled and
// evaluated (the compiled texts are cached, see expression-cache.ts).
//
// How a value is written into the outer text differs from Kyverno on purpose. Kyverno pastes the value's text
// (strings as they are, anything else as JSON) and parses the result, so a value that holds a quote ends the string
// literal it was put in and the rest of it is read as expression: a subject "x') || true || ('" turns
// "regex_match('^https://github.com/org/', '{{ subject }}')" into "... || true || ...", which is true whatever the
// subject. Values come from attestations, which their signer writes. Here the outer text is read when the policy
// compiles, so that where each inner variable stands is known (in a '…' raw string, a "…" quoted identifier, a `…`
// JSON literal or a JSON string inside one, or bare in the expression), and each value is written so that it stays
// what it is there:
//   - in a '…', "…" or a JSON string: the value's text (strings as they are, others as JSON, as in Kyverno) with the
//     escapes that literal needs, so the expression sees exactly that text and the quotes are never closed;
//   - in a `…` literal: the value as JSON (a string that is JSON text itself as that JSON, as Kyverno reads it);
//   - bare: one token. An integer (or a string of digits) as it is, true, false and null as the identifiers Kyverno
//     also makes of them, any other string as one quoted identifier ("team-a": Kyverno's keys.data.team-a would not
//     parse), an object, array or other number as a `…` JSON literal. A value never becomes an operator, a function
//     name or a path of several steps.
// The structure comes from the policy alone, so braces in a value never make or break a variable either, and a
// value is never searched for variables again. Other Kyverno details kept: an inner variable that cannot be
// resolved is an error (a default is written with ||), null is written as "null", "{{-" is read as "{{" (Kyverno's
// shallow substitution, here the only kind; Kyverno also stops evaluating the outer variable after a shallow inner
// one, a known bug the outer's evaluation here does not copy).
import { sanitizeText } from '../text/index.js';
import { err, ok, type Result } from '../result/index.js';
import { evaluationFailure } from './evaluation-failure.js';
import type { EvaluationRun } from './evaluation-run.js';
import { nestedExpressions } from './expression-cache.js';
import { compileExpression, evaluateExpression, type CompiledExpression } from './expression.js';
import { marshalGoJson } from './go-json.js';
import type { JsonValue } from './json-value.js';
import { MAX_NESTED_EXPRESSION_LENGTH, MAX_VARIABLE_NESTING } from './limits.js';
import type { VariableSpan } from './template-syntax.js';

/** Where an inner variable stands in its outer expression's text. */
export type Position = 'expression' | 'raw-string' | 'quoted-identifier' | 'json-literal' | 'json-string';

export type Variable =
  | { readonly kind: 'plain'; readonly written: string; readonly expression: CompiledExpression }
  | {
      readonly kind: 'nested';
      readonly written: string;
      /** The outer expression's own text around the inner variables: one more than there are inner variables. */
      readonly segments: readonly string[];
      readonly inner: readonly { readonly position: Position; readonly variable: Variable }[];
    };

/** Compiles the variable `span` of `source`; the error is a message about it (the caller names the field). */
export function compileVariable(source: string, span: VariableSpan): Result<Variable, string> {
  const written = source.slice(span.open, span.end);
  if (span.depth > MAX_VARIABLE_NESTING) {
    return err(`variables are nested ${span.depth} levels deep here; at most ${MAX_VARIABLE_NESTING} are allowed`);
  }
  if (span.inner.length === 0) {
    const compiled = compileExpression(expressionOf(written));
    return compiled.ok ? ok({ kind: 'plain', written, expression: compiled.value }) : compiled;
  }
  const segments = bodySegments(source, span);
  const positions = positionsOf(segments);
  const inner: { position: Position; variable: Variable }[] = [];
  for (const [k, innerSpan] of span.inner.entries()) {
    const compiled = compileVariable(source, innerSpan);
    if (!compiled.ok) return err(`${quote(source.slice(innerSpan.open, innerSpan.end))}: ${compiled.error}`);
    inner.push({ position: positions[k]!, variable: compiled.value });
  }
  const problem = checkOuter(segments, positions);
  if (problem !== undefined) return err(problem);
  return ok({ kind: 'nested', written, segments, inner });
}

/** Kyverno's replaceBracesAndTrimSpaces: every "{{" and "}}" removed, spaces trimmed, a leading "-" dropped. */
export function expressionOf(written: string): string {
  const inner = written.split('{{').join('').split('}}').join('').trim();
  return inner.startsWith('-') ? inner.slice(1).trim() : inner;
}

/**
 * The outer variable's text between its braces, cut around the inner variables, trimmed and without the shallow
 * "-" as Kyverno's replaceBracesAndTrimSpaces leaves it. The body has no "{{" or "}}" of its own (the syntax does
 * not allow them), so nothing else is removed.
 */
function bodySegments(source: string, span: VariableSpan): string[] {
  const segments: string[] = [];
  let from = span.open + 2;
  for (const inner of span.inner) {
    segments.push(source.slice(from, inner.open));
    from = inner.end;
  }
  segments.push(source.slice(from, span.end - 2));
  let first = segments[0]!.trimStart();
  if (first.startsWith('-')) first = first.slice(1).trimStart();
  segments[0] = first;
  segments[segments.length - 1] = segments[segments.length - 1]!.trimEnd();
  return segments;
}

/**
 * Where each gap between segments stands, read as @jmespath-community/jmespath's lexer reads the text: '…' and "…"
 * and `…` with their backslash pairs, and, inside `…`, JSON strings. A gap is never after a backslash (that would be
 * an escaped "\{{"), so no escape pair spans a gap, and the values written into the gaps keep the lexer where it
 * was, so the segments alone decide every position.
 */
function positionsOf(segments: readonly string[]): Position[] {
  let state: Position = 'expression';
  const positions: Position[] = [];
  for (const [k, segment] of segments.entries()) {
    if (k > 0) positions.push(state);
    for (let i = 0; i < segment.length; i++) {
      const c = segment[i];
      const next = segment[i + 1];
      switch (state) {
        case 'expression':
          if (c === "'") state = 'raw-string';
          else if (c === '"') state = 'quoted-identifier';
          else if (c === '`') state = 'json-literal';
          break;
        case 'raw-string':
          if (c === '\\' && (next === '\\' || next === "'")) i++;
          else if (c === "'") state = 'expression';
          break;
        case 'quoted-identifier':
          if (c === '\\' && (next === '\\' || next === '"')) i++;
          else if (c === '"') state = 'expression';
          break;
        case 'json-literal':
          if (c === '\\' && (next === '\\' || next === '`')) i++;
          else if (c === '`') state = 'expression';
          else if (c === '"') state = 'json-string';
          break;
        case 'json-string':
          if (c === '\\' && next !== undefined) i++;
          else if (c === '"') state = 'json-literal';
          else if (c === '`') state = 'expression';
          break;
      }
    }
  }
  return positions;
}

/**
 * The outer expression checked when the policy compiles, with a stand-in for each inner value: a typo, an unknown
 * function or a wrong number of arguments is refused then, not at the first admission. When a bare inner variable
 * stands where neither a name nor an index fits the stand-in, the check is left to admission.
 */
function checkOuter(segments: readonly string[], positions: readonly Position[]): string | undefined {
  const attempt = (bare: string) =>
    compileExpression(
      segments.reduce((text, segment, k) => text + standIn(positions[k - 1]!, bare) + segment),
      MAX_NESTED_EXPRESSION_LENGTH,
    );
  const named = attempt('x');
  if (named.ok) return undefined;
  if (!positions.includes('expression')) return named.error;
  if (attempt('0').ok) return undefined;
  // A bare value may make text parse that neither stand-in does (a.{{ k }}[{{ i }}]): its syntax waits for admission.
  return named.error.startsWith('invalid JMESPath expression') ? undefined : named.error;
}

function standIn(position: Position, bare: string): string {
  switch (position) {
    case 'expression':
      return bare;
    case 'json-literal':
      return 'null';
    default:
      return 'x';
  }
}

/**
 * The variable's value. A variable that names a member an object does not have is an error, as in Kyverno; so is
 * an outer text that does not compile.
 */
export function resolveVariable(variable: Variable, root: JsonValue, run: EvaluationRun): JsonValue {
  const expression = variable.kind === 'plain' ? variable.expression : compileOuter(variable, root, run);
  let result;
  try {
    result = evaluateExpression(expression, root);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw evaluationFailure(`failed to evaluate ${quote(variable.written)}: ${sanitizeText(message, 300)}`);
  }
  if (!result.found) {
    throw evaluationFailure(
      `variable ${quote(variable.written)} could not be resolved: unknown key ${quote(result.missingKey)} in path`,
    );
  }
  return result.value;
}

function compileOuter(
  variable: Extract<Variable, { kind: 'nested' }>,
  root: JsonValue,
  run: EvaluationRun,
): CompiledExpression {
  let text = variable.segments[0]!;
  for (const [k, { position, variable: inner }] of variable.inner.entries()) {
    text += writeValue(resolveVariable(inner, root, run), position, run) + variable.segments[k + 1]!;
    if (text.length > MAX_NESTED_EXPRESSION_LENGTH) {
      throw evaluationFailure(
        `${quote(variable.written)}: the expression made with the inner values is longer than ${MAX_NESTED_EXPRESSION_LENGTH} characters`,
      );
    }
  }
  run.budget.charge(1 + (text.length >> 4));
  const compiled = nestedExpressions.compile(text, run);
  if (!compiled.ok) {
    throw evaluationFailure(
      `failed to evaluate ${quote(variable.written)}: the expression made with the inner values, ${quote(text)}, does not compile: ${compiled.error}`,
    );
  }
  return compiled.value;
}

/** The value as it is written where it stands (see the top of this file). */
export function writeValue(value: JsonValue, position: Position, run: EvaluationRun): string {
  switch (position) {
    case 'raw-string':
      return textOf(value, run).replace(/[\\']/g, (c) => `\\${c}`);
    case 'quoted-identifier':
      return JSON.stringify(textOf(value, run)).slice(1, -1);
    case 'json-string':
      return withoutBackticks(JSON.stringify(textOf(value, run)).slice(1, -1));
    case 'json-literal':
      return withoutBackticks(
        typeof value === 'string' && isJsonText(value) ? value : marshalGoJson(value, run.budget),
      );
    case 'expression':
      return token(value, run);
  }
}

/** A value's text as Kyverno writes it into a string: strings as they are, others as Go's JSON. */
function textOf(value: JsonValue, run: EvaluationRun): string {
  return typeof value === 'string' ? value : marshalGoJson(value, run.budget);
}

const INTEGER = /^-?[0-9]+$/;

function token(value: JsonValue, run: EvaluationRun): string {
  if (typeof value === 'string') return INTEGER.test(value) ? value : JSON.stringify(value);
  const json = marshalGoJson(value, run.budget);
  if (value === null || typeof value === 'boolean' || INTEGER.test(json)) return json;
  return `\`${withoutBackticks(json)}\``;
}

/** JSON text with its backticks (only ever inside strings) written as \u0060, so a `…` literal holds it whole. */
function withoutBackticks(json: string): string {
  return json.replace(/`/g, '\\u0060');
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function quote(text: string): string {
  return JSON.stringify(sanitizeText(text, 200));
}
