// The images of one admission against the verifyImages rules that apply to it: the gathering half of the /mutate
// handler (decide.ts is the deciding half). For each rule that applies and each image its entries name, one outcome:
// pass (with the digest to pin), skip, or fail (with the reason, errors included). Each distinct image is resolved
// once, its signatures discovered once per repository, whatever number of rules name it; different images are
// verified concurrently, a few at a time; all of it within one work budget and one deadline for the admission.
//
// A pass of a rule that uses the cache is kept with the digest that was verified, and a later admission of the same
// image under the same policy version pins that digest without asking the registry again, even if the tag has moved
// since (Kyverno's cache pinned whatever the tag named at the time: CVE-2026-122321).
import {
  checkSignatures,
  DiscoveryMemo,
  resolveImage,
  toFailureMessage,
  WorkBudget,
  type ImageRegistry,
  type ResolvedImage,
  type VerifyFailure,
  type WorkLimits,
} from '../pkg/cosign/index.js';
import { toKyvernoString, type ImageRef } from '../pkg/imageref/index.js';
import type { DockerConfig } from '../pkg/oci/index.js';
import type {
  AdmissionFacts,
  CompiledImageExtractors,
  CompiledImageVerification,
  CompiledPolicy,
  CompiledRule,
  FailureAction,
} from '../pkg/policy/index.js';
import { toCacheKey, type VerificationCache } from '../pkg/cache/index.js';
import { err, ok, type Result } from '../pkg/result/index.js';
import { toAdmissionFacts } from './admission-facts.js';
import type { AdmissionRequest } from './admission-review.js';
import type { ImageOutcome, RuleResult } from './decide.js';
import { extractImages, type ExtractedImage } from './extract-images.js';
import { toAdmissionCredentials, type AdmissionCredentials, type PullSecretLookup } from './registry-credentials.js';
import { readScopedStatus, type ImageVerification } from './verify-annotations.js';

/** The result cache: passes only, each with the digest verified, keyed by policy version, rule, entry and image. */
export type PassCache = VerificationCache<undefined, VerifyFailure>;

export interface VerifyImagesDeps {
  readonly registry: ImageRegistry;
  readonly cache?: PassCache;
  /** Registry credentials for every admission; the registry client's own when absent. */
  readonly credentials?: DockerConfig;
  /**
   * Pull Secrets, when the webhook reads them: each admission's credentials are then the rules' secrets, the Pod's
   * own imagePullSecrets and the operator's --imagePullSecrets, in that order (registry-credentials.ts).
   */
  /**
   * The roles ("<namespace>:<role>") and cluster roles bound to a user, from the RoleBinding informers; for the
   * `roles` and `clusterRoles` of match and exclude. Without it, a rule that names roles applies whatever they are.
   */
  readonly userRoles?: (
    userInfo: AdmissionRequest['userInfo'],
  ) => { readonly roles: readonly string[]; readonly clusterRoles: readonly string[] } | undefined;
  /** The labels of a namespace, from the Namespace informer; for namespaceSelector in match, exclude and overrides. */
  readonly namespaceLabels?: (namespace: string) => Readonly<Record<string, string>> | undefined;
  readonly pullSecrets?: {
    readonly lookup: PullSecretLookup;
    readonly operatorNamespace: string;
    readonly operatorPullSecrets: readonly string[];
  };
  readonly limits?: Partial<WorkLimits>;
}

/** What a pass is: the digest that was verified, which the Pod is pinned to. */
interface CachedPass {
  readonly digest: string;
}

export interface VerifyImagesInput {
  readonly request: AdmissionRequest;
  /** The compiled policies that apply to the request's kind and namespace. */
  readonly policies: readonly CompiledPolicy[];
  readonly signal: AbortSignal;
}

export interface ImageLog {
  readonly image: string;
  readonly policy: string;
  readonly rule: string;
  readonly status: ImageOutcome['status'];
  readonly reason?: string;
  readonly cached?: boolean;
}

export interface VerifiedImages {
  readonly results: readonly RuleResult[];
  /** Pull Secrets that were named but could not be used (missing, malformed), for the admission's log line. */
  readonly credentialProblems: readonly string[];
  /** What the kyverno.io/verify-images annotations record: each verified entry's images and their status. */
  readonly verifications: readonly ImageVerification[];
  /** One line per image and rule, for the admission's log line. */
  readonly log: readonly ImageLog[];
  /** What the work budget spent: requests, bytes, checks. */
  readonly spent: { readonly requests: number; readonly bytes: number; readonly checks: number };
}

/** Images verified at once per admission; the registry client limits each registry as a whole too. */
const PARALLEL_IMAGES = 4;

export async function verifyAdmissionImages(input: VerifyImagesInput, deps: VerifyImagesDeps): Promise<VerifiedImages> {
  const credentials = toCredentials(input, deps);
  const namespace = input.request.namespace;
  // Roles are resolved only when some rule asks about them: most policies never do.
  const needsRoles = input.policies.some((p) => p.rules.some((r) => r.filter?.needsRoles));
  // Undefined until the bindings are loaded: the rule then applies (see appliesTo).
  const roles = needsRoles ? deps.userRoles?.(input.request.userInfo) : undefined;
  const facts = toAdmissionFacts(input.request, namespace ? deps.namespaceLabels?.(namespace) : undefined, roles);
  const run = new AdmissionRun(input, credentials ? { ...deps, credentials: credentials.credentials } : deps, facts);
  const results: RuleResult[] = [];
  for (const policy of input.policies) {
    for (const rule of policy.rules) {
      if (!rule.kinds.has(input.request.kind.kind) || rule.verifyImages.length === 0) continue;
      if (!appliesTo(rule, facts, roles !== undefined)) continue;
      const result = await run.rule(policy, rule);
      if (result) results.push(result);
    }
  }
  const budget = run.budget;
  return {
    results,
    credentialProblems: credentials?.problems ?? [],
    verifications: run.verifications,
    log: run.log,
    spent: { requests: budget.used('requests'), bytes: budget.used('bytes'), checks: budget.used('checks') },
  };
}

/**
 * One set of credentials for the admission: the secrets of every entry of the policies that apply (credentials go
 * only to the registry host each names, so entries cannot use one another's elsewhere), then the Pod's own pull
 * Secrets, then the operator's.
 */
function toCredentials(input: VerifyImagesInput, deps: VerifyImagesDeps): AdmissionCredentials | undefined {
  const secrets = deps.pullSecrets;
  if (!secrets) return undefined;
  const podSecrets = extractImages(input.request.kind.kind, input.request.object);
  return toAdmissionCredentials({
    operatorNamespace: secrets.operatorNamespace,
    operatorPullSecrets: secrets.operatorPullSecrets,
    podNamespace: input.request.namespace ?? '',
    podPullSecrets: podSecrets.ok ? podSecrets.value.imagePullSecrets : [],
    ruleSecrets: [
      ...new Set(
        input.policies.flatMap((p) => p.rules.flatMap((r) => r.verifyImages.flatMap((e) => e.registrySecrets))),
      ),
    ],
    lookup: secrets.lookup,
  });
}

/**
 * Whether the rule's match and exclude select the request. When roles could not be resolved (no RoleBinding
 * informer), a rule that names them applies whatever its role conditions say, so that images are verified more,
 * never less.
 */
function appliesTo(rule: CompiledRule, facts: AdmissionFacts, rolesKnown: boolean): boolean {
  if (!rule.filter) return true;
  if (rule.filter.needsRoles && !rolesKnown) return true;
  return rule.filter.matches(facts);
}

class AdmissionRun {
  readonly budget: WorkBudget;
  readonly log: ImageLog[] = [];
  readonly verifications: ImageVerification[] = [];
  readonly #input: VerifyImagesInput;
  readonly #deps: VerifyImagesDeps;
  readonly #discovery: DiscoveryMemo;
  readonly #resolved = new Map<string, Promise<Result<ResolvedImage, VerifyFailure>>>();
  readonly #oldImages = new Map<CompiledRule, ReadonlyMap<string, string>>();
  /** The object's images, once per extractor set: every rule without imageExtractors shares the built-in one. */
  readonly #extracted = new Map<CompiledImageExtractors | undefined, ReturnType<typeof extractImages>>();

  readonly #facts: AdmissionFacts;

  constructor(input: VerifyImagesInput, deps: VerifyImagesDeps, facts: AdmissionFacts) {
    this.#input = input;
    this.#deps = deps;
    this.#facts = facts;
    this.budget = new WorkBudget(deps.limits);
    this.#discovery = new DiscoveryMemo({
      registry: deps.registry,
      budget: this.budget,
      signal: input.signal,
      ...(deps.credentials ? { credentials: deps.credentials } : {}),
    });
  }

  /** The rule's outcome for each image its entries name; undefined when it names none (no rule response). */
  async rule(policy: CompiledPolicy, rule: CompiledRule): Promise<RuleResult | undefined> {
    const policyName = policy.ref.kind === 'Policy' ? `${policy.ref.namespace}/${policy.ref.name}` : policy.ref.name;
    const extracted = this.#extract(rule);
    const base = {
      policy: policyName,
      rule: rule.name,
      failurePolicy: policy.failurePolicy,
      failureAction: this.#failureAction(policy, rule),
    };
    if (!extracted.ok) {
      // The object cannot be read for images: that is the object's fault, and it fails the rule.
      const outcome: ImageOutcome = { status: 'fail', image: '', reason: 'InvalidSignature', message: extracted.error };
      return { ...base, images: [outcome] };
    }
    const tasks: { entry: CompiledImageVerification; image: ExtractedImage }[] = [];
    for (const entry of rule.verifyImages) {
      for (const image of extracted.value.images) {
        if (entry.imageReferences.some((p) => p.matches(image.ref))) tasks.push({ entry, image });
      }
    }
    if (tasks.length === 0) return undefined;
    const outcomes: ImageOutcome[] = new Array<ImageOutcome>(tasks.length);
    let next = 0;
    const worker = async () => {
      while (next < tasks.length) {
        const i = next++;
        const { entry, image } = tasks[i]!;
        outcomes[i] = await this.#image(policy, rule, policyName, entry, image);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_IMAGES, tasks.length) }, worker));
    return { ...base, images: outcomes };
  }

  async #image(
    policy: CompiledPolicy,
    rule: CompiledRule,
    policyName: string,
    entry: CompiledImageVerification,
    image: ExtractedImage,
  ): Promise<ImageOutcome> {
    const shown = toKyvernoString(image.ref);
    const scopedPolicy = `${policy.ref.namespace}/${policy.ref.name}`;
    // Entries that verify something are recorded in the annotations (Kyverno: not the digest-only ones).
    const recorded = entry.attestors.length > 0 || entry.attestations.length > 0;
    const logged = (outcome: ImageOutcome, cached?: boolean, annotated = shown): ImageOutcome => {
      if (recorded) {
        this.verifications.push({ policy: scopedPolicy, rule: rule.name, image: annotated, status: outcome.status });
      }
      this.log.push({
        image: shown,
        policy: policyName,
        rule: rule.name,
        status: outcome.status,
        ...(outcome.status === 'fail' ? { reason: outcome.reason } : {}),
        ...(cached !== undefined ? { cached } : {}),
      });
      return outcome;
    };
    if (entry.skipImageReferences.some((p) => p.matchesPulledImage(image.ref))) {
      const message = `skipping image reference image ${shown}, policy ${policyName} ruleName ${rule.name}`;
      return logged({ status: 'skip', image: shown, message });
    }
    // Kyverno 1.19: an UPDATE that leaves the image as it was, which the old object's scoped annotation records as
    // verified by this rule, is not verified again. The incoming object's own annotations are never read.
    if (this.#input.request.operation === 'UPDATE' && this.#unchanged(rule, image)) {
      const before = readScopedStatus(this.#input.request.oldObject, scopedPolicy, rule.name, shown);
      if (before === 'pass' || before === 'skip') {
        return logged({ status: 'pass', image: shown, pointer: image.pointer }, true);
      }
    }
    const cache = entry.useCache ? this.#deps.cache : undefined;
    let verified: Result<CachedPass, VerifyFailure>;
    let cached: boolean | undefined;
    if (cache) {
      const key = toCacheKey(policy, rule.name, rule.verifyImages.indexOf(entry), image.written);
      const answer = await cache.getOrVerify(
        key,
        async (signal) => {
          const outcome = await this.#verify(entry, image.ref, signal);
          return outcome.ok
            ? { pass: true, digest: outcome.value.digest, value: undefined }
            : { pass: false, failure: outcome.error };
        },
        { signal: this.#input.signal },
      );
      cached = answer.pass && answer.source === 'cache';
      verified = answer.pass
        ? ok({ digest: answer.digest })
        : 'failure' in answer
          ? err(answer.failure)
          : err({ reason: 'Timeout', detail: 'the deadline passed while the image was being verified' });
    } else {
      verified = await this.#verify(entry, image.ref, this.#input.signal);
    }
    if (!verified.ok) {
      return logged(
        {
          status: 'fail',
          image: shown,
          reason: verified.error.reason,
          message: toFailureMessage(shown, verified.error),
        },
        cached,
      );
    }
    const { digest } = verified.value;
    const pin = entry.mutateDigest && image.ref.digest === undefined;
    return logged(
      {
        status: 'pass',
        image: shown,
        pointer: image.pointer,
        ...(pin ? { pinned: `${toKyvernoString({ ...image.ref, digest: undefined })}@${digest}` } : {}),
      },
      cached,
      // After pinning, the image is the digest form, as Kyverno records it.
      pin ? toKyvernoString({ ...image.ref, digest }) : shown,
    );
  }

  /**
   * Resolves the image once per admission, then checks the entry's attestor sets against its signatures. `signal`
   * stops the checks: the admission's, or, for a verification the result cache shares between admissions, the one
   * that aborts when every admission waiting for it has given up. (Registry reads are shared per admission, under its
   * own deadline.)
   */
  async #verify(
    entry: CompiledImageVerification,
    ref: ImageRef,
    signal: AbortSignal,
  ): Promise<Result<CachedPass, VerifyFailure>> {
    const resolved = await this.#resolve(ref);
    if (!resolved.ok) return resolved;
    const { digest } = resolved.value;
    // An entry with neither attestors nor attestations only pins digests (Kyverno: no verification).
    if (entry.attestors.length === 0 && entry.attestations.length === 0) return ok({ digest });
    if (entry.attestations.length > 0) {
      return err({
        reason: 'InvalidSignature',
        detail: `${entry.field}.attestations: attestations are not verified yet, so this entry admits no image`,
      });
    }
    const discovery = await this.#discovery.discover({ repository: entry.repository ?? ref, digest });
    if (!discovery.ok) return discovery;
    const checked = await checkSignatures(entry.attestors, discovery.value, digest, this.budget, signal);
    return checked.ok ? ok({ digest }) : checked;
  }

  #extract(rule: CompiledRule): ReturnType<typeof extractImages> {
    let found = this.#extracted.get(rule.imageExtractors);
    if (!found) {
      found = extractImages(this.#input.request.kind.kind, this.#input.request.object, rule.imageExtractors);
      this.#extracted.set(rule.imageExtractors, found);
    }
    return found;
  }

  /** Whether the old object had the same image at the same place (an UPDATE). */
  #unchanged(rule: CompiledRule, image: ExtractedImage): boolean {
    let before = this.#oldImages.get(rule);
    if (!before) {
      const old = extractImages(this.#input.request.kind.kind, this.#input.request.oldObject, rule.imageExtractors);
      before = new Map(old.ok ? old.value.images.map((i) => [i.pointer, i.written]) : []);
      this.#oldImages.set(rule, before);
    }
    return before.get(image.pointer) === image.written;
  }

  #resolve(ref: ImageRef): Promise<Result<ResolvedImage, VerifyFailure>> {
    const key = toKyvernoString(ref);
    let found = this.#resolved.get(key);
    if (!found) {
      found = resolveImage(ref, {
        registry: this.#deps.registry,
        signal: this.#input.signal,
        ...(this.#deps.credentials ? { credentials: this.#deps.credentials } : {}),
      });
      this.#resolved.set(key, found);
    }
    return found;
  }

  /**
   * Kyverno's order (kyverno-verifyimages.md §4.1): an entry's own Enforce wins, else the first entry's own action,
   * else the first override that applies to the request's namespace (by its patterns and its namespaceSelector, both
   * when both are given), else the policy's. When the namespace's labels are not known, an override by selector
   * applies only if it would enforce: not knowing never makes a rule more lenient.
   */
  #failureAction(policy: CompiledPolicy, rule: CompiledRule): FailureAction {
    const own = rule.verifyImages.filter((e) => e.failureActionIsOwn);
    if (own.some((e) => e.failureAction === 'Enforce')) return 'Enforce';
    if (own.length > 0) return own[0]!.failureAction;
    const namespace = this.#facts.namespace;
    const labels = this.#facts.namespaceLabels;
    const override = policy.failureActionOverrides.find((o) => {
      if (o.namespaces.length === 0 && !o.namespaceSelector) return false;
      if (o.namespaces.length > 0 && !o.namespaces.some((p) => p.matches(namespace))) return false;
      if (!o.namespaceSelector) return true;
      return labels ? o.namespaceSelector.matches(labels) : o.action === 'Enforce';
    });
    return override?.action ?? rule.verifyImages[0]!.failureAction;
  }
}
