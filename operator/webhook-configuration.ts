// desiredWebhookConfiguration: the MutatingWebhookConfiguration that routes admissions to our webhook, computed
// from the compiled policies. Pure. Like Kyverno, the failure policy and timeout follow the policies: Fail if any
// policy says Fail, and the longest timeout any policy asks for.
import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { DEFAULT_TIMEOUT_SECONDS, type CompiledPolicy } from '../pkg/policy/index.js';

export const WEBHOOK_CONFIGURATION_NAME = 'imprimatur-resource-mutating-webhook-cfg';
export const MUTATING_WEBHOOK_NAME = 'mutate.imprimatur.io';
export const MUTATE_PATH = '/mutate';

/** Where the API server reaches the webhook: a URL (local mode) or an in-cluster Service. */
export type WebhookEndpoint =
  | { readonly $case: 'url'; readonly url: string; readonly caBundle: string }
  | {
      readonly $case: 'service';
      readonly namespace: string;
      readonly name: string;
      readonly port: number;
      readonly caBundle: string;
    };

export interface WebhookConfigurationInput {
  readonly endpoint: WebhookEndpoint;
  readonly policies: readonly CompiledPolicy[];
  /** Namespaces never sent to the webhook, e.g. kube-system and the operator's own. */
  readonly excludedNamespaces: readonly string[];
}

export function desiredWebhookConfiguration(input: WebhookConfigurationInput): V1MutatingWebhookConfiguration {
  const { endpoint, policies } = input;
  const failurePolicy = policies.some((p) => p.failurePolicy === 'Fail') ? 'Fail' : 'Ignore';
  const timeoutSeconds = Math.min(30, Math.max(DEFAULT_TIMEOUT_SECONDS, ...policies.map((p) => p.timeoutSeconds)));
  const caBundle = Buffer.from(endpoint.caBundle).toString('base64');
  const clientConfig =
    endpoint.$case === 'url'
      ? { url: `${endpoint.url.replace(/\/$/, '')}${MUTATE_PATH}`, caBundle }
      : {
          service: { namespace: endpoint.namespace, name: endpoint.name, port: endpoint.port, path: MUTATE_PATH },
          caBundle,
        };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      name: WEBHOOK_CONFIGURATION_NAME,
      labels: { 'app.kubernetes.io/managed-by': 'imprimatur', 'app.kubernetes.io/part-of': 'imprimatur' },
    },
    webhooks: [
      {
        name: MUTATING_WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        clientConfig,
        failurePolicy,
        matchPolicy: 'Equivalent',
        reinvocationPolicy: 'IfNeeded',
        sideEffects: 'None',
        timeoutSeconds,
        namespaceSelector: {
          matchExpressions: [
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...input.excludedNamespaces] },
          ],
        },
        rules: toWebhookRules(policies),
      },
    ],
  };
}

/** The API resources of the kinds whose images the webhook reads: Pods and the controllers that autogen covers. */
const RESOURCES: Readonly<Record<string, { group: string; version: string; resource: string }>> = {
  Pod: { group: '', version: 'v1', resource: 'pods' },
  ReplicationController: { group: '', version: 'v1', resource: 'replicationcontrollers' },
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  DaemonSet: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  StatefulSet: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  ReplicaSet: { group: 'apps', version: 'v1', resource: 'replicasets' },
  Job: { group: 'batch', version: 'v1', resource: 'jobs' },
  CronJob: { group: 'batch', version: 'v1', resource: 'cronjobs' },
};

/**
 * One webhook rule per API group for the kinds the policies match, Pods always (the seed's policies are about Pods,
 * and an empty rule list would be refused).
 */
function toWebhookRules(policies: readonly CompiledPolicy[]) {
  const kinds = new Set(['Pod', ...policies.flatMap((p) => p.rules.flatMap((r) => [...r.kinds]))]);
  const byGroup = new Map<string, string[]>();
  for (const [kind, { group, resource }] of Object.entries(RESOURCES)) {
    if (kinds.has(kind)) byGroup.set(group, [...(byGroup.get(group) ?? []), resource]);
  }
  return [...byGroup].map(([group, resources]) => ({
    apiGroups: [group],
    apiVersions: ['v1'],
    operations: ['CREATE', 'UPDATE'],
    resources,
    scope: '*',
  }));
}
