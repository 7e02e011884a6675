export {
  API_VERSION,
  GROUP,
  KIND_NAMES,
  SERVED_VERSIONS,
  VERSION,
  type KindNames,
  type PolicyKind,
} from './group-version.js';
export { formatFieldErrors, toFieldPath, type FieldError } from './field-error.js';
export { parseAttestorSet, parsePolicy } from './parse.js';
export { buildCrd, crdFileName, renderCrdYaml, toStructuralSchema } from './crd.js';
export { CONDITION_OPERATORS } from './schema.js';
export type {
  AnyAllConditionsType,
  AttestorSetType,
  ImageVerificationType,
  MatchResourcesType,
  PolicyResource,
  PolicySpecType,
  PolicyStatusType,
  RuleType,
  StatusCondition,
} from './types.js';
