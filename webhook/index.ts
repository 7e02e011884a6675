// The admission webhook: an HTTPS server whose /mutate route reads compiled policies from the rule cache.
import type { Logger } from '../pkg/log/index.js';
import type { RuleCache } from '../pkg/policy/index.js';
import { handleMutate } from './mutate.js';
import type { VerifyImagesDeps } from './verify-images.js';
import type { ViolationEvent } from './violation-events.js';
import { startWebhookServer, type RunningServer, type TlsMaterial } from './server.js';

export { decodeAdmissionReview, type AdmissionRequest, type AdmissionReview } from './admission-review.js';
export { allowed, denied, patched, toReview, type AdmissionResponse, type JsonPatchOperation } from './responses.js';
export { handleMutate, type MutateDeps } from './mutate.js';
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
  return startWebhookServer({
    tls: options.tls,
    host: options.host,
    port: options.port,
    log,
    isReady: () => options.cache.isWarm,
    mutate: (request, failurePolicy) =>
      handleMutate(request, {
        ...options.verification,
        policies: () =>
          failurePolicy === undefined
            ? options.cache.policies()
            : options.cache.policies().filter((p) => p.failurePolicy === failurePolicy),
        log,
        now: () => performance.now(),
        ...(options.recordEvent ? { recordEvent: options.recordEvent } : {}),
      }),
  });
}
