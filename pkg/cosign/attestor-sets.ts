// Attestor sets against the signed artifacts discovery found: every set must hold, and a set holds when at least
// `count` of its entries are each satisfied by some signature (Kyverno's attestors[].count, all entries when unset).
//
// Fail closed: a set with no entries, no sets at all, or a count that cannot be reached never verifies, however
// deeply nested (an empty attestor list once admitted any image with one junk signature: CVE-2022-35930's kind).
//
// Bounded: each attestor × signature check is charged to the verification's budget, and the loop hands the event
// loop back every few milliseconds, so a registry serving a hundred 1 MiB payloads to check against three RSA keys
// neither blocks other admissions nor outlives the deadline. An exception from a check (a library meeting bytes it
// cannot parse) is that signature's failure, converted here, once.
import type { CompiledAttestor, CompiledAttestorSet } from '../policy/index.js';
import { err, ok, type Result } from '../result/index.js';
import type { WorkBudget } from './budget.js';
import { checkWithCertificate } from './check-certificate.js';
import type { ClaimRequirement } from './check-claims.js';
import { checkWithKey } from './check-key.js';
import { failure, FailureTracker, type VerifyFailure } from './failure.js';
import type { SignatureCheck, SignatureMatch } from './signature-check.js';
import type { SignedArtifact } from './signed-artifact.js';
import { toSigstoreFailure } from './sigstore-errors.js';

/** One attestor that a signature satisfied. */
export interface Match extends SignatureMatch {
  /** The attestor's label: its policy field (spec.rules[0].verifyImages[0].key), or what the caller named it. */
  readonly attestor: string;
  /** Which key of that field, when it holds several PEM blocks. */
  readonly keyIndex: number;
  /** The artifact that matched, when the check collects every match (CheckContext.collect). */
  readonly artifact?: SignedArtifact;
}

export interface CheckContext {
  readonly artifacts: readonly SignedArtifact[];
  /** What each signature must say: the digest, the predicate type; the attestor adds its annotations. */
  readonly want: Omit<ClaimRequirement, 'annotations'>;
  readonly budget: WorkBudget;
  readonly signal?: AbortSignal;
  /** Hands the event loop back; setImmediate by default. */
  readonly yieldControl?: () => Promise<void>;
  /**
   * Check every artifact against every attestor and return every match, each with its artifact: for attestations,
   * whose every statement must satisfy the conditions, not just the first one found.
   */
  readonly collect?: boolean;
}

/** How long checks run before handing the event loop back. */
const SLICE_MS = 5;

/** Every set must verify; returns the matches, or the most telling failure of the first set that did not. */
export async function checkAttestorSets(
  sets: readonly CompiledAttestorSet[],
  context: CheckContext,
): Promise<Result<Match[], VerifyFailure>> {
  if (sets.length === 0) return err(failure('InvalidSignature', 'the policy names no attestor to verify with'));
  const run = new CheckRun(context);
  const matches: Match[] = [];
  for (const set of sets) {
    const result = await run.set(set);
    if (!result.ok) return result;
    matches.push(...result.value);
  }
  return ok(matches);
}

class CheckRun {
  readonly #context: CheckContext;
  #sliceStart = performance.now();

  constructor(context: CheckContext) {
    this.#context = context;
  }

  async set(set: CompiledAttestorSet): Promise<Result<Match[], VerifyFailure>> {
    const { entries, count } = set;
    if (entries.length === 0 || !Number.isSafeInteger(count) || count < 1 || count > entries.length) {
      return err(
        failure('InvalidSignature', `${set.field}: ${count} of ${entries.length} attestors can never be satisfied`),
      );
    }
    const matches: Match[] = [];
    const failures = new FailureTracker();
    let satisfied = 0;
    for (const [i, entry] of entries.entries()) {
      const result = await this.#attestor(entry);
      if (!result.ok) {
        if (result.error.reason === 'Timeout' || result.error.reason === 'LimitExceeded') return result;
        failures.consider(result.error);
      } else {
        satisfied++;
        matches.push(...result.value);
      }
      if (satisfied >= count) return ok(matches);
      // Stop once the rest could not reach the count any more.
      if (satisfied + entries.length - i - 1 < count) break;
    }
    const summary = `${satisfied} of ${count} required attestors in ${set.field} verified`;
    const worst = failures.orElse(failure('InvalidSignature', summary));
    return err({ ...worst, detail: worst.detail === summary ? summary : `${worst.detail} (${summary})` });
  }

  async #attestor(attestor: CompiledAttestor): Promise<Result<Match[], VerifyFailure>> {
    switch (attestor.$case) {
      case 'nested': {
        const result = await this.set(attestor.set);
        // A nested set counts as one entry of its parent, whatever it matched.
        return result.ok ? ok(this.#context.collect ? result.value : result.value.slice(0, 1)) : result;
      }
      case 'deferred':
        // The webhook fills every deferred attestor before verifying (pkg/policy resolveAttestorSets): one that
        // arrives here is a bug, and verifies nothing.
        return err(failure('InvalidSignature', `${attestor.field}: bug: the attestor was not filled before verifying`));
      case 'key':
      case 'certificate':
      case 'keyless':
        return this.#signatures(attestor);
    }
  }

  /** The first signature that satisfies the attestor, or the most telling failure among them. */
  async #signatures(
    attestor: Extract<CompiledAttestor, { $case: 'key' | 'certificate' | 'keyless' }>,
  ): Promise<Result<Match[], VerifyFailure>> {
    const { artifacts, want, budget } = this.#context;
    const claims: ClaimRequirement = { ...want, annotations: attestor.annotations };
    const failures = new FailureTracker();
    const label = attestor.label ?? attestor.field;
    const collected: Match[] = [];
    for (const artifact of artifacts) {
      const stopped = await this.#pace();
      if (stopped) return err(stopped);
      if (!budget.take('checks')) {
        return err(failure('LimitExceeded', `no signature verified before ${budget.describe('checks')}`));
      }
      const check = checkSafely(attestor, artifact, claims);
      if (check.$case === 'match') {
        const keyIndex = attestor.$case === 'key' ? attestor.keyIndex : 0;
        const match = { attestor: label, keyIndex, ...check.match };
        if (!this.#context.collect) return ok([match]);
        collected.push({ ...match, artifact });
      }
      if (check.$case === 'failure') failures.consider(check.failure);
    }
    if (collected.length > 0) return ok(collected);
    return err(failures.orElse(failure('InvalidSignature', `no signature verifies with ${label}`)));
  }

  /** Hands the event loop back when the slice is spent; a failure when the deadline passed meanwhile. */
  async #pace(): Promise<VerifyFailure | undefined> {
    if (performance.now() - this.#sliceStart >= SLICE_MS) {
      await (this.#context.yieldControl ?? yieldToEventLoop)();
      this.#sliceStart = performance.now();
    }
    return this.#context.signal?.aborted
      ? failure('Timeout', 'the deadline passed while signatures were being checked')
      : undefined;
  }
}

function checkSafely(
  attestor: Extract<CompiledAttestor, { $case: 'key' | 'certificate' | 'keyless' }>,
  artifact: SignedArtifact,
  want: ClaimRequirement,
): SignatureCheck {
  try {
    return attestor.$case === 'key'
      ? checkWithKey(attestor, artifact, want)
      : checkWithCertificate(attestor, artifact, want);
  } catch (e) {
    return { $case: 'failure', failure: toSigstoreFailure(e, artifact.source) };
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
