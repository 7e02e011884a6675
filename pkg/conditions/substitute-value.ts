// Variables outside conditions, for what a rule resolves per admission: a JSON value whose strings hold {{ }}
// (a context variable's value, an attestor whose key is "{{ keys.data.prod }}"), and a JMESPath query run over data
// (a context entry's jmesPath), whose own text may hold variables too. Values are compiled once with the policy; a
// query whose text has variables is compiled once per distinct text it takes, in a bounded memo, so that the hot path
// does not parse the same text again. Errors are values naming the field.
import { err, ok, type Result } from '../result/index.js';
import type { ConditionError } from './condition-error.js';
import { describeError, type EvaluationOptions } from './evaluate-conditions.js';
import { withRun, type EvaluationRun } from './evaluation-run.js';
import { evaluationFailure } from './evaluation-failure.js';
import { compileExpression, evaluateExpression, type CompiledExpression } from './expression.js';
import type { JsonValue } from './json-value.js';
import { MAX_EVALUATION_WORK, MAX_STRING_LENGTH } from './limits.js';
import { compileTemplate, hasVariables, renderText, type CompiledTemplate } from './template.js';
import { compileValueTemplate, renderValue, type ValueTemplate } from './value-template.js';
import { WorkBudget } from './work-budget.js';

export interface ValueSubstitution {
  readonly field: string;
  readonly template: ValueTemplate;
}

/** Compiles a JSON value whose strings may hold variables; errors name `field`. */
export function compileValueSubstitution(value: unknown, field: string): Result<ValueSubstitution, ConditionError[]> {
  const compiled = compileValueTemplate(value, field);
  return compiled.ok ? ok({ field, template: compiled.value }) : compiled;
}

/** Whether the value has any variable (else it substitutes to itself). */
export function hasValueVariables(substitution: ValueSubstitution): boolean {
  return substitution.template.kind !== 'literal';
}

/** The value with its variables filled from `context`, the JMESPath root. */
export function substituteValue(
  substitution: ValueSubstitution,
  context: unknown,
  options: EvaluationOptions,
): Result<JsonValue, ConditionError> {
  const run = newRun(options);
  try {
    return ok(withRun(run, () => renderValue(substitution.template, context as JsonValue, run)));
  } catch (e) {
    return err({ field: substitution.field, message: describeError(e) });
  }
}

/** A JMESPath query as a policy writes it (a context entry's jmesPath): its text may hold variables. */
export interface CompiledQuery {
  readonly field: string;
  readonly source: string;
  /** The query itself when its text has no variables. */
  readonly expression?: CompiledExpression;
  /** Its text, when it has variables: filled per admission, then compiled (once per distinct text). */
  readonly template?: CompiledTemplate;
  /** The filled texts compiled so far, oldest first; at most MAX_FILLED_QUERIES. */
  readonly filled?: Map<string, CompiledExpression>;
}

export function compileQuery(source: string, field: string): Result<CompiledQuery, ConditionError[]> {
  const template = compileTemplate(source, field);
  if (!template.ok) return template;
  if (hasVariables(template.value)) return ok({ field, source, template: template.value, filled: new Map() });
  const expression = compileExpression(source);
  if (!expression.ok)
    return err([{ field, message: `invalid JMESPath expression ${JSON.stringify(source)}: ${expression.error}` }]);
  return ok({ field, source, expression: expression.value });
}

/**
 * The query run over `data`; its variables, if any, are filled from `context` first. A missing member gives null,
 * as JMESPath does (a context entry's `default` then applies).
 */
export function runQuery(
  query: CompiledQuery,
  data: unknown,
  context: unknown,
  options: EvaluationOptions,
): Result<JsonValue, ConditionError> {
  const run = newRun(options);
  try {
    return ok(
      withRun(run, () => {
        const expression =
          query.expression ?? compileFilled(query, renderText(query.template!, context as JsonValue, run));
        const result = evaluateExpression(expression, data as JsonValue);
        return result.found ? result.value : null;
      }),
    );
  } catch (e) {
    return err({ field: query.field, message: describeError(e) });
  }
}

/** Filled query texts kept compiled per query: a namespace per admission is a handful, an attacker's many are not. */
const MAX_FILLED_QUERIES = 256;

function newRun(options: EvaluationOptions): EvaluationRun {
  return { budget: new WorkBudget(MAX_EVALUATION_WORK), now: options.now };
}

function compileFilled(query: CompiledQuery, text: string): CompiledExpression {
  const memo = query.filled!;
  const known = memo.get(text);
  if (known) return known;
  if (text.length > MAX_STRING_LENGTH) throw evaluationFailure('the JMESPath query is too long');
  const compiled = compileExpression(text);
  if (!compiled.ok) throw evaluationFailure(`invalid JMESPath expression ${JSON.stringify(text)}: ${compiled.error}`);
  if (memo.size >= MAX_FILLED_QUERIES) memo.delete(memo.keys().next().value!);
  memo.set(text, compiled.value);
  return compiled.value;
}
