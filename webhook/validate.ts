// The /validate admission handler: Kyverno's validating half of verifyImages (pkg/engine/handlers/validation/
// validate_image.go; kyverno-verifyimages.md §3.6). The API server calls it after every mutating webhook, with the
// object as it will be stored, and for each rule that applies and has an entry with verifyDigest or required (both
// true by default), it checks each image an entry's imageReferences name:
//   - verifyDigest: the image carries a digest ("missing digest for <image>"), whether or not /mutate pinned it;
//   - required: the kyverno.io/verify-images-scoped annotation that /mutate wrote records this policy's rule as having
//     passed or skipped this image ("unverified image <image>"); a missing entry or `fail` is unverified. An entry
//     with neither attestors nor attestations verifies nothing, so /mutate records nothing for it and `required`
//     refuses its images, as in Kyverno (its CLI test secure-images).
// The images are named as Kyverno names them (registry/path@digest once pinned, else registry/path:tag), which is
// also how /mutate keys the annotation. A rule's first failing image, entry by entry, is its line in the deny message,
// as Kyverno's handler returns on the first. The decision and the message layout are the /mutate handler's
// (decide.ts): Enforce denies, Audit admits with a warning, and an unexpected exception counts as an error of every
// rule that applies, which the failure policy decides. It never contacts a registry and does no I/O.
//
// The annotation is read from the new object, as Kyverno does: the API server hands this webhook nothing else that
// /mutate could have written to. Where this differs from Kyverno:
//   - pods/ephemeralcontainers (kubectl debug): the API server resets the Pod's metadata to the stored one after the
//     mutating webhooks (that subresource may change only spec.ephemeralContainers), so the record /mutate wrote for
//     a new debug image never reaches this webhook, and Kyverno refuses every debug image as unverified
//     (kyverno#12978, open). Here such a request is checked for what it can change: only the images it adds, and
//     for verifyDigest only; `required` is left to /mutate, which verified them.
//   - skipImageReferences: Kyverno's check ignores them, but its mutating webhook pins skipped images too, so with
//     mutateDigest they always have a digest. Ours leaves them as written, so an image the entry skips needs no
//     digest when the entry pins digests: the outcome is Kyverno's.
//   - a malformed annotation means "unverified image", where Kyverno fails the rule with the JSON parser's error; a
//     status other than pass, skip or fail is unverified too, where Kyverno lets it through.
//   - imageReferences match every spelling of the image (pkg/imageref), so a pattern with a tag still names the image
//     once /mutate has pinned it; Kyverno's string match misses it then (§3.3), and checks nothing.
import { toKyvernoString } from '../pkg/imageref/index.js';
import { errorFields, type Logger } from '../pkg/log/index.js';
import type {
  CompiledImageExtractors,
  CompiledImageVerification,
  CompiledPolicy,
  CompiledRule,
} from '../pkg/policy/index.js';
import { findApplicableRules, type ApplicabilityDeps, type ApplicableRule } from './applicable-rules.js';
import type { AdmissionRequest } from './admission-review.js';
import { decideAdmission, type ImageOutcome, type RuleResult } from './decide.js';
import { extractImages, type ExtractedImage } from './extract-images.js';
import { allowed, denied, type AdmissionResponse } from './responses.js';
import { readScopedRecord, type ScopedRecordReader } from './verify-annotations.js';
import { toViolationEvents, toViolationResource, type ViolationEvent } from './violation-events.js';

export interface ValidateDeps extends ApplicabilityDeps {
  readonly policies: () => readonly CompiledPolicy[];
  readonly log: Logger;
  readonly now: () => number;
  /** Records the PolicyViolation Events of a denial or of what Audit let through; never blocks. */
  readonly recordEvent?: (event: ViolationEvent) => void;
}

/** The subresource `kubectl debug` writes, whose metadata the API server resets after the mutating webhooks. */
const EPHEMERAL_CONTAINERS = 'ephemeralcontainers';

/** Kyverno's HasVerifyImageChecks: the rules the validating webhook is registered for and checks. */
export function hasImageChecks(rule: CompiledRule): boolean {
  return rule.verifyImages.some((e) => e.verifyDigest || e.required);
}

export function handleValidate(request: AdmissionRequest, deps: ValidateDeps): AdmissionResponse {
  const started = deps.now();
  const line = {
    uid: request.uid,
    kind: request.kind.kind,
    namespace: request.namespace,
    name: request.name,
    operation: request.operation,
    ...(request.subResource ? { subResource: request.subResource } : {}),
  };
  // Kyverno skips DELETE; CONNECT carries no object with images.
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') {
    deps.log.info('admission validated', { ...line, allowed: true, durationMs: deps.now() - started });
    return allowed(request.uid);
  }
  let applicable: readonly ApplicableRule[] | undefined;
  let results: readonly RuleResult[];
  try {
    applicable = findApplicableRules(request, deps.policies(), deps, hasImageChecks);
    results = checkRules(request, applicable);
  } catch (e) {
    deps.log.error('validation failed unexpectedly (bug); the failure policy decides', { ...line, ...errorFields(e) });
    results = unexpectedFailure(applicable ?? visibleRules(request, deps.policies()));
  }
  const decision = decideAdmission(
    { kind: request.kind.kind, namespace: request.namespace ?? '', name: request.name ?? '' },
    results,
  );
  if (deps.recordEvent && results.length > 0) {
    const events = toViolationEvents({
      resource: toViolationResource(request),
      denied: decision.$case === 'deny',
      results,
      policies: [...new Set((applicable ?? []).map((a) => a.policy))],
    });
    for (const event of events) deps.recordEvent(event);
  }
  deps.log.info('admission validated', {
    ...line,
    rules: applicable?.map((a) => `${a.policy.key}/${a.rule.name}`) ?? [],
    allowed: decision.$case === 'admit',
    failed: results.map((r) => ({ policy: r.policy, rule: r.rule, image: r.images[0]?.image ?? '' })),
    warnings: decision.warnings.length,
    durationMs: deps.now() - started,
  });
  // The outcomes carry no pins, so an admission has no patches: a validating webhook may not change the object.
  return decision.$case === 'deny'
    ? denied(request.uid, decision.message, decision.warnings)
    : allowed(request.uid, decision.warnings);
}

/**
 * What this webhook would answer for `request` with nothing to say: admitted, with no rule failing (so no warning and
 * no Event). For /mutate, on the object as it leaves /mutate (validated-images.ts); an unexpected exception is a no.
 */
export function passesValidation(
  request: AdmissionRequest,
  policies: readonly CompiledPolicy[],
  deps: ApplicabilityDeps,
): boolean {
  try {
    return checkRules(request, findApplicableRules(request, policies, deps, hasImageChecks)).length === 0;
  } catch {
    return false;
  }
}

/** One result per rule that fails (its first failing image); rules that pass need none. */
function checkRules(request: AdmissionRequest, applicable: readonly ApplicableRule[]): RuleResult[] {
  if (applicable.length === 0) return [];
  const images = new RequestImages(request);
  const record = readScopedRecord(request.object);
  const results: RuleResult[] = [];
  for (const { policy, rule, failureAction } of applicable) {
    const failure = checkRule(policy, rule, images, record);
    if (!failure) continue;
    results.push({
      policy: toShownName(policy),
      rule: rule.name,
      failurePolicy: policy.failurePolicy,
      failureAction,
      images: [failure],
    });
  }
  return results;
}

/** The rule's first failing image, entry by entry in the rule's order, as Kyverno's handler returns on it. */
function checkRule(
  policy: CompiledPolicy,
  rule: CompiledRule,
  images: RequestImages,
  record: ScopedRecordReader,
): ImageOutcome | undefined {
  const found = images.of(rule.imageExtractors);
  // The object cannot be read for images: that is the object's fault, and it fails the rule, as in /mutate.
  if (!found.ok) return { status: 'fail', image: '', reason: 'InvalidSignature', message: found.error };
  const scoped = `${policy.ref.namespace}/${policy.ref.name}`;
  for (const entry of rule.verifyImages) {
    if (!entry.verifyDigest && !entry.required) continue;
    for (const image of found.images) {
      if (!entry.imageReferences.some((p) => p.matches(image.ref))) continue;
      const shown = toKyvernoString(image.ref);
      // The reasons are the nearest of pkg/conditions' closed list; only the message is shown, and neither is an
      // error reason, so the failure action decides.
      if (entry.verifyDigest && image.ref.digest === undefined && !isPinnedByKyverno(entry, image)) {
        return { status: 'fail', image: shown, reason: 'DigestMismatch', message: `missing digest for ${shown}` };
      }
      if (entry.required && found.recorded) {
        const status = record(scoped, rule.name, shown);
        if (status !== 'pass' && status !== 'skip') {
          return { status: 'fail', image: shown, reason: 'SignatureNotFound', message: `unverified image ${shown}` };
        }
      }
    }
  }
  return undefined;
}

/**
 * Whether Kyverno's mutating webhook would have pinned the image although ours did not: an image the entry skips, when
 * the entry pins digests (Kyverno pins after verifying, whatever the verification said, skip included).
 */
function isPinnedByKyverno(entry: CompiledImageVerification, image: ExtractedImage): boolean {
  return entry.mutateDigest && entry.skipImageReferences.some((p) => p.matchesPulledImage(image.ref));
}

/** The images a rule looks at, per extractor set, extracted once per admission. */
type RuleImages =
  | {
      readonly ok: true;
      readonly images: readonly ExtractedImage[];
      /** Whether /mutate's record can be on the object this webhook sees (not for pods/ephemeralcontainers). */
      readonly recorded: boolean;
    }
  | { readonly ok: false; readonly error: string };

class RequestImages {
  readonly #request: AdmissionRequest;
  readonly #ephemeral: boolean;
  readonly #found = new Map<CompiledImageExtractors | undefined, RuleImages>();

  constructor(request: AdmissionRequest) {
    this.#request = request;
    this.#ephemeral = request.operation === 'UPDATE' && request.subResource === EPHEMERAL_CONTAINERS;
  }

  of(extractors: CompiledImageExtractors | undefined): RuleImages {
    let found = this.#found.get(extractors);
    if (!found) this.#found.set(extractors, (found = this.#extract(extractors)));
    return found;
  }

  #extract(extractors: CompiledImageExtractors | undefined): RuleImages {
    const { kind } = this.#request.kind;
    const now = extractImages(kind, this.#request.object, extractors);
    if (!now.ok) return now;
    if (!this.#ephemeral) return { ok: true, images: now.value.images, recorded: true };
    // Only what this request adds: the images the stored Pod already had were checked when they were written, and
    // this request cannot change them.
    const before = extractImages(kind, this.#request.oldObject, extractors);
    const old = new Set(before.ok ? before.value.images.map((i) => `${i.pointer}\n${i.written}`) : []);
    const added = now.value.images.filter((i) => !old.has(`${i.pointer}\n${i.written}`));
    return { ok: true, images: added, recorded: false };
  }
}

/** Looks up what /mutate recorded for a policy (`<ns>/<name>`), rule and image; undefined when nothing. */
/** How the deny message and Events name a policy: `name`, or `namespace/name` for a Policy, as /mutate does. */
function toShownName(policy: CompiledPolicy): string {
  return policy.ref.kind === 'Policy' ? `${policy.ref.namespace}/${policy.ref.name}` : policy.ref.name;
}

/** The rules with checks that the request's kind and namespace could fall under, when finding them failed. */
function visibleRules(request: AdmissionRequest, policies: readonly CompiledPolicy[]): ApplicableRule[] {
  return policies
    .filter((p) => p.ref.kind !== 'Policy' || p.ref.namespace === request.namespace)
    .flatMap((policy) =>
      policy.rules
        .filter((rule) => rule.kinds.has(request.kind.kind) && hasImageChecks(rule))
        .map((rule) => ({ policy, rule, failureAction: 'Enforce' as const })),
    );
}

/** Every applicable rule errored: what an exception means, so that the failure policy, not a 500, decides. */
function unexpectedFailure(rules: readonly ApplicableRule[]): RuleResult[] {
  return rules.map(({ policy, rule, failureAction }) => ({
    policy: toShownName(policy),
    rule: rule.name,
    failurePolicy: policy.failurePolicy,
    failureAction,
    images: [
      {
        status: 'fail' as const,
        image: '',
        // An error reason: the failure policy decides, whatever the failure action.
        reason: 'Timeout' as const,
        message: 'the images could not be validated: an internal error; see the operator log',
      },
    ],
  }));
}
