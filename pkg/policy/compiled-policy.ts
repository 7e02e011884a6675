// The internal form of a policy: what the webhook reads. Everything that can be decided ahead of an admission
// request is decided here: legacy fields converted, defaults applied, keys parsed, patterns compiled.
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { PolicyKind, RuleType } from '../api/v1/index.js';
import type {
  CompiledConditions,
  CompiledDeny,
  PolicyReason,
  TextTemplate,
  ValueSubstitution,
} from '../conditions/index.js';
import type { Result } from '../result/index.js';
import type { ImageRef, ImagePattern, ImageReferencePattern } from '../imageref/index.js';
import type { Authorities } from '../trust/index.js';
import type { CompiledImageExtractors } from './image-extractors.js';
import type { CompiledResourceFilter } from './resource-filter.js';
import type { CompiledContextEntry } from './rule-context.js';
import type { CompiledLabelSelector } from './resource-filter-labels.js';

export type FailureAction = 'Audit' | 'Enforce';
export type FailurePolicy = 'Fail' | 'Ignore';

/** Identifies a policy object; `key` is how the rule cache and the work queue name it. */
export interface PolicyRef {
  readonly kind: PolicyKind;
  /** Empty for a ClusterPolicy. */
  readonly namespace: string;
  readonly name: string;
}

export function toPolicyKey(ref: PolicyRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

export interface RuleCount {
  readonly validate: number;
  readonly mutate: number;
  readonly generate: number;
  readonly verifyimages: number;
}

/**
 * What a signature must be checked against besides its key or certificate: the transparency log, CT logs, certificate
 * authorities and timestamp authorities, from the operator's trust root and the attestor's rekor/ctlog/roots fields.
 */
export interface AttestorTrust {
  /** The signature must be in a transparency log whose key is trusted (Kyverno: unless rekor.ignoreTlog). */
  readonly requireTlog: boolean;
  /** A certificate must carry a signed certificate timestamp from a trusted CT log (unless ctlog.ignoreSCT). */
  readonly requireSct: boolean;
  readonly authorities: Authorities;
}

/** Where signatures come from: a static public key, parsed once. */
export interface KeyAttestor {
  readonly $case: 'key';
  /** The user's field, e.g. spec.rules[0].verifyImages[0].key, for messages. */
  readonly field: string;
  /** What verified matches call the attestor; its field when unset (see compileAttestorSet's labels). */
  readonly label?: string;
  /** Position of the key in its publicKeys text, which may hold several PEM blocks. */
  readonly keyIndex: number;
  readonly key: KeyObject;
  readonly trust: AttestorTrust;
  readonly annotations: Readonly<Record<string, string>>;
  readonly repository?: string;
  readonly signatureAlgorithm: string;
}

/**
 * An attestor whose keys, certificates or identities come from variables ("{{ keys.data.prod }}") or Secrets
 * (k8s://ns/name, keys.secret): filled at each admission from the rule's context and the Secrets informer
 * (resolve-attestors.ts), then compiled as a static attestor, once per distinct filled content.
 */
export interface DeferredAttestor {
  readonly $case: 'deferred';
  readonly field: string;
  /** What verified matches call the attestor; its field when unset (see compileAttestorSet's labels). */
  readonly label?: string;
  /** The attestor as written, every string compiled as a template. */
  readonly source: ValueSubstitution;
  /** Compiles a filled attestor, as it would have compiled had the policy written it so. */
  readonly compile: (filled: unknown) => Result<CompiledAttestor[], CompileError[]>;
  /** Filled contents compiled so far, by the SHA-256 of their JSON; bounded (resolve-attestors.ts). */
  readonly memo: Map<string, Result<CompiledAttestor[], CompileError[]>>;
}

export interface CertificateAttestor {
  readonly $case: 'certificate';
  readonly field: string;
  /** What verified matches call the attestor; its field when unset (see compileAttestorSet's labels). */
  readonly label?: string;
  /** The signing certificate the signature must carry, or whose key made it. */
  readonly cert?: X509Certificate;
  /** The chain the signature's certificate must lead to; also in trust.authorities. */
  readonly chain: readonly X509Certificate[];
  readonly trust: AttestorTrust;
  readonly annotations: Readonly<Record<string, string>>;
  readonly repository?: string;
}

export interface KeylessAttestor {
  readonly $case: 'keyless';
  readonly field: string;
  /** What verified matches call the attestor; its field when unset (see compileAttestorSet's labels). */
  readonly label?: string;
  readonly issuer?: ImagePattern;
  readonly issuerRegExp?: RegExp;
  readonly subject?: ImagePattern;
  readonly subjectRegExp?: RegExp;
  /** additionalExtensions as written: keyed by cosign's extension names or their OIDs, checked at compile time. */
  readonly extensions: Readonly<Record<string, string>>;
  readonly trust: AttestorTrust;
  readonly annotations: Readonly<Record<string, string>>;
  readonly repository?: string;
}

export interface NestedAttestor {
  readonly $case: 'nested';
  readonly field: string;
  readonly set: CompiledAttestorSet;
}

export type CompiledAttestor = KeyAttestor | DeferredAttestor | CertificateAttestor | KeylessAttestor | NestedAttestor;

export interface CompiledAttestorSet {
  readonly field: string;
  /** How many entries must verify. */
  readonly count: number;
  /**
   * The policy gave no count: every entry must verify, however many a deferred entry's filled keys make (count is
   * then recounted at admission, resolve-attestors.ts).
   */
  readonly countsAll?: boolean;
  readonly entries: readonly CompiledAttestor[];
}

export interface CompiledAttestation {
  readonly field: string;
  readonly name?: string;
  readonly predicateType: string;
  readonly attestors: readonly CompiledAttestorSet[];
  /** The conditions every verified statement's predicate must satisfy, compiled (pkg/conditions). */
  readonly conditions: CompiledConditions;
}

export interface CompiledImageVerification {
  readonly field: string;
  readonly type: 'Cosign' | 'SigstoreBundle' | 'Notary';
  /** Which images the rule verifies: `matches(ref)` for every spelling of the image (pkg/imageref). */
  readonly imageReferences: readonly ImageReferencePattern[];
  /** Which images it leaves alone: `matchesPulledImage(ref)`, so that a tag beside a digest cannot buy a skip. */
  readonly skipImageReferences: readonly ImageReferencePattern[];
  readonly attestors: readonly CompiledAttestorSet[];
  readonly attestations: readonly CompiledAttestation[];
  /**
   * validate.deny across the named attestations, evaluated once they all verified (Kyverno 1.19); absent when the
   * entry has no deny conditions.
   */
  readonly validate?: CompiledDeny;
  /** Where the entry's signatures are stored, when not beside the image (cosign's COSIGN_REPOSITORY), parsed. */
  readonly repository?: ImageRef;
  /** The same, when it holds variables: filled and parsed at each admission (resolve-attestors.ts fillEntry). */
  readonly repositoryTemplate?: TextTemplate;
  /** The entry's own failureAction, else the policy's validationFailureAction. */
  readonly failureAction: FailureAction;
  /**
   * Whether the entry set failureAction itself: Kyverno then ignores validationFailureActionOverrides for the rule
   * (kyverno-verifyimages.md §4.1).
   */
  readonly failureActionIsOwn: boolean;
  /** imageRegistryCredentials.secrets: `name` (in the operator's namespace) or `namespace/name`. */
  readonly registrySecrets: readonly string[];
  /**
   * imageRegistryCredentials.allowInsecureRegistry: the entry's registries are read without certificate checks,
   * and over plain HTTP when they do not speak HTTPS (the registry client's CallOptions.insecure).
   */
  readonly allowInsecureRegistry: boolean;
  readonly mutateDigest: boolean;
  readonly verifyDigest: boolean;
  readonly required: boolean;
  readonly useCache: boolean;
}

export interface CompiledRule {
  readonly name: string;
  /** Kinds named by match, without group and version (apps/v1/Deployment -> Deployment), for a lookup per admission. */
  readonly kinds: ReadonlySet<string>;
  readonly verifyImages: readonly CompiledImageVerification[];
  /** The rule's context entries, compiled; loaded at admission, in order, for the rule's variables. */
  readonly context?: readonly CompiledContextEntry[];
  /**
   * Whether an admission must load a context or fill attestors for the rule (a context, or an entry with
   * variables or Secret keys): decided here, once, rather than per admission.
   */
  readonly fills?: boolean;
  /**
   * The rule's match and exclude, compiled (resource-filter.ts); absent only in a rule that did not compile, which
   * never reaches the cache.
   */
  readonly filter?: CompiledResourceFilter;
  /** The rule's imageExtractors, compiled: where images are in kinds other than Pods and their controllers. */
  readonly imageExtractors?: CompiledImageExtractors;
}

export interface CompiledPolicy {
  readonly key: string;
  readonly ref: PolicyRef;
  readonly uid: string;
  readonly generation: number;
  readonly resourceVersion: string;
  readonly failurePolicy: FailurePolicy;
  readonly timeoutSeconds: number;
  /** The policy's own rules, then the autogen rules for Pod controllers. */
  readonly rules: readonly CompiledRule[];
  readonly ruleCount: RuleCount;
  /** The generated rules in the user's form, for status.autogen.rules. */
  readonly autogenRules: readonly RuleType[];
  /** Rules of other types that the policy carries and this operator does not enforce, e.g. 'validate rule "x"'. */
  readonly unenforcedRules: readonly string[];
  /** spec.validationFailureActionOverrides: the failure action for some namespaces. */
  readonly failureActionOverrides: readonly FailureActionOverride[];
  /**
   * What the compiled form was made from: uid, generation and the autogen annotation (an annotation edit does not
   * move the generation). The cache is replaced when it changes.
   */
  readonly revision: string;
}

export interface FailureActionOverride {
  readonly action: FailureAction;
  /** Namespace patterns, with Kyverno's wildcards. */
  readonly namespaces: readonly ImagePattern[];
  /** Namespaces by label, compiled; an override with both applies where both hold. */
  readonly namespaceSelector?: CompiledLabelSelector;
}

/** Why a policy does not compile, with the field a person has to fix. */
export interface CompileError {
  readonly reason: Exclude<PolicyReason, 'Succeeded'>;
  readonly field: string;
  readonly message: string;
}
