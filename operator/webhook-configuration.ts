// desiredWebhookConfiguration: the MutatingWebhookConfiguration that routes admissions to our webhook, computed
// from the compiled policies, and desiredValidatingWebhookConfiguration: the ValidatingWebhookConfiguration beside
// it, for verifyDigest and required. Pure. As Kyverno does (kyverno-verifyimages.md §5), the policies are split by
// their failurePolicy: those that say Fail go to a webhook that fails closed, at /mutate/fail (/validate/fail), those
// that say Ignore to one that fails open, at /mutate/ignore (/validate/ignore); a webhook no policy needs is left out.
// Each asks the API server for exactly the kinds its policies' verifyImages rules match, and waits as long as the
// slowest of its policies asks.
//
// The validating configuration holds the policies with a rule whose entries check something there (verifyDigest or
// required, both true by default: Kyverno's HasVerifyImageChecks), with the kinds of those rules, the same selectors
// and failure policies, and timeouts taken the same way from its own policies; it exists only while some policy
// needs it. Each of its webhooks is called only when the object's images are not those the mutating webhook recorded
// as passing its checks (a matchCondition, pkg/validated-images), unless a policy reads images with imageExtractors. Unlike Kyverno, which asks for CREATE, UPDATE, DELETE and CONNECT there (its validating webhook serves
// validate rules too), it asks for CREATE and UPDATE only: the checks skip the others, and a webhook that fails
// closed on DELETE would keep Pods from being deleted while it is down.
//
// What is never sent to the webhook, so that a webhook that fails closed cannot lock the cluster or itself out
// (security-and-performance.md §6.4 item 5): kube-system, the operator's own namespace and --excluded-namespaces,
// by the immutable kubernetes.io/metadata.name label; and leases, events, endpoints, nodes, the admission and
// authorization APIs and the policies themselves, whatever a policy names.
//
// The same policies give a deep-equal configuration whatever their order, so that applying it again changes nothing.
import type {
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1RuleWithOperations,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { compileImagePattern } from '../pkg/imageref/index.js';
import { toValidationNeededCondition, VALIDATED_IMAGES_ANNOTATIONS } from '../pkg/validated-images/index.js';
import {
  DEFAULT_TIMEOUT_SECONDS,
  type CompiledPolicy,
  type CompiledRule,
  type FailurePolicy,
} from '../pkg/policy/index.js';

export const WEBHOOK_CONFIGURATION_NAME = 'imprimatur-resource-mutating-webhook-cfg';
/** The prefix of the webhooks' names, as Kyverno's `mutate.kyverno.svc`. */
export const MUTATING_WEBHOOK_NAME = 'mutate.imprimatur.io';
/** The prefix of the webhooks' paths. */
export const MUTATE_PATH = '/mutate';
export const MUTATE_FAIL_PATH = `${MUTATE_PATH}/fail`;
export const MUTATE_IGNORE_PATH = `${MUTATE_PATH}/ignore`;

/** The webhook that serves the policies of each failurePolicy: its name and the path it is sent to. */
export const MUTATING_WEBHOOKS: Readonly<Record<FailurePolicy, { readonly name: string; readonly path: string }>> = {
  Fail: { name: `${MUTATING_WEBHOOK_NAME}-fail`, path: MUTATE_FAIL_PATH },
  Ignore: { name: `${MUTATING_WEBHOOK_NAME}-ignore`, path: MUTATE_IGNORE_PATH },
};

export const VALIDATING_WEBHOOK_CONFIGURATION_NAME = 'imprimatur-resource-validating-webhook-cfg';
/** The prefix of the validating webhooks' names, as Kyverno's `validate.kyverno.svc`. */
export const VALIDATING_WEBHOOK_NAME = 'validate.imprimatur.io';
export const VALIDATE_PATH = '/validate';

/** The validating webhook that serves the policies of each failurePolicy: its name and its path. */
export const VALIDATING_WEBHOOKS: Readonly<Record<FailurePolicy, { readonly name: string; readonly path: string }>> = {
  Fail: { name: `${VALIDATING_WEBHOOK_NAME}-fail`, path: `${VALIDATE_PATH}/fail` },
  Ignore: { name: `${VALIDATING_WEBHOOK_NAME}-ignore`, path: `${VALIDATE_PATH}/ignore` },
};

/** Namespaces left out whatever --excluded-namespaces says, besides the operator's own. */
export const ALWAYS_EXCLUDED_NAMESPACES: readonly string[] = ['kube-system'];

/** The namespace label the API server sets to the namespace's name, which nobody can change. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Where the API server reaches the webhook: a URL (local mode) or an in-cluster Service. */
export type WebhookTarget =
  | { readonly $case: 'url'; readonly url: string }
  | { readonly $case: 'service'; readonly namespace: string; readonly name: string; readonly port: number };

/** A target and the CAs (PEM) the API server trusts the webhook's serving certificate by. */
export type WebhookEndpoint = WebhookTarget & { readonly caBundle: string };

export interface WebhookConfigurationInput {
  readonly endpoint: WebhookEndpoint;
  readonly policies: readonly CompiledPolicy[];
  /**
   * The namespace the operator and the webhook run in. Never sent to the webhook: a webhook that fails closed would
   * otherwise refuse its own pods when none is running.
   */
  readonly operatorNamespace: string;
  /** --excluded-namespaces. kube-system and operatorNamespace are left out whether listed or not. */
  readonly excludedNamespaces: readonly string[];
}

const LABELS = { 'app.kubernetes.io/managed-by': 'imprimatur', 'app.kubernetes.io/part-of': 'imprimatur' };

export function desiredWebhookConfiguration(input: WebhookConfigurationInput): V1MutatingWebhookConfiguration {
  const webhooks = toWebhooks(input, hasVerifyImages, MUTATING_WEBHOOKS).map((webhook): V1MutatingWebhook => ({
    ...webhook,
    reinvocationPolicy: 'IfNeeded',
  }));
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: WEBHOOK_CONFIGURATION_NAME, labels: { ...LABELS } },
    webhooks,
  };
}

/**
 * The ValidatingWebhookConfiguration for verifyDigest and required, or undefined when no policy has a rule that
 * checks either (or none names a kind that may be intercepted): it is then to be deleted.
 */
export function desiredValidatingWebhookConfiguration(
  input: WebhookConfigurationInput,
): V1ValidatingWebhookConfiguration | undefined {
  const webhooks = toWebhooks(input, hasImageChecks, VALIDATING_WEBHOOKS).map((webhook) =>
    readsOnlyPodSpecs(input.policies, webhook.failurePolicy as FailurePolicy)
      ? {
          ...webhook,
          matchConditions: [
            toValidationNeededCondition(VALIDATED_IMAGES_ANNOTATIONS[webhook.failurePolicy as FailurePolicy]),
          ],
        }
      : webhook,
  );
  if (webhooks.length === 0) return undefined;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: VALIDATING_WEBHOOK_CONFIGURATION_NAME, labels: { ...LABELS } },
    webhooks,
  };
}

/**
 * Whether the validating webhook of a failure policy may be skipped for an object whose images the mutating webhook
 * recorded (pkg/validated-images): only when none of its policies reads images with imageExtractors, as the record
 * holds the Pod spec's images alone.
 */
function readsOnlyPodSpecs(policies: readonly CompiledPolicy[], failurePolicy: FailurePolicy): boolean {
  return policies
    .filter((p) => p.failurePolicy === failurePolicy)
    .every((p) => p.rules.every((r) => r.imageExtractors === undefined));
}

function hasVerifyImages(rule: CompiledRule): boolean {
  return rule.verifyImages.length > 0;
}

/** Kyverno's HasVerifyImageChecks: a rule the validating webhook checks (as webhook/validate.ts hasImageChecks). */
function hasImageChecks(rule: CompiledRule): boolean {
  return rule.verifyImages.some((e) => e.verifyDigest || e.required);
}

/**
 * One webhook per failure policy that some selected rule needs, Ignore first, then Fail, in Kyverno's order, named
 * and sent where `named` says: the kinds of the selected rules of that failure policy's policies, and the longest
 * timeout among those policies. The fields a mutating and a validating webhook share.
 */
function toWebhooks(
  input: WebhookConfigurationInput,
  selected: (rule: CompiledRule) => boolean,
  named: Readonly<Record<FailurePolicy, { readonly name: string; readonly path: string }>>,
): V1ValidatingWebhook[] {
  const enforced = input.policies.filter((p) => p.rules.some(selected));
  const excluded = [
    ...new Set([...ALWAYS_EXCLUDED_NAMESPACES, input.operatorNamespace, ...input.excludedNamespaces]),
  ].filter((ns) => ns !== '');
  // Fail first: the API server calls a configuration's webhooks in order, and the Ignore webhook keeps the entries the
  // Fail one wrote into the verify-images annotation, which only the first may drop (webhook/mutate.ts).
  return (['Fail', 'Ignore'] as const).flatMap((failurePolicy) => {
    const policies = enforced.filter((p) => p.failurePolicy === failurePolicy);
    const rules = toWebhookRules(policies, selected);
    if (rules.length === 0) return [];
    return [toWebhook(input.endpoint, named[failurePolicy], failurePolicy, policies, rules, excluded)];
  });
}

function toWebhook(
  endpoint: WebhookEndpoint,
  { name, path }: { readonly name: string; readonly path: string },
  failurePolicy: FailurePolicy,
  policies: readonly CompiledPolicy[],
  rules: V1RuleWithOperations[],
  excludedNamespaces: readonly string[],
): V1ValidatingWebhook {
  // Kyverno's capTimeout: the --webhookTimeout default (10) is the least, 30 (the API server's limit) the most.
  const timeoutSeconds = Math.min(30, Math.max(DEFAULT_TIMEOUT_SECONDS, ...policies.map((p) => p.timeoutSeconds)));
  const caBundle = Buffer.from(endpoint.caBundle).toString('base64');
  const clientConfig =
    endpoint.$case === 'url'
      ? { url: `${endpoint.url.replace(/\/$/, '')}${path}`, caBundle }
      : { service: { namespace: endpoint.namespace, name: endpoint.name, port: endpoint.port, path }, caBundle };
  return {
    name,
    admissionReviewVersions: ['v1'],
    clientConfig,
    failurePolicy,
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    timeoutSeconds,
    namespaceSelector: {
      matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'NotIn', values: [...excludedNamespaces] }],
    },
    rules,
  };
}

interface ApiResource {
  readonly group: string;
  readonly version: string;
  /** The resource and the subresources whose admissions carry its images. */
  readonly resources: readonly string[];
}

/**
 * The kinds whose images the webhook reads without imageExtractors: Pods (and pods/ephemeralcontainers, which
 * `kubectl debug` writes, as Kyverno registers them) and the controllers autogen covers. In this order in the rules.
 */
const KNOWN: ReadonlyMap<string, ApiResource> = new Map([
  ['Pod', { group: '', version: 'v1', resources: ['pods', 'pods/ephemeralcontainers'] }],
  ['ReplicationController', { group: '', version: 'v1', resources: ['replicationcontrollers'] }],
  ['Deployment', { group: 'apps', version: 'v1', resources: ['deployments'] }],
  ['DaemonSet', { group: 'apps', version: 'v1', resources: ['daemonsets'] }],
  ['StatefulSet', { group: 'apps', version: 'v1', resources: ['statefulsets'] }],
  ['ReplicaSet', { group: 'apps', version: 'v1', resources: ['replicasets'] }],
  ['Job', { group: 'batch', version: 'v1', resources: ['jobs'] }],
  ['CronJob', { group: 'batch', version: 'v1', resources: ['cronjobs'] }],
]);

/**
 * Kinds never intercepted, whatever a policy names: the API server's and controllers' own bookkeeping (a webhook
 * that fails closed on them stops leader election, node heartbeats or Service routing, its own included), the
 * admission and authorization APIs, and the policies, so that a policy can always be fixed. By kind and by resource,
 * as a kind that is not known here is routed by its guessed resource name in every API group.
 */
const NEVER: readonly (readonly [kind: string, resource: string])[] = [
  ['Lease', 'leases'],
  ['Event', 'events'],
  ['Endpoints', 'endpoints'],
  ['EndpointSlice', 'endpointslices'],
  ['Node', 'nodes'],
  ['MutatingWebhookConfiguration', 'mutatingwebhookconfigurations'],
  ['ValidatingWebhookConfiguration', 'validatingwebhookconfigurations'],
  ['MutatingAdmissionPolicy', 'mutatingadmissionpolicies'],
  ['MutatingAdmissionPolicyBinding', 'mutatingadmissionpolicybindings'],
  ['ValidatingAdmissionPolicy', 'validatingadmissionpolicies'],
  ['ValidatingAdmissionPolicyBinding', 'validatingadmissionpolicybindings'],
  ['TokenReview', 'tokenreviews'],
  ['SubjectAccessReview', 'subjectaccessreviews'],
  ['LocalSubjectAccessReview', 'localsubjectaccessreviews'],
  ['SelfSubjectAccessReview', 'selfsubjectaccessreviews'],
  ['SelfSubjectRulesReview', 'selfsubjectrulesreviews'],
  ['SelfSubjectReview', 'selfsubjectreviews'],
  ['CustomResourceDefinition', 'customresourcedefinitions'],
  ['APIService', 'apiservices'],
  ['ClusterPolicy', 'clusterpolicies'],
  ['Policy', 'policies'],
];
const NEVER_KINDS: ReadonlySet<string> = new Set(NEVER.map(([kind]) => kind));
const NEVER_RESOURCES: ReadonlySet<string> = new Set(NEVER.map(([, resource]) => resource));

/** A kind name that can be turned into a resource name: letters and digits, as Kubernetes kinds are written. */
const KIND_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

const OPERATIONS = ['CREATE', 'UPDATE'];

/**
 * The webhook rules for the kinds the policies' selected rules match (their own rules and the autogen ones): one
 * rule per API group of the known kinds, in the order above, then one rule in every group for the other kinds.
 * - A kind pattern (`*`, `?`) selects the known kinds it matches; Kyverno refuses `*` alone in a verifyImages rule.
 * - Another kind (one that imageExtractors read, e.g. Tekton's `Task`) has no discovery here to find its resource:
 *   it is routed by its guessed resource name (`tasks`, see guessResource) in every group and version, as the
 *   compiled kinds carry no group; the webhook then checks the rule's own match block, group included. A kind
 *   whose resource name is irregular is missed.
 */
function toWebhookRules(
  policies: readonly CompiledPolicy[],
  selected: (rule: CompiledRule) => boolean,
): V1RuleWithOperations[] {
  const kinds = new Set(
    policies.flatMap((p) => p.rules.filter(selected).flatMap((r) => [...(r.filter?.kinds() ?? r.kinds)])),
  );
  const known = new Set<string>();
  const guessed = new Set<string>();
  for (const kind of kinds) {
    if (kind.includes('*') || kind.includes('?')) {
      const pattern = compileImagePattern(kind);
      for (const k of KNOWN.keys()) if (pattern.matches(k)) known.add(k);
    } else if (KNOWN.has(kind)) {
      known.add(kind);
    } else if (KIND_NAME.test(kind) && !NEVER_KINDS.has(kind)) {
      const resource = guessResource(kind);
      if (!NEVER_RESOURCES.has(resource)) guessed.add(resource);
    }
  }
  const byGroup = new Map<string, { version: string; resources: string[] }>();
  for (const [kind, { group, version, resources }] of KNOWN) {
    if (!known.has(kind)) continue;
    const entry = byGroup.get(group) ?? { version, resources: [] };
    entry.resources.push(...resources);
    byGroup.set(group, entry);
  }
  const rules: V1RuleWithOperations[] = [...byGroup].map(([group, { version, resources }]) => ({
    apiGroups: [group],
    apiVersions: [version],
    operations: [...OPERATIONS],
    resources,
    scope: '*',
  }));
  if (guessed.size > 0) {
    rules.push({
      apiGroups: ['*'],
      apiVersions: ['*'],
      operations: [...OPERATIONS],
      resources: [...guessed].sort(),
      scope: '*',
    });
  }
  return rules;
}

/**
 * A kind's resource name as CRDs are named (kubebuilder pluralizes with flect): lower case and the regular English
 * plural, `-s`, `-x`, `-z`, `-ch`, `-sh` → `-es`, consonant `-y` → `-ies`, else `-s` (Gateway → gateways, Registry →
 * registries, Task → tasks). apimachinery's UnsafeGuessKindToResource would make `gatewaies`.
 */
function guessResource(kind: string): string {
  const singular = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(singular)) return `${singular}es`;
  if (/[^aeiou]y$/.test(singular)) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}
