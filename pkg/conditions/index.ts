export { CONDITION_READY, POLICY_REASONS, type PolicyReason } from './reasons.js';
export {
  findCondition,
  isConditionTrue,
  setCondition,
  type Condition,
  type ConditionInput,
  type ConditionStatus,
} from './condition.js';
