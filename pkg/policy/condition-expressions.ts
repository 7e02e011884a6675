// Attestation conditions name predicate fields through variables, "{{ repo.uri }}", each a JMESPath expression
// (https://jmespath.site). Their syntax is checked when the policy compiles, so a typo is a Ready=False naming the
// field rather than a failure at every admission. Kyverno's own functions (regex_match, time_since, ...) parse as
// any function call does; whether they exist is a question for evaluation.
import { compile as compileJmesPath } from '@jmespath-community/jmespath';
import type { AnyAllConditionsType } from '../api/v1/index.js';

export interface ExpressionError {
  readonly field: string;
  readonly message: string;
}

/** Kyverno's variable syntax: the shortest text between {{ and }}. */
const VARIABLE = /\{\{(.*?)\}\}/gs;

/** Every variable in the conditions' keys and values whose expression does not parse. */
export function findExpressionErrors(conditions: readonly AnyAllConditionsType[], field: string): ExpressionError[] {
  return conditions.flatMap((block, i) =>
    (['any', 'all'] as const).flatMap((kind) =>
      (block[kind] ?? []).flatMap((condition, k) =>
        (['key', 'value'] as const).flatMap((part) =>
          findInValue(condition[part], `${field}[${i}].${kind}[${k}].${part}`),
        ),
      ),
    ),
  );
}

function findInValue(value: unknown, field: string): ExpressionError[] {
  if (typeof value === 'string') return findInString(value, field);
  if (Array.isArray(value)) return value.flatMap((v, n) => findInValue(v, `${field}[${n}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => findInValue(v, `${field}.${k}`));
  }
  return [];
}

function findInString(text: string, field: string): ExpressionError[] {
  return [...text.matchAll(VARIABLE)].flatMap((m) => {
    const expression = m[1]!.trim();
    // "{{ @ }}" is Kyverno's current element; JMESPath has it too.
    try {
      compileJmesPath(expression);
      return [];
    } catch (e) {
      return [{ field, message: `invalid JMESPath expression ${JSON.stringify(expression)}: ${(e as Error).message}` }];
    }
  });
}
