// Image verification in three stages that admission calls one by one, with its caches between them:
//   1. resolveImage: the tag to a digest, once. That digest is what gets verified and returned for pinning, so the
//      image admitted is the image verified (CVE-2022-47633).
//   2. discoverSignatures (discover.ts): the digest's signatures, read once into signed artifacts, which serve every
//      rule that names the image.
//   3. checkAttestorSets (attestor-sets.ts): each rule's attestor sets against those artifacts.
// verifyImage runs the three for one image and one list of attestor sets: what `imprimatur verify-image`, the
// benchmark and the tests use. Failures come back as one closed set of reasons; nothing throws across this boundary.
import { toKyvernoString, withDigest, type ImageRef } from '../imageref/index.js';
import type { DockerConfig, RegistryClient } from '../oci/index.js';
import type { CompiledAttestorSet } from '../policy/index.js';
import { err, ok, type Result } from '../result/index.js';
import { checkAttestorSets, type Match } from './attestor-sets.js';
import { WorkBudget } from './budget.js';
import { discoverSignatures, type Discovery, type SignatureRegistry } from './discover.js';
import { failure, fromRegistryFailure, toFailureMessage, type VerifyFailure } from './failure.js';
import { COSIGN_SIGN_PREDICATE_TYPE } from './statement.js';

export type ImageRegistry = SignatureRegistry & Pick<RegistryClient, 'resolveDigest'>;

export interface VerifyDeps {
  readonly registry: ImageRegistry;
  readonly signal?: AbortSignal;
  /** Credentials for this verification (a Pod's pull secrets); the registry client's own when absent. */
  readonly credentials?: DockerConfig;
  /** What the verification may cost in total; a fresh default budget when absent. */
  readonly budget?: WorkBudget;
  /**
   * Read the registries as insecure calls (CallOptions.insecure): Kyverno's allowInsecureRegistry, HTTPS without
   * certificate checks and plain HTTP when HTTPS cannot be spoken.
   */
  readonly insecure?: boolean;
}

export interface VerifyRequest {
  readonly image: ImageRef;
  readonly attestors: readonly CompiledAttestorSet[];
  /** Where the signatures live, when not beside the image (Kyverno's repository, cosign's COSIGN_REPOSITORY). */
  readonly repository?: ImageRef;
}

export interface ResolvedImage {
  /** The image as written, pinned to the digest. */
  readonly image: ImageRef;
  readonly digest: string;
}

export type VerifyOutcome =
  | { readonly verified: true; readonly image: string; readonly digest: string; readonly matches: readonly Match[] }
  | ({
      readonly verified: false;
      readonly image: string;
      readonly message: string;
      /** The digest that was checked, when it was resolved. */
      readonly digest?: string;
    } & VerifyFailure);

/** Stage 1: the digest the image's tag (or digest) names in its registry. */
export async function resolveImage(
  image: ImageRef,
  deps: Pick<VerifyDeps, 'registry' | 'signal' | 'credentials' | 'insecure'>,
): Promise<Result<ResolvedImage, VerifyFailure>> {
  const options = {
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(deps.credentials ? { credentials: deps.credentials } : {}),
    ...(deps.insecure === true ? { insecure: true } : {}),
  };
  const resolved = await deps.registry.resolveDigest(image, options);
  if (!resolved.ok) {
    const { code, message } = resolved.error;
    return err(
      code === 'TIMEOUT' && deps.signal?.aborted
        ? failure('Timeout', `the deadline passed while the digest was resolved: ${message}`)
        : fromRegistryFailure(resolved.error),
    );
  }
  return ok({ image: withDigest(image, resolved.value.digest), digest: resolved.value.digest });
}

/** The three stages for one image: resolve, discover, check. */
export async function verifyImage(request: VerifyRequest, deps: VerifyDeps): Promise<VerifyOutcome> {
  const shown = toKyvernoString(request.image);
  const resolved = await resolveImage(request.image, deps);
  if (!resolved.ok) return failed(shown, resolved.error);
  const { digest } = resolved.value;
  const pinned = toKyvernoString(resolved.value.image);
  const budget = deps.budget ?? new WorkBudget();
  const discovered = await discoverSignatures(
    { repository: request.repository ?? request.image, digest },
    {
      registry: deps.registry,
      budget,
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.credentials ? { credentials: deps.credentials } : {}),
      ...(deps.insecure === true ? { insecure: true } : {}),
    },
  );
  if (!discovered.ok) return failed(pinned, discovered.error, digest);
  const checked = await checkSignatures(request.attestors, discovered.value, digest, budget, deps.signal);
  if (!checked.ok) return failed(pinned, checked.error, digest);
  return { verified: true, image: pinned, digest, matches: checked.value };
}

/**
 * Stage 3 for signatures: the attestor sets against what discovery found, and what to say when nothing verifies:
 * no signatures at all, a limit reached first, or a registry that failed on the way.
 */
export async function checkSignatures(
  sets: readonly CompiledAttestorSet[],
  discovery: Discovery,
  digest: string,
  budget: WorkBudget,
  signal?: AbortSignal,
): Promise<Result<Match[], VerifyFailure>> {
  const { artifacts, problems, stoppedBy, registryFailure, where } = discovery;
  const notes = problems.map((p) => `; ${p}`).join('');
  if (artifacts.length === 0) {
    if (registryFailure) return err(fromRegistryFailure(registryFailure));
    if (stoppedBy) {
      return err(
        failure('LimitExceeded', `no signature at ${where} was read before ${budget.describe(stoppedBy)}${notes}`),
      );
    }
    return err(failure('SignatureNotFound', `no signatures at ${where}${notes}`));
  }
  const checked = await checkAttestorSets(sets, {
    artifacts,
    want: { digest, predicateType: COSIGN_SIGN_PREDICATE_TYPE },
    budget,
    ...(signal ? { signal } : {}),
  });
  if (checked.ok) return checked;
  if (checked.error.reason === 'Timeout' || checked.error.reason === 'LimitExceeded') return checked;
  // Nothing read verified; what was not read might have.
  if (registryFailure) return err(fromRegistryFailure(registryFailure));
  if (stoppedBy) {
    const detail = `${checked.error.detail}; more signatures were offered than read: ${budget.describe(stoppedBy)}`;
    return err(failure('LimitExceeded', detail));
  }
  return checked;
}

function failed(image: string, f: VerifyFailure, digest?: string): VerifyOutcome {
  return { verified: false, image, ...f, message: toFailureMessage(image, f), ...(digest ? { digest } : {}) };
}
