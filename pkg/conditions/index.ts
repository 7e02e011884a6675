export { CONDITION_READY, POLICY_REASONS, VERIFY_REASONS, type PolicyReason, type VerifyReason } from './reasons.js';
export {
  findCondition,
  isConditionTrue,
  setCondition,
  type Condition,
  type ConditionInput,
  type ConditionStatus,
} from './condition.js';
