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
  checkAttestations,
  checkSignatures,
  DiscoveryMemo,
  resolveImage,
  toFailureMessage,
  WorkBudget,
  type EvaluateAttestation,
  type ImageRegistry,
  type ResolvedImage,
  type VerifyFailure,
  type WorkLimits,
} from '../pkg/cosign/index.js';
import { toKyvernoString, type ImageRef } from '../pkg/imageref/index.js';
import type { DockerConfig } from '../pkg/oci/index.js';
import type {
  CompiledImageExtractors,
  CompiledImageVerification,
  CompiledPolicy,
  CompiledRule,
  FailureAction,
} from '../pkg/policy/index.js';
import { fillEntry, hasDeferredAttestors, type AttestorLookups, type FilledEntry } from '../pkg/policy/index.js';
import { toCacheKey, type VerificationCache } from '../pkg/cache/index.js';
import { evaluateConditions, evaluateDeny, type JsonValue } from '../pkg/conditions/index.js';
import { err, ok, type Result } from '../pkg/result/index.js';
import { findApplicableRules } from './applicable-rules.js';
import type { AdmissionRequest } from './admission-review.js';
import type { ImageOutcome, RuleResult } from './decide.js';
import { extractImages, type ExtractedImage } from './extract-images.js';
import { toAdmissionCredentials, type AdmissionCredentials, type PullSecretLookup } from './registry-credentials.js';
import { ImageTally, type ImageSummary } from './image-tally.js';
import { readScopedRecord, VerificationRecord, type ScopedRecordReader } from './verify-annotations.js';
import {
  loadRuleContext,
  toBuiltInContext,
  toImageInfo,
  type ApiCallBudget,
  type RuleContextDeps,
} from './rule-context.js';

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
  /** The wall clock, in ms since the epoch, for the time functions of attestation conditions; Date.now by default. */
  readonly wallClock?: () => number;
  /**
   * What rules with variables read: ConfigMaps and API calls for their context, Secrets for k8s:// keys. A rule that
   * needs one that is absent fails with a rule error.
   */
  readonly ruleContext?: Omit<RuleContextDeps, 'now'> & {
    readonly secretPublicKey?: AttestorLookups['secretPublicKey'];
  };
  /** Told of each image verified against an entry (not of cache hits), with its failure reason and duration. */
  readonly observeVerification?: (verification: {
    readonly reason?: VerifyFailure['reason'];
    readonly durationSeconds: number;
  }) => void;
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

export interface VerifiedImages {
  readonly results: readonly RuleResult[];
  /** Pull Secrets that were named but could not be used (missing, malformed), for the admission's log line. */
  readonly credentialProblems: readonly string[];
  /** What the kyverno.io/verify-images annotations record: each verified entry's images and their status. */
  readonly verifications: VerificationRecord;
  /** One entry per image, for the admission's log line. */
  readonly images: readonly ImageSummary[];
  /** What the work budget spent: requests, bytes, checks. */
  readonly spent: { readonly requests: number; readonly bytes: number; readonly checks: number };
}

/** Images verified at once per admission; the registry client limits each registry as a whole too. */
const PARALLEL_IMAGES = 4;

export async function verifyAdmissionImages(input: VerifyImagesInput, deps: VerifyImagesDeps): Promise<VerifiedImages> {
  // The built-in extraction serves the Pod's pull Secrets and every rule without imageExtractors.
  const builtIn = extractImages(input.request.kind.kind, input.request.object);
  const credentials = toCredentials(input, deps, builtIn);
  // The same rules, judged the same way, as the validating webhook checks (applicable-rules.ts).
  const applicable = findApplicableRules(input.request, input.policies, deps);
  const run = new AdmissionRun(input, credentials ? { ...deps, credentials: credentials.credentials } : deps, builtIn);
  const results: RuleResult[] = [];
  for (const { policy, rule, failureAction } of applicable) {
    const checked = run.rule(policy, rule, failureAction);
    // Most admissions are answered from the cache alone, without a promise to wait on.
    const result = checked instanceof Promise ? await checked : checked;
    if (result) results.push(result);
  }
  const budget = run.budget;
  return {
    results,
    credentialProblems: credentials?.problems ?? [],
    verifications: run.verifications,
    images: run.tally.summaries(),
    spent: { requests: budget.used('requests'), bytes: budget.used('bytes'), checks: budget.used('checks') },
  };
}

/**
 * One set of credentials for the admission: the secrets of every entry of the policies that apply (credentials go
 * only to the registry host each names, so entries cannot use one another's elsewhere), then the Pod's own pull
 * Secrets, then the operator's.
 */
function toCredentials(
  input: VerifyImagesInput,
  deps: VerifyImagesDeps,
  podSecrets: ReturnType<typeof extractImages>,
): AdmissionCredentials | undefined {
  const secrets = deps.pullSecrets;
  if (!secrets) return undefined;
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

/** A rule's outcome for one image, with what the log and the annotations record of it. */
interface Checked {
  readonly outcome: ImageOutcome;
  /** Whether the answer came without verifying: from the cache, or the old object of an UPDATE. */
  readonly cached: boolean;
  /** The image as the annotations name it: after pinning, the digest form, as Kyverno records it. */
  readonly annotated: string;
  /** Whether the annotations record it: entries that verify something are (Kyverno: not the digest-only ones). */
  readonly recorded: boolean;
}

function isRecorded(entry: CompiledImageVerification): boolean {
  return entry.attestors.length > 0 || entry.attestations.length > 0;
}

/** A slot whose answer is on its way. */
const PLACEHOLDER: Checked = {
  outcome: { status: 'fail', image: '', reason: 'Timeout', message: 'not verified' },
  cached: false,
  annotated: '',
  recorded: false,
};

/** An image a rule's entry names, where the answer needs the registry (or the shared verification of another). */
interface Pending {
  readonly slot: number;
  readonly entry: CompiledImageVerification;
  readonly index: number;
  readonly image: ExtractedImage;
  /** What the entry's attestors were filled with at this admission ('' for none): part of the cache key. */
  readonly material: string;
}

/** A rule's JSON context at this admission: the built-in variables and its context entries. */
type RuleRoot = Readonly<Record<string, JsonValue>>;

/**
 * What an attestation's conditions read in a rule with a context: the context, with the predicate's members merged
 * over it at the root, as Kyverno merges them.
 */
function withPredicate(root: RuleRoot, predicate: unknown): unknown {
  return predicate !== null && typeof predicate === 'object' && !Array.isArray(predicate)
    ? { ...root, ...(predicate as Record<string, unknown>) }
    : predicate;
}

/** A rule's entries as this admission fills them: each filled entry, or why it could not be. */
type FilledEntries = readonly Result<FilledEntry, VerifyFailure>[];

/** How a policy is named: in the deny message and log (`name`, `ns/name`), and in the scoped annotation. */
interface PolicyNames {
  readonly shown: string;
  readonly scoped: string;
}

class AdmissionRun {
  readonly budget: WorkBudget;
  readonly tally = new ImageTally();
  readonly verifications = new VerificationRecord();
  readonly #input: VerifyImagesInput;
  readonly #deps: VerifyImagesDeps;
  readonly #discovery: DiscoveryMemo;
  readonly #resolved = new Map<string, Promise<Result<ResolvedImage, VerifyFailure>>>();
  readonly #oldImages = new Map<CompiledRule, ReadonlyMap<string, string>>();
  /** The object's images, once per extractor set: every rule without imageExtractors shares the built-in one. */
  readonly #extracted = new Map<CompiledImageExtractors | undefined, ReturnType<typeof extractImages>>();
  /** Kyverno's string of each image, and of it pinned to the digest its rules verified: the same for every rule. */
  readonly #shown = new Map<ExtractedImage, string>();
  readonly #pins = new Map<ExtractedImage, { digest: string; pinned: string; annotated: string }>();
  /** The old object's scoped annotation (an UPDATE), parsed once for every rule and image. */
  #oldRecord: ScopedRecordReader | undefined;
  /**
   * Every predicate type the admission's policies ask for: one discovery of attestations reads them all, and no
   * other. Made when an entry first needs attestations; most admissions never do.
   */
  #predicateTypes: ReadonlySet<string> | undefined;
  readonly #now: () => number;
  /** The admission's API calls, over all its rules' contexts. */
  readonly #apiCalls: ApiCallBudget = { used: 0 };
  /** Each rule's loaded context, for its attestation conditions. */
  readonly #contexts = new Map<CompiledRule, RuleRoot>();

  constructor(input: VerifyImagesInput, deps: VerifyImagesDeps, builtIn: ReturnType<typeof extractImages>) {
    this.#input = input;
    this.#deps = deps;
    this.#extracted.set(undefined, builtIn);
    const now = deps.wallClock ?? Date.now;
    this.#now = now;
    this.budget = new WorkBudget(deps.limits);
    this.#discovery = new DiscoveryMemo({
      registry: deps.registry,
      budget: this.budget,
      signal: input.signal,
      ...(deps.credentials ? { credentials: deps.credentials } : {}),
    });
  }

  /**
   * The rule's outcome for each image its entries name; undefined when it names none (no rule response). Answered at
   * once when every image is skipped or a cache hit, else a promise.
   */
  rule(
    policy: CompiledPolicy,
    rule: CompiledRule,
    failureAction: FailureAction,
  ): RuleResult | undefined | Promise<RuleResult | undefined> {
    const names: PolicyNames = {
      shown: policy.ref.kind === 'Policy' ? `${policy.ref.namespace}/${policy.ref.name}` : policy.ref.name,
      scoped: `${policy.ref.namespace}/${policy.ref.name}`,
    };
    const extracted = this.#extract(rule);
    const base = {
      policy: names.shown,
      rule: rule.name,
      failurePolicy: policy.failurePolicy,
      failureAction,
    };
    if (!extracted.ok) {
      // The object cannot be read for images: that is the object's fault, and it fails the rule.
      const outcome: ImageOutcome = { status: 'fail', image: '', reason: 'InvalidSignature', message: extracted.error };
      return { ...base, images: [outcome] };
    }
    const images = extracted.value.images;
    if (rule.fills) {
      // Nothing is loaded for a rule none of whose entries names an image here (Kyverno: a missing ConfigMap then
      // stops nothing).
      const named = rule.verifyImages.some((entry) =>
        images.some((image) => entry.imageReferences.some((p) => p.matches(image.ref))),
      );
      if (!named) return undefined;
      return this.#fill(rule, images).then((filled) => this.#check(policy, rule, names, base, images, filled));
    }
    return this.#check(policy, rule, names, base, images, undefined);
  }

  #check(
    policy: CompiledPolicy,
    rule: CompiledRule,
    names: PolicyNames,
    base: Omit<RuleResult, 'images'>,
    images: readonly ExtractedImage[],
    filled: FilledEntries | undefined,
  ): RuleResult | undefined | Promise<RuleResult | undefined> {
    const checked: Checked[] = [];
    let pending: Pending[] | undefined;
    rule.verifyImages.forEach((written, index) => {
      const fill = filled?.[index];
      for (const image of images) {
        if (!written.imageReferences.some((p) => p.matches(image.ref))) continue;
        if (fill && !fill.ok) {
          checked.push(this.#failed(written, image, fill.error, false));
          continue;
        }
        // An attestation's conditions in a rule with a context may read anything in it (the request, a ConfigMap):
        // a pass is then not cached, as nothing short of the whole context would tell when it may be reused.
        const entry = !fill
          ? written
          : fill.value.entry.attestations.length > 0 && fill.value.entry.useCache
            ? { ...fill.value.entry, useCache: false }
            : fill.value.entry;
        const material = fill ? fill.value.fingerprint : '';
        const now = this.#checkNow(policy, rule, names, entry, index, image, material);
        if (now) checked.push(now);
        else (pending ??= []).push({ slot: checked.push(PLACEHOLDER) - 1, entry, index, image, material });
      }
    });
    if (checked.length === 0) return undefined;
    if (!pending) return this.#record(names, rule, base, checked);
    return this.#checkLater(policy, rule, pending, checked).then(() => this.#record(names, rule, base, checked));
  }

  /**
   * The rule's context, loaded once for this admission, and each entry's attestors filled from it. What cannot be
   * loaded or filled is the rule's error for the images it names (failurePolicy decides).
   */
  async #fill(rule: CompiledRule, images: readonly ExtractedImage[]): Promise<FilledEntries> {
    const deps = this.#deps.ruleContext ?? {};
    const now = this.#deps.wallClock ?? Date.now;
    const builtIns = toBuiltInContext(this.#input.request, images);
    const loaded = rule.context
      ? await loadRuleContext(rule.context, builtIns, { ...deps, now }, this.#apiCalls, this.#input.signal)
      : ok(builtIns);
    if (!loaded.ok) {
      const failure: VerifyFailure = {
        reason: 'ContextError',
        detail: loaded.error.replace(/^failed to load context: /, ''),
      };
      return rule.verifyImages.map(() => err(failure));
    }
    this.#contexts.set(rule, loaded.value);
    const secretPublicKey =
      deps.secretPublicKey ??
      ((namespace: string, name: string) => err(`secrets "${name}" in "${namespace}" are not read by this webhook`));
    return rule.verifyImages.map((entry) => {
      if (!hasDeferredAttestors(entry)) return ok({ entry, fingerprint: '' });
      const filled = fillEntry(entry, loaded.value, { secretPublicKey, now });
      return filled.ok
        ? filled
        : err({ reason: 'VariableError', detail: `${filled.error.field}: ${filled.error.message}` });
    });
  }

  /** The rule's result, its outcomes counted for the log and recorded for the annotations, in the rule's order. */
  #record(
    names: PolicyNames,
    rule: CompiledRule,
    base: Omit<RuleResult, 'images'>,
    checked: readonly Checked[],
  ): RuleResult {
    const images = checked.map((c) => {
      const { outcome } = c;
      if (c.recorded) this.verifications.add(names.scoped, rule.name, c.annotated, outcome.status);
      this.tally.count(
        outcome.image,
        outcome.status,
        c.cached,
        outcome.status === 'fail' ? { policy: names.shown, rule: rule.name, reason: outcome.reason } : undefined,
      );
      return outcome;
    });
    return { ...base, images };
  }

  /** The answers that need no registry: a skipped image, an unchanged image of an UPDATE, a pass in the cache. */
  #checkNow(
    policy: CompiledPolicy,
    rule: CompiledRule,
    names: PolicyNames,
    entry: CompiledImageVerification,
    index: number,
    image: ExtractedImage,
    material: string,
  ): Checked | undefined {
    const shown = this.#shownOf(image);
    if (entry.skipImageReferences.some((p) => p.matchesPulledImage(image.ref))) {
      const message = `skipping image reference image ${shown}, policy ${names.shown} ruleName ${rule.name}`;
      const outcome: ImageOutcome = { status: 'skip', image: shown, message };
      return { outcome, cached: false, annotated: shown, recorded: isRecorded(entry) };
    }
    // Kyverno 1.19: an UPDATE that leaves the image as it was, which the old object's scoped annotation records as
    // verified by this rule, is not verified again. The incoming object's own annotations are never read.
    if (this.#input.request.operation === 'UPDATE' && this.#unchanged(rule, image)) {
      const before = (this.#oldRecord ??= readScopedRecord(this.#input.request.oldObject))(
        names.scoped,
        rule.name,
        shown,
      );
      if (before === 'pass' || before === 'skip') {
        const outcome: ImageOutcome = { status: 'pass', image: shown, pointer: image.pointer };
        return { outcome, cached: true, annotated: shown, recorded: isRecorded(entry) };
      }
    }
    if (!entry.useCache || !this.#deps.cache) return undefined;
    const hit = this.#deps.cache.lookup(toCacheKey(policy, rule.name, index, image.written, material));
    return hit ? this.#passed(entry, image, hit.digest, true) : undefined;
  }

  /** The images that need the registry, a few at a time; each answer goes to its slot in `checked`. */
  async #checkLater(
    policy: CompiledPolicy,
    rule: CompiledRule,
    pending: readonly Pending[],
    checked: Checked[],
  ): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < pending.length) {
        const task = pending[next++]!;
        checked[task.slot] = await this.#verifyImage(policy, rule, task);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_IMAGES, pending.length) }, worker));
  }

  async #verifyImage(
    policy: CompiledPolicy,
    rule: CompiledRule,
    { entry, index, image, material }: Pending,
  ): Promise<Checked> {
    const root = this.#contexts.get(rule);
    const cache = entry.useCache ? this.#deps.cache : undefined;
    let verified: Result<CachedPass, VerifyFailure>;
    let cached = false;
    if (cache) {
      const answer = await cache.getOrVerify(
        toCacheKey(policy, rule.name, index, image.written, material),
        async (signal) => {
          const outcome = await this.#verify(entry, image.ref, signal, root);
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
      verified = await this.#verify(entry, image.ref, this.#input.signal, root);
    }
    if (verified.ok) return this.#passed(entry, image, verified.value.digest, cached);
    return this.#failed(entry, image, verified.error, cached);
  }

  #failed(entry: CompiledImageVerification, image: ExtractedImage, failure: VerifyFailure, cached: boolean): Checked {
    const shown = this.#shownOf(image);
    const message = toFailureMessage(shown, failure);
    return {
      outcome: { status: 'fail', image: shown, reason: failure.reason, message },
      cached,
      annotated: shown,
      recorded: isRecorded(entry),
    };
  }

  /** A pass: pinned to the digest verified when the entry pins and the object names no digest. */
  #passed(entry: CompiledImageVerification, image: ExtractedImage, digest: string, cached: boolean): Checked {
    const shown = this.#shownOf(image);
    const recorded = isRecorded(entry);
    if (!entry.mutateDigest || image.ref.digest !== undefined) {
      return { outcome: { status: 'pass', image: shown, pointer: image.pointer }, cached, annotated: shown, recorded };
    }
    let pin = this.#pins.get(image);
    if (pin?.digest !== digest) {
      pin = {
        digest,
        pinned: `${toKyvernoString({ ...image.ref, digest: undefined })}@${digest}`,
        annotated: toKyvernoString({ ...image.ref, digest }),
      };
      this.#pins.set(image, pin);
    }
    return {
      outcome: { status: 'pass', image: shown, pointer: image.pointer, pinned: pin.pinned },
      cached,
      annotated: pin.annotated,
      recorded,
    };
  }

  #shownOf(image: ExtractedImage): string {
    let shown = this.#shown.get(image);
    if (shown === undefined) this.#shown.set(image, (shown = toKyvernoString(image.ref)));
    return shown;
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
    root: RuleRoot | undefined,
  ): Promise<Result<CachedPass, VerifyFailure>> {
    const observe = this.#deps.observeVerification;
    if (!observe) return this.#verifyEntry(entry, ref, signal, root);
    const started = performance.now();
    const verified = await this.#verifyEntry(entry, ref, signal, root);
    const durationSeconds = (performance.now() - started) / 1000;
    try {
      observe(verified.ok ? { durationSeconds } : { reason: verified.error.reason, durationSeconds });
    } catch {
      // Counting is no reason to fail a verification.
    }
    return verified;
  }

  async #verifyEntry(
    entry: CompiledImageVerification,
    ref: ImageRef,
    signal: AbortSignal,
    root: RuleRoot | undefined,
  ): Promise<Result<CachedPass, VerifyFailure>> {
    const insecure = entry.allowInsecureRegistry;
    const resolved = await this.#resolve(ref, insecure);
    if (!resolved.ok) return resolved;
    const { digest } = resolved.value;
    // An entry with neither attestors nor attestations only pins digests (Kyverno: no verification).
    const repository = entry.repository ?? ref;
    // type SigstoreBundle reads bundles alone, as Kyverno does; Cosign (the default) every layout cosign writes.
    const layouts = entry.type === 'SigstoreBundle' ? 'bundles' : 'all';
    if (entry.attestors.length > 0) {
      const discovery = await this.#discovery.discover({ repository, digest, insecure, layouts });
      if (!discovery.ok) return discovery;
      const checked = await checkSignatures(entry.attestors, discovery.value, digest, this.budget, signal);
      // A signature that fails fetches no attestation.
      if (!checked.ok) return checked;
    }
    if (entry.attestations.length > 0) {
      const predicateTypes = (this.#predicateTypes ??= new Set(
        this.#input.policies.flatMap((p) =>
          p.rules.flatMap((r) => r.verifyImages.flatMap((e) => e.attestations.map((a) => a.predicateType))),
        ),
      ));
      const found = await this.#discovery.discoverAttestations({
        repository,
        digest,
        insecure,
        layouts,
        predicateTypes,
      });
      if (!found.ok) return found;
      // The image being verified is `image` in the conditions, as Kyverno's AddImageInfo has it; with a rule's
      // context, that too. (A cached pass is keyed by the image, so `image` never answers for another.)
      const base = { ...root, image: toImageInfo(ref) };
      const evaluate: EvaluateAttestation = (attestation, predicate) =>
        evaluateConditions(attestation.conditions, withPredicate(base, predicate), { now: this.#now });
      const context = { digest, budget: this.budget, signal, evaluate };
      const attested = await checkAttestations(entry.attestations, found.value, context);
      if (!attested.ok) return attested;
      const denied = this.#deny(entry, attested.value.named, root);
      if (denied) return err(denied);
    }
    return ok({ digest });
  }

  /**
   * The entry's validate.deny, with the named attestations' predicates in its context (Kyverno 1.19): a failure
   * when it holds (or cannot be evaluated), else undefined.
   */
  #deny(
    entry: CompiledImageVerification,
    named: ReadonlyMap<string, unknown>,
    root: RuleRoot | undefined,
  ): VerifyFailure | undefined {
    if (!entry.validate) return undefined;
    const verdict = evaluateDeny(entry.validate, { ...root, ...Object.fromEntries(named) }, { now: this.#now });
    if (!verdict.ok) {
      return { reason: 'ConditionFailed', detail: `${verdict.error.field}: ${verdict.error.message}` };
    }
    return verdict.value.deny
      ? { reason: 'ConditionFailed', detail: `validation in verifyImages failed: ${verdict.value.message}` }
      : undefined;
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

  /**
   * The digest of the image, once per admission. An entry with allowInsecureRegistry has its own: a digest read
   * without certificate checks must never answer an entry that asked for them.
   */
  #resolve(ref: ImageRef, insecure: boolean): Promise<Result<ResolvedImage, VerifyFailure>> {
    const key = `${insecure ? 'insecure ' : ''}${toKyvernoString(ref)}`;
    let found = this.#resolved.get(key);
    if (!found) {
      found = resolveImage(ref, {
        registry: this.#deps.registry,
        signal: this.#input.signal,
        ...(this.#deps.credentials ? { credentials: this.#deps.credentials } : {}),
        insecure,
      });
      this.#resolved.set(key, found);
    }
    return found;
  }
}
