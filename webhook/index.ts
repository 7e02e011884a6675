// The admission webhook: an HTTPS server whose /mutate and /validate routes read the rule cache's compiled policies.
import type { Logger } from '../pkg/log/index.js';
import { observeAdmissions, type AdmissionMetrics } from './admission-metrics.js';
import type { CompiledPolicy, FailurePolicy, RuleCache } from '../pkg/policy/index.js';
import { VALIDATED_IMAGES_ANNOTATIONS } from '../pkg/validated-images/index.js';
import { handleMutate } from './mutate.js';
import { handleValidate } from './validate.js';
import type { VerifyImagesDeps } from './verify-images.js';
import type { ViolationEvent } from './violation-events.js';
import { startWebhookServer, type RunningServer, type TlsMaterial, type WebhookServerOptions } from './server.js';

export { decodeAdmissionReview, type AdmissionRequest, type AdmissionReview } from './admission-review.js';
export { allowed, denied, patched, toReview, type AdmissionResponse, type JsonPatchOperation } from './responses.js';
export { handleMutate, type MutateDeps } from './mutate.js';
export { handleValidate, hasImageChecks, type ValidateDeps } from './validate.js';
export type { PassCache, VerifyImagesDeps } from './verify-images.js';
export type { ViolationEvent } from './violation-events.js';
export { PullSecretStore, type PullSecretStoreDeps } from './kube/pull-secrets.js';
export { NamespaceLabels, type NamespaceLabelsDeps } from './kube/namespace-labels.js';
export { ConfigMapStore, type ConfigMapStoreDeps, type ContextConfigMap } from './kube/config-maps.js';
export { KeySecretStore, type KeySecretStoreDeps } from './kube/key-secrets.js';
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
export { warmUpAdmission, WARM_UP_ROUNDS, type WarmUpResult } from './warm-up.js';
export { observeAdmissions, type AdmissionMetrics } from './admission-metrics.js';

export interface WebhookOptions {
  readonly cache: RuleCache;
  /** The serving certificate; without it no TLS handshake succeeds until RunningServer.setTls gives one. */
  readonly tls?: TlsMaterial;
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  /** The registry client, the result cache and the work limits that verification uses. */
  readonly verification: VerifyImagesDeps;
  /** Where PolicyViolation Events go (the operator's recorder). */
  readonly recordEvent?: (event: ViolationEvent) => void;
  /** Counts and times admissions and image verifications (the process's Prometheus metrics). */
  readonly metrics?: AdmissionMetrics;
  /** /readyz; the rule cache being warm when not given (main adds: not stopping). */
  readonly isReady?: () => boolean;
  /** close(): how long in-flight admissions may run (DEFAULT_TIMEOUTS.closeGraceMs when not given). */
  readonly closeGraceMs?: number;
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
  const { metrics } = options;
  const verification = metrics
    ? { ...options.verification, observeVerification: metrics.observeVerification.bind(metrics) }
    : options.verification;
  const observed = (webhook: 'mutate' | 'validate', decide: WebhookServerOptions['mutate']) =>
    metrics ? observeAdmissions(webhook, decide, metrics, now) : decide;
  return startWebhookServer({
    ...(options.tls ? { tls: options.tls } : {}),
    host: options.host,
    port: options.port,
    log,
    isReady: options.isReady ?? (() => options.cache.isWarm),
    ...(options.closeGraceMs !== undefined ? { timeouts: { closeGraceMs: options.closeGraceMs } } : {}),
    mutate: observed('mutate', (request, failurePolicy) =>
      handleMutate(request, {
        ...verification,
        policies: policiesFor(failurePolicy),
        log,
        now,
        ...recordEvent,
        // The API server calls the Fail webhook first (operator/webhook-configuration.ts): the Ignore one keeps
        // what it recorded in the annotation.
        keepOtherPoliciesVerifications: failurePolicy === 'Ignore',
        ...(failurePolicy ? { validatedImagesAnnotation: VALIDATED_IMAGES_ANNOTATIONS[failurePolicy] } : {}),
      }),
    ),
    validate: observed('validate', (request, failurePolicy) =>
      handleValidate(request, {
        ...(options.verification.namespaceLabels ? { namespaceLabels: options.verification.namespaceLabels } : {}),
        ...(options.verification.userRoles ? { userRoles: options.verification.userRoles } : {}),
        policies: policiesFor(failurePolicy),
        log,
        now,
        ...recordEvent,
      }),
    ),
  });
}
