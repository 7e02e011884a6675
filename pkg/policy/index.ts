export { compile, DEFAULT_TIMEOUT_SECONDS, type CompileOptions } from './compile.js';
export {
  compileAttestorEntries,
  compileKeyAttestors,
  compileKeylessAttestor,
  type KeylessIdentity,
} from './key-policy.js';
export { RuleCache } from './rule-cache.js';
export {
  toPolicyKey,
  type AttestorTrust,
  type CompileError,
  type CompiledAttestation,
  type CompiledAttestor,
  type CompiledAttestorSet,
  type CompiledImageVerification,
  type CompiledPolicy,
  type CompiledRule,
  type FailureAction,
  type FailurePolicy,
  type PolicyRef,
  type RuleCount,
} from './compiled-policy.js';
