// The condition operators Kyverno knows (kyvernov1.ConditionOperators), and which handler decides each.
import { CONDITION_OPERATORS } from '../api/v1/index.js';
import { evaluateEquals, evaluateNotEquals } from './equality-operators.js';
import { evaluateMembership } from './membership-operators.js';
import type { Operand } from './operand.js';
import { evaluateDurationOrdering, evaluateOrdering } from './ordering-operators.js';
import type { WorkBudget } from './work-budget.js';

// The CRD's enum (pkg/api/v1/schema.ts): one list, so that what the API server accepts is what compiles.
export { CONDITION_OPERATORS };

export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

export function isConditionOperator(name: unknown): name is ConditionOperator {
  return typeof name === 'string' && (CONDITION_OPERATORS as readonly string[]).includes(name);
}

export function applyOperator(op: ConditionOperator, key: Operand, value: Operand, budget: WorkBudget): boolean {
  switch (op) {
    case 'Equals':
    case 'Equal':
      return evaluateEquals(key, value, budget);
    case 'NotEquals':
    case 'NotEqual':
      return evaluateNotEquals(key, value, budget);
    case 'In':
    case 'NotIn':
    case 'AnyIn':
    case 'AllIn':
    case 'AnyNotIn':
    case 'AllNotIn':
      return evaluateMembership(op, key.value, value.value, budget);
    case 'GreaterThan':
    case 'GreaterThanOrEquals':
    case 'LessThan':
    case 'LessThanOrEquals':
      return evaluateOrdering(op, key, value);
    case 'DurationGreaterThan':
    case 'DurationGreaterThanOrEquals':
    case 'DurationLessThan':
    case 'DurationLessThanOrEquals':
      return evaluateDurationOrdering(op, key, value);
  }
}
