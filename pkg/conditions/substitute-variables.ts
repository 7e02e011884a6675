// Filling the variables of one piece of text, for messages outside conditions. The text is compiled once with
// compileTemplate and filled per admission; a value that is not a string is written as Go's JSON, and an error
// (an unresolvable variable, a limit passed) comes back as a value naming the template's field.
import { err, ok, type Result } from '../result/index.js';
import type { ConditionError } from './condition-error.js';
import { describeError, type EvaluationOptions } from './evaluate-conditions.js';
import { withRun, type EvaluationRun } from './evaluation-run.js';
import type { JsonValue } from './json-value.js';
import { MAX_EVALUATION_WORK } from './limits.js';
import { compileTemplate as compileTemplateAt, renderText, type CompiledTemplate } from './template.js';
import { WorkBudget } from './work-budget.js';

export interface TextTemplate {
  /** Where the text is in the policy, for errors. */
  readonly field: string;
  readonly template: CompiledTemplate;
}

/** Compiles text with {{ }} variables; errors name `field`. */
export function compileTextTemplate(text: string, field: string): Result<TextTemplate, ConditionError[]> {
  const compiled = compileTemplateAt(text, field);
  return compiled.ok ? ok({ field, template: compiled.value }) : compiled;
}

/** The text with its variables filled from `context`, the JMESPath root. */
export function substituteVariables(
  template: TextTemplate,
  context: unknown,
  options: EvaluationOptions,
): Result<string, ConditionError> {
  const run: EvaluationRun = { budget: new WorkBudget(MAX_EVALUATION_WORK), now: options.now };
  try {
    return ok(withRun(run, () => renderText(template.template, context as JsonValue, run)));
  } catch (e) {
    return err({ field: template.field, message: describeError(e) });
  }
}
