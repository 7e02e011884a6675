// validate.deny evaluated after every attestation verified, with the named attestations' predicates in the
// context, as Kyverno's imageVerifier.validateDeny does. Variables are resolved lazily here (only in conditions that
// are reached), unlike attestation conditions. When the conditions hold the request is denied, with a message made
// as Kyverno's getDenyMessage makes it: validate.message and the messages of the conditions that held, joined by
// "; " and with their variables filled in; if that fails, the conditions' messages as written; if there are none,
// "validation error: imageVerify  failed". The caller prefixes "validation in verifyImages failed: ".
import { sanitizeText } from '../text/index.js';
import { err, ok, type Result } from '../result/index.js';
import type { CompiledDeny } from './compile-deny.js';
import type { CompiledCondition } from './compiled-condition.js';
import type { ConditionError } from './condition-error.js';
import { holds, MAX_MESSAGE_LENGTH, resolveCondition, type ResolvedCondition } from './condition-outcome.js';
import { evaluateBlock } from './evaluate-block.js';
import { describeError, type EvaluationOptions } from './evaluate-conditions.js';
import { withRun, type EvaluationRun } from './evaluation-run.js';
import type { JsonValue } from './json-value.js';
import { MAX_EVALUATION_WORK } from './limits.js';
import { renderTemplate, renderText, type CompiledTemplate } from './template.js';
import { WorkBudget } from './work-budget.js';

export type DenyVerdict = { readonly deny: false } | { readonly deny: true; readonly message: string };

/** Kyverno's message when a request is denied without any message to give (the double space is Kyverno's). */
export const DEFAULT_DENY_MESSAGE = 'validation error: imageVerify  failed';
const NOT_A_STRING = "the produced message didn't resolve to a string, check your policy definition.";

export function evaluateDeny(
  compiled: CompiledDeny,
  context: unknown,
  options: EvaluationOptions,
): Result<DenyVerdict, ConditionError> {
  const conditions = compiled.conditions;
  if (conditions === undefined) return ok({ deny: false });
  const run: EvaluationRun = { budget: new WorkBudget(MAX_EVALUATION_WORK), now: options.now };
  const root = context as JsonValue;
  let field = compiled.field;
  const at = (f: string) => {
    field = f;
  };
  const resolve = (c: CompiledCondition) => resolveCondition(c, root, run, at);
  try {
    return withRun(run, () => {
      let held: readonly ResolvedCondition[];
      let separator: string;
      if (conditions.kind === 'list') {
        // The older form: every condition must hold; the first false one ends it.
        const list: ResolvedCondition[] = [];
        for (const condition of conditions.conditions) {
          const resolved = resolve(condition);
          if (!holds(resolved, run, at)) return ok({ deny: false } as const);
          list.push(resolved);
        }
        held = list;
        separator = ';';
      } else {
        const outcome = evaluateBlock(conditions.block, resolve, run, at);
        if (!outcome.pass) return ok({ deny: false } as const);
        held = outcome.held;
        separator = '; ';
      }
      return ok({ deny: true, message: denyMessage(compiled.message, held, separator, root, run) });
    });
  } catch (e) {
    return err({ field, message: describeError(e) });
  }
}

function denyMessage(
  validateMessage: CompiledTemplate | undefined,
  held: readonly ResolvedCondition[],
  separator: string,
  root: JsonValue,
  run: EvaluationRun,
): string {
  const conditionMessages = held.flatMap((r) => (r.condition.message === undefined ? [] : [r.condition.message]));
  const written = conditionMessages.map((m) => m.source).join(separator);
  const parts = [...(validateMessage === undefined ? [] : [validateMessage]), ...conditionMessages];
  if (parts.length === 0) return DEFAULT_DENY_MESSAGE;
  try {
    // One whole variable is the message's own value, which must then be a string.
    if (parts.length === 1 && parts[0]!.whole) {
      const value = renderTemplate(parts[0]!, root, run);
      return typeof value === 'string' ? sanitizeText(value, MAX_MESSAGE_LENGTH) : NOT_A_STRING;
    }
    const rendered = conditionMessages.map((m) => renderText(m, root, run)).join(separator);
    const text =
      validateMessage === undefined
        ? rendered
        : [renderText(validateMessage, root, run), rendered].filter((t) => t !== '').join('; ');
    return sanitizeText(text, MAX_MESSAGE_LENGTH);
  } catch {
    // Kyverno falls back to the conditions' messages as written.
    return sanitizeText(written === '' ? DEFAULT_DENY_MESSAGE : written, MAX_MESSAGE_LENGTH);
  }
}
