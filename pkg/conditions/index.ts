export {
  CONDITION_READY,
  DENY_LEADS,
  ERROR_REASONS,
  EVENT_REASONS,
  POLICY_REASONS,
  toEventType,
  VERIFY_REASONS,
  type EventReason,
  type PolicyReason,
  type VerifyReason,
} from './reasons.js';
export {
  findCondition,
  isConditionTrue,
  setCondition,
  type Condition,
  type ConditionInput,
  type ConditionStatus,
} from './condition.js';
export { compileConditions, type CompiledBlock, type CompiledConditions } from './compile-conditions.js';
export {
  evaluateConditions,
  type ConditionFailure,
  type ConditionsVerdict,
  type EvaluationOptions,
} from './evaluate-conditions.js';
export { compileDeny, type CompiledDeny, type CompiledDenyConditions } from './compile-deny.js';
export { DEFAULT_DENY_MESSAGE, evaluateDeny, type DenyVerdict } from './evaluate-deny.js';
export { compileTextTemplate, substituteVariables, type TextTemplate } from './substitute-variables.js';
export type { ConditionError } from './condition-error.js';
export { CONDITION_OPERATORS, type ConditionOperator } from './operators.js';
export {
  MAX_COLLECTION_LENGTH,
  MAX_EVALUATION_WORK,
  MAX_NESTING_DEPTH,
  MAX_PARSE_JSON_LENGTH,
  MAX_PARSE_YAML_LENGTH,
  MAX_REGEX_LENGTH,
  MAX_STRING_LENGTH,
} from './limits.js';
export {
  compileQuery,
  compileValueSubstitution,
  hasValueVariables,
  runQuery,
  substituteValue,
  type CompiledQuery,
  type ValueSubstitution,
} from './substitute-value.js';
export type { JsonValue } from './json-value.js';
