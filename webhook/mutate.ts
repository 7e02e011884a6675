// The /mutate admission handler: the compiled policies that apply to the request, the images their verifyImages
// rules name, verified (verify-images.ts), and the decision (decide.ts) turned into a response: admitted with the
// verified digests pinned, or denied in Kyverno's words, with warnings for what Audit or failurePolicy Ignore let
// through.
//
// Every admission is answered before the API server gives up: the verification's deadline is the webhook timeout the
// API server was given (the largest of the policies', as the operator registers it) less a margin for the answer to
// travel. This is also the one place an unexpected exception is converted: it counts as an error of every rule that
// applies, so failurePolicy decides it, rather than a 500 that failurePolicy Ignore would turn into an admission.
import { errorFields, type Logger } from '../pkg/log/index.js';
import type { CompiledPolicy } from '../pkg/policy/index.js';
import type { AdmissionRequest } from './admission-review.js';
import { decideAdmission, type RuleResult } from './decide.js';
import { toValidatedImages } from '../pkg/validated-images/index.js';
import { applyOwnPatches } from './apply-own-patches.js';
import { foldAnnotationAdds } from './fold-annotation-adds.js';
import { denied, patched, type AdmissionResponse, type JsonPatchOperation } from './responses.js';
import type { ImageSummary } from './image-tally.js';
import { passesValidation } from './validate.js';
import {
  readScopedEntries,
  toAnnotationPatches,
  toValidatedImagesPatches,
  VerificationRecord,
} from './verify-annotations.js';
import { toViolationEvents, toViolationResource, type ViolationEvent } from './violation-events.js';
import { verifyAdmissionImages, type VerifyImagesDeps } from './verify-images.js';

export interface MutateDeps extends VerifyImagesDeps {
  readonly policies: () => readonly CompiledPolicy[];
  readonly log: Logger;
  readonly now: () => number;
  /** Records the PolicyViolation Events of a denial or of what Audit and Ignore let through; never blocks. */
  readonly recordEvent?: (event: ViolationEvent) => void;
  /**
   * Keep the incoming scoped annotation's entries of policies this call does not answer for (those of `policies()`
   * are always written afresh). For the Ignore webhook, which the API server calls after the Fail one: without it,
   * it would erase what the Fail webhook recorded, and the validating webhook would find those images unverified.
   * Never for the first webhook: it drops every incoming entry, forged ones included.
   */
  readonly keepOtherPoliciesVerifications?: boolean;
  /**
   * The annotation that records, for the validating webhook of the same failure policy, the images of an object
   * that passes its checks as it leaves here (pkg/validated-images): written when they pass, removed otherwise.
   * Absent for the path that answers for every policy, which no webhook configuration names.
   */
  readonly validatedImagesAnnotation?: string;
}

/** Kyverno's default webhook timeout, when no policy applies with its own. */
const DEFAULT_TIMEOUT_SECONDS = 10;

export async function handleMutate(request: AdmissionRequest, deps: MutateDeps): Promise<AdmissionResponse> {
  const started = deps.now();
  const applicable = deps.policies().filter((p) => appliesTo(p, request));
  const line = {
    uid: request.uid,
    kind: request.kind.kind,
    namespace: request.namespace,
    name: request.name,
    operation: request.operation,
    policies: applicable.map((p) => p.key),
  };
  // Images are verified when objects are created or changed; nothing to check on DELETE or CONNECT.
  if (applicable.length === 0 || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) {
    // Nothing is checked here, so a record of validated images that the object brings must not reach the API server.
    const forged = deps.validatedImagesAnnotation
      ? toValidatedImagesPatches(request.object, deps.validatedImagesAnnotation, undefined)
      : [];
    deps.log.info('admission', { ...line, allowed: true, durationMs: deps.now() - started });
    return patched(request.uid, forged);
  }
  const timeoutMs = Math.max(...applicable.map((p) => p.timeoutSeconds), 1) * 1000 || DEFAULT_TIMEOUT_SECONDS * 1000;
  // A timer cleared when the admission is answered: AbortSignal.timeout would keep one alive for the whole timeout
  // per admission.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error('the admission deadline passed')), toDeadlineMs(timeoutMs));
  const signal = deadline.signal;
  let results: readonly RuleResult[];
  let verifications = new VerificationRecord();
  let images: readonly ImageSummary[] = [];
  let spent: object = {};
  let credentialProblems: readonly string[] = [];
  try {
    const verified = await verifyAdmissionImages({ request, policies: applicable, signal }, deps);
    results = verified.results;
    verifications = verified.verifications;
    images = verified.images;
    spent = verified.spent;
    credentialProblems = verified.credentialProblems;
  } catch (e) {
    deps.log.error('admission failed unexpectedly (bug); the failure policy decides', { ...line, ...errorFields(e) });
    results = unexpectedFailure(applicable, request);
  } finally {
    clearTimeout(timer);
  }
  const decision = decideAdmission(
    { kind: request.kind.kind, namespace: request.namespace ?? '', name: request.name ?? '' },
    results,
  );
  // Events are of failures only: a warm admission that passed has none to look for.
  if (deps.recordEvent && results.some((r) => r.images.some((i) => i.status === 'fail'))) {
    const events = toViolationEvents({
      resource: toViolationResource(request),
      denied: decision.$case === 'deny',
      results,
      policies: applicable,
    });
    for (const event of events) deps.recordEvent(event);
  }
  if (deps.keepOtherPoliciesVerifications && decision.$case === 'admit') {
    keepOtherPolicies(verifications, request.object, deps.policies());
  }
  // The annotations go first, as Kyverno prepends them to the digest patches.
  let response: AdmissionResponse;
  if (decision.$case === 'deny') response = denied(request.uid, decision.message, decision.warnings);
  else {
    const ops = [...toAnnotationPatches(request.object, verifications), ...decision.patches];
    if (deps.validatedImagesAnnotation) {
      ops.push(...recordValidatedImages(request, ops, deps.validatedImagesAnnotation, deps));
    }
    response = patched(request.uid, foldAnnotationAdds(ops), decision.warnings);
  }
  deps.log.info('admission', {
    ...line,
    allowed: decision.$case === 'admit',
    images,
    patched: decision.$case === 'admit' ? decision.patches.length : 0,
    warnings: decision.warnings.length,
    spent,
    ...(credentialProblems.length > 0 ? { credentialProblems } : {}),
    durationMs: deps.now() - started,
  });
  return response;
}

/**
 * The record of validated images for the object as it leaves with `ops` applied: its images when the validating
 * webhook's checks pass on it, nothing (and any record the object brought removed) when they do not. Never for a
 * subresource: pods/ephemeralcontainers keeps the stored metadata whatever a mutating webhook writes there.
 */
function recordValidatedImages(
  request: AdmissionRequest,
  ops: readonly JsonPatchOperation[],
  annotation: string,
  deps: MutateDeps,
): JsonPatchOperation[] {
  if (request.subResource) return [];
  // The patches were made for this object, so they apply; were one not to (a bug), there is no record and
  // kube-apiserver calls the validating webhook, rather than a throw becoming a 500.
  const after = applyOwnPatches(request.object, ops);
  if (!after.ok) return [];
  const passes = passesValidation({ ...request, object: after.value }, deps.policies(), deps);
  const record = passes ? toValidatedImages(request.kind, after.value) : undefined;
  return toValidatedImagesPatches(after.value, annotation, record);
}

/**
 * The verification's own deadline: the API server's less what the answer needs to get back, 20 % or at least 500 ms,
 * so that an unreachable or hanging registry is an answer in time (the failure policy applied) and never the API
 * server's own timeout.
 */
export function toDeadlineMs(timeoutMs: number): number {
  const margin = Math.max(500, timeoutMs * 0.2);
  return Math.max(100, timeoutMs - margin);
}

/**
 * Adds to `record` what the object's scoped annotation says of the policies not among `own`: the Fail webhook's
 * entries, which it wrote on this object just before (a forged entry of an Ignore policy cannot survive: the Fail
 * webhook, called first, writes only its own policies' entries, and this call rewrites its own).
 */
function keepOtherPolicies(record: VerificationRecord, object: unknown, own: readonly CompiledPolicy[]): void {
  const ours = new Set(own.map((p) => `${p.ref.namespace}/${p.ref.name}`));
  for (const e of readScopedEntries(object) ?? []) {
    if (!ours.has(e.policy)) record.add(e.policy, e.rule, e.image, e.status);
  }
}

/** A namespaced Policy applies only in its own namespace; a ClusterPolicy everywhere. */
function appliesTo(policy: CompiledPolicy, request: AdmissionRequest): boolean {
  if (policy.ref.kind === 'Policy' && policy.ref.namespace !== request.namespace) return false;
  return policy.rules.some((r) => r.verifyImages.length > 0 && r.kinds.has(request.kind.kind));
}

/** Every applicable rule errored: what an exception means, so that the failure policy, not a 500, decides. */
function unexpectedFailure(policies: readonly CompiledPolicy[], request: AdmissionRequest): RuleResult[] {
  return policies.flatMap((p) =>
    p.rules
      .filter((r) => r.verifyImages.length > 0 && r.kinds.has(request.kind.kind))
      .map((r) => ({
        policy: p.ref.kind === 'Policy' ? `${p.ref.namespace}/${p.ref.name}` : p.ref.name,
        rule: r.name,
        failurePolicy: p.failurePolicy,
        failureAction: 'Enforce' as const,
        images: [
          {
            status: 'fail' as const,
            image: '',
            reason: 'Timeout' as const,
            message: 'the images could not be verified: an internal error; see the operator log',
          },
        ],
      })),
  );
}
