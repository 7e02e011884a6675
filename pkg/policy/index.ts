export { compile, DEFAULT_TIMEOUT_SECONDS, type CompileOptions } from './compile.js';
export { compileAttestorSet, type AttestorSetOptions } from './attestors.js';
export {
  applyImageTransform,
  compileImageExtractors,
  EACH,
  type CompiledImageExtractor,
  type CompiledImageExtractors,
  type ImageTransform,
} from './image-extractors.js';
export {
  compileKeyAttestors,
  compileKeylessAttestor,
  type KeylessIdentity,
  type KeyPolicyOptions,
} from './key-policy.js';
export {
  compileResourceFilters,
  type AdmissionFacts,
  type AdmissionOperation,
  type CompiledResourceFilter,
} from './resource-filter.js';
export { RuleCache, type RuleCacheOptions } from './rule-cache.js';
export {
  toPolicyKey,
  type AttestorTrust,
  type CertificateAttestor,
  type CompileError,
  type CompiledAttestation,
  type CompiledAttestor,
  type CompiledAttestorSet,
  type CompiledImageVerification,
  type CompiledPolicy,
  type CompiledRule,
  type FailureAction,
  type FailurePolicy,
  type KeyAttestor,
  type KeylessAttestor,
  type DeferredAttestor,
  type NestedAttestor,
  type PolicyRef,
  type RuleCount,
} from './compiled-policy.js';
export { compileRuleContext, type CompiledContextEntry } from './rule-context.js';
export {
  fillEntry,
  hasDeferredAttestors,
  MAX_FILLED_ATTESTORS,
  SECRET_PUBLIC_KEY,
  type AttestorLookups,
  type FillFailure,
  type FilledEntry,
} from './resolve-attestors.js';
