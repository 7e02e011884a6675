export { checkAttestorSets, type CheckContext, type Match } from './attestor-sets.js';
export {
  checkAttestations,
  checkAttestationStatements,
  COSIGN_CUSTOM_PREDICATE_TYPE,
  type AttestationsContext,
  type ConditionsOutcome,
  type EvaluateAttestation,
  type StatementOutcome,
  type VerifiedAttestations,
} from './check-attestations.js';
export { DEFAULT_WORK_LIMITS, WorkBudget, type WorkKind, type WorkLimits } from './budget.js';
export { toPreAuthenticationEncoding } from './bundle-artifact.js';
export {
  discoverAttestations,
  discoverSignatures,
  type DiscoverDeps,
  type Discovery,
  type SignatureLocation,
  type SignatureRegistry,
} from './discover.js';
export { DiscoveryMemo } from './discovery-memo.js';
export { toFailureMessage, type VerifyFailure } from './failure.js';
export { PREDICATE_TYPE_SHORTHANDS, resolvePredicateType } from './predicate-types.js';
export type { ArtifactFormat, Claims, SignedArtifact } from './signed-artifact.js';
export type { SignatureMatch } from './signature-check.js';
export { verifyRawSignature, type SignatureScheme } from './signature-schemes.js';
export { COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE } from './statement.js';
export {
  checkSignatures,
  resolveImage,
  verifyImage,
  type ImageRegistry,
  type ResolvedImage,
  type VerifyDeps,
  type VerifyOutcome,
  type VerifyRequest,
} from './verify-image.js';
