// The admission webhook: an HTTPS server whose /mutate and /validate routes read the rule cache's compiled policies.
import type { Logger } from '../pkg/log/index.js';
import type { CompiledPolicy, FailurePolicy, RuleCache } from '../pkg/policy/index.js';
import { handleMutate } from './mutate.js';
import { handleValidate } from './validate.js';
import type { VerifyImagesDeps } from './verify-images.js';
import type { ViolationEvent } from './violation-events.js';
import { startWebhookServer, type RunningServer, type TlsMaterial } from './server.js';

export { decodeAdmissionReview, type AdmissionRequest, type AdmissionReview } from './admission-review.js';
export { allowed, denied, patched, toReview, type AdmissionResponse, type JsonPatchOperation } from './responses.js';
export { handleMutate, type MutateDeps } from './mutate.js';
export { handleValidate, hasImageChecks, type ValidateDeps } from './validate.js';
export type { PassCache, VerifyImagesDeps } from './verify-images.js';
export type { ViolationEvent } from './violation-events.js';
export { PullSecretStore, type PullSecretStoreDeps } from './kube/pull-secrets.js';
export { NamespaceLabels, type NamespaceLabelsDeps } from './kube/namespace-labels.js';
export { RoleBindings, type RoleBindingsDeps } from './kube/role-bindings.js';
export { toUserRoles } from './user-roles.js';
export { toAdmissionCredentials, type PullSecretLookup } from './registry-credentials.js';
export {
  MAX_BODY_BYTES,
  startWebhookServer,
  type RunningServer,
  type TlsMaterial,
  type WebhookServerOptions,
} from './server.js';
export { serveHealth, type HealthDeps } from './health.js';

export interface WebhookOptions {
  readonly cache: RuleCache;
  readonly tls: TlsMaterial;
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  /** The registry client, the result cache and the work limits that verification uses. */
  readonly verification: VerifyImagesDeps;
  /** Where PolicyViolation Events go (the operator's recorder). */
  readonly recordEvent?: (event: ViolationEvent) => void;
}

export function startWebhook(options: WebhookOptions): Promise<RunningServer> {
  const log = options.log.child({ component: 'webhook' });
  // Each webhook the operator registers answers for the policies of its failure policy only; the bare paths for all.
  const policiesFor = (failurePolicy: FailurePolicy | undefined) => (): readonly CompiledPolicy[] =>
    failurePolicy === undefined
      ? options.cache.policies()
      : options.cache.policies().filter((p) => p.failurePolicy === failurePolicy);
  const recordEvent = options.recordEvent ? { recordEvent: options.recordEvent } : {};
  const now = () => performance.now();
  return startWebhookServer({
    tls: options.tls,
    host: options.host,
    port: options.port,
    log,
    isReady: () => options.cache.isWarm,
    mutate: (request, failurePolicy) =>
      handleMutate(request, {
        ...options.verification,
        policies: policiesFor(failurePolicy),
        log,
        now,
        ...recordEvent,
        // The API server calls the Fail webhook first (operator/webhook-configuration.ts): the Ignore one keeps
        // what it recorded in the annotation.
        keepOtherPoliciesVerifications: failurePolicy === 'Ignore',
      }),
    validate: (request, failurePolicy) =>
      handleValidate(request, {
        ...(options.verification.namespaceLabels ? { namespaceLabels: options.verification.namespaceLabels } : {}),
        ...(options.verification.userRoles ? { userRoles: options.verification.userRoles } : {}),
        policies: policiesFor(failurePolicy),
        log,
        now,
        ...recordEvent,
      }),
  });
}
