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
