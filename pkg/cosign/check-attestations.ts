// Stage 3 for attestations: a verifyImages entry's attestations against what discoverAttestations found, as Kyverno's
// verifyAttestations does (kyverno-verifyimages.md §3.8), every attestation of the entry in turn:
//   1. the attestations whose statement has the type asked for; none is AttestationNotFound;
//   2. the attestation's attestor sets, every one of them, against those, collecting every statement that verifies
//      (a signature by another key is AttestationInvalidSignature; a statement signed for another digest, copied
//      from another image, SubjectMismatch);
//   3. the conditions, against the predicate of every verified statement of the type: one that fails is
//      ConditionFailed, naming the condition and carrying its message.
// The predicate of the first verified statement of a named attestation is kept for the entry's validate.deny.
//
// The statements are a signer's JSON, read only after their signature verified with the policy's attestors; the
// conditions evaluate over them within the bounds pkg/conditions keeps.
import type { CompiledAttestation } from '../policy/index.js';
import { err, ok, type Result } from '../result/index.js';
import { quoteText } from '../text/index.js';
import { checkAttestorSets } from './attestor-sets.js';
import type { WorkBudget } from './budget.js';
import type { Discovery } from './discover.js';
import { failure, type VerifyFailure } from './failure.js';
import type { SignedArtifact } from './signed-artifact.js';
import type { InTotoStatement } from './statement.js';

/** cosign attest's custom predicate type: its predicate is `{Data, Timestamp}`, Data the file as a string. */
export const COSIGN_CUSTOM_PREDICATE_TYPE = 'https://cosign.sigstore.dev/attestation/v1';

/** What evaluating an attestation's conditions against one predicate came to. */
export type ConditionsOutcome =
  | { readonly pass: true }
  | { readonly pass: false; readonly failures: readonly { readonly field: string; readonly message: string }[] };

/** Evaluates the attestation's compiled conditions against a predicate; err when they cannot be evaluated. */
export type EvaluateAttestation = (
  attestation: CompiledAttestation,
  predicate: unknown,
) => Result<ConditionsOutcome, { readonly field: string; readonly message: string }>;

export interface AttestationsContext {
  readonly digest: string;
  readonly budget: WorkBudget;
  readonly signal?: AbortSignal;
  readonly evaluate: EvaluateAttestation;
}

export interface VerifiedAttestations {
  /** Each named attestation's predicate (its first verified statement's), for validate.deny. */
  readonly named: ReadonlyMap<string, unknown>;
  /** How many statements verified and passed their conditions, over all the attestations. */
  readonly statements: number;
}

/** Condition messages quoted in one failure, at most. */
const MAX_FAILURES_SHOWN = 5;
/** Other predicate types named when the one asked for is missing, at most. */
const MAX_TYPES_SHOWN = 3;

export async function checkAttestations(
  attestations: readonly CompiledAttestation[],
  discovery: Discovery,
  context: AttestationsContext,
): Promise<Result<VerifiedAttestations, VerifyFailure>> {
  const named = new Map<string, unknown>();
  let statements = 0;
  for (const attestation of attestations) {
    const checked = await checkAttestationStatements(attestation, discovery, context);
    if (!checked.ok) return checked;
    // Every statement of the type must pass (Kyverno); the first that does not is the failure.
    const failed = checked.value.find((s) => s.failure);
    if (failed?.failure) return err(failed.failure);
    statements += checked.value.length;
    if (attestation.name !== undefined && !named.has(attestation.name)) {
      named.set(attestation.name, checked.value[0]!.predicate);
    }
  }
  return ok({ named, statements });
}

/** One verified statement of an attestation, and what its conditions came to. */
export interface StatementOutcome {
  /** Where the statement was found (`sha256-….att layer 0`, `referrer sha256:…`). */
  readonly source: string;
  readonly format: SignedArtifact['format'];
  /** The attestor that verified it (its policy field or label). */
  readonly attestor: string;
  /** The predicate as the conditions saw it (a custom predicate's Data parsed when it is JSON). */
  readonly predicate: unknown;
  /** Undefined when the conditions held; else the failure, ConditionFailed. */
  readonly failure?: VerifyFailure;
}

/**
 * Every verified statement of one attestation, each with the outcome of the conditions; or, when no statement of its
 * type verifies with its attestors, why. What checkAttestations requires of each attestation, and what the CLI prints.
 */
export async function checkAttestationStatements(
  attestation: CompiledAttestation,
  discovery: Discovery,
  context: AttestationsContext,
): Promise<Result<StatementOutcome[], VerifyFailure>> {
  const type = attestation.predicateType;
  const candidates = discovery.artifacts.filter((a) => statementOf(a)?.predicateType === type);
  if (candidates.length === 0) return err(notFound(attestation, discovery));
  const verified = await checkAttestorSets(attestation.attestors, {
    artifacts: candidates,
    want: { digest: context.digest, predicateType: type },
    budget: context.budget,
    ...(context.signal ? { signal: context.signal } : {}),
    collect: true,
  });
  if (!verified.ok) return err(toAttestationFailure(verified.error));
  // Every statement of the type that an attestor verified, once however many attestors verified it.
  const seen = new Set<SignedArtifact>();
  const found: { artifact: SignedArtifact; attestor: string; statement: InTotoStatement }[] = [];
  for (const match of verified.value) {
    if (!match.artifact || seen.has(match.artifact)) continue;
    seen.add(match.artifact);
    const statement = statementOf(match.artifact);
    if (statement) found.push({ artifact: match.artifact, attestor: match.attestor, statement });
  }
  if (found.length === 0) {
    return err(
      failure('AttestationInvalidSignature', `${attestation.field}: no statement of ${quoteText(type)} verified`),
    );
  }
  const outcomes: StatementOutcome[] = [];
  for (const [i, { artifact, attestor, statement }] of found.entries()) {
    // Each evaluation is bounded by pkg/conditions; their number by the admission's checks, and their time by its
    // deadline, with the event loop handed back between two of them.
    await yieldToEventLoop();
    if (context.signal?.aborted) {
      return err(failure('Timeout', 'the deadline passed while attestation conditions were evaluated'));
    }
    if (!context.budget.take('checks')) {
      return err(
        failure('LimitExceeded', `attestation conditions not evaluated: ${context.budget.describe('checks')}`),
      );
    }
    outcomes.push(evaluateStatement(attestation, context, { artifact, attestor, statement }, i, found.length));
  }
  return ok(outcomes);
}

/** The conditions of `attestation` against one verified statement. */
function evaluateStatement(
  attestation: CompiledAttestation,
  context: AttestationsContext,
  { artifact, attestor, statement }: { artifact: SignedArtifact; attestor: string; statement: InTotoStatement },
  index: number,
  count: number,
): StatementOutcome {
  const type = attestation.predicateType;
  const base = { source: artifact.source, format: artifact.format, attestor };
  // No conditions: nothing reads the predicate, which may then be anything, a plain-text SPDX document included
  // (Kyverno too passes before it looks at the predicate).
  if (attestation.conditions.blocks.length === 0) return { ...base, predicate: statement.predicate };
  const which = count > 1 ? ` (statement ${index + 1} of ${count})` : '';
  const input = toConditionsInput(statement);
  if (!input.ok) {
    const detail = `${attestation.field}: predicate ${quoteText(type)}${which}: ${input.error}`;
    return { ...base, predicate: statement.predicate, failure: failure('ConditionFailed', detail) };
  }
  const outcome = context.evaluate(attestation, input.value);
  const predicate = input.value;
  if (!outcome.ok) {
    const detail = `predicate ${quoteText(type)}${which}: ${outcome.error.field}: ${outcome.error.message}`;
    return { ...base, predicate, failure: failure('ConditionFailed', detail) };
  }
  if (outcome.value.pass) return { ...base, predicate };
  const shown = outcome.value.failures.slice(0, MAX_FAILURES_SHOWN).map((f) => `${f.field}: ${f.message}`);
  const more = outcome.value.failures.length - shown.length;
  const detail = `predicate ${quoteText(type)}${which}: ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
  return { ...base, predicate, failure: failure('ConditionFailed', detail) };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The artifact's in-toto statement, when its claims are one. */
function statementOf(artifact: SignedArtifact): InTotoStatement | undefined {
  const claims = artifact.claims;
  return claims.ok && claims.value.$case === 'in-toto' ? claims.value : undefined;
}

/**
 * The predicate as conditions see it, at the root of their JSON: it must be an object (Kyverno: "failed to extract
 * predicate from statement"). cosign's custom predicate carries the attested file as the string Data, which is read
 * as JSON when it is JSON, as Kyverno does.
 */
function toConditionsInput(statement: InTotoStatement): Result<Record<string, unknown>, string> {
  const predicate = statement.predicate;
  if (typeof predicate !== 'object' || predicate === null || Array.isArray(predicate)) {
    return err('the statement has no predicate object to check the conditions against');
  }
  const record = predicate as Record<string, unknown>;
  if (statement.predicateType !== COSIGN_CUSTOM_PREDICATE_TYPE || typeof record['Data'] !== 'string') return ok(record);
  try {
    return ok({ ...record, Data: JSON.parse(record['Data']) as unknown });
  } catch {
    return ok(record);
  }
}

/** No attestation of the type: a registry that failed, or a limit, says more than "not found". */
function notFound(attestation: CompiledAttestation, discovery: Discovery): VerifyFailure {
  const type = quoteText(attestation.predicateType);
  if (discovery.registryFailure) {
    const f = discovery.registryFailure;
    return {
      reason: 'RegistryError',
      detail: `no attestation of predicate type ${type} could be read: ${f.message}`,
      ociCode: f.code,
      ...(f.detail ? { diagnostic: f.detail } : {}),
    };
  }
  if (discovery.stoppedBy) {
    return failure(
      'LimitExceeded',
      `no attestation of predicate type ${type} among those read from ${discovery.where} before the ` +
        `${discovery.stoppedBy} limit`,
    );
  }
  const others = [
    ...new Set(discovery.artifacts.map((a) => statementOf(a)?.predicateType).filter((t) => t !== undefined)),
  ];
  const found =
    others.length === 0
      ? 'none were found'
      : `found only ${others
          .slice(0, MAX_TYPES_SHOWN)
          .map((t) => quoteText(t))
          .join(', ')}${others.length > MAX_TYPES_SHOWN ? ` and ${others.length - MAX_TYPES_SHOWN} more` : ''}`;
  const problems = discovery.problems.length > 0 ? `; unreadable: ${discovery.problems.join('; ')}` : '';
  return failure(
    'AttestationNotFound',
    `${attestation.field}: no attestation of predicate type ${type} in ${discovery.where} (${found})${problems}`,
  );
}

/** The signature vocabulary, said of attestations. */
function toAttestationFailure(f: VerifyFailure): VerifyFailure {
  switch (f.reason) {
    case 'InvalidSignature':
    case 'SignatureNotFound':
      return { ...f, reason: 'AttestationInvalidSignature' };
    case 'DigestMismatch':
      return { ...f, reason: 'SubjectMismatch' };
    default:
      return f;
  }
}
