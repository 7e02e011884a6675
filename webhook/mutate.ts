// The /mutate admission handler. For now it looks up the compiled policies that apply and admits; verification
// and digest pinning build on this path.
import type { Logger } from '../pkg/log/index.js';
import type { CompiledPolicy } from '../pkg/policy/index.js';
import type { AdmissionRequest } from './admission-review.js';
import { allowed, type AdmissionResponse } from './responses.js';

export interface MutateDeps {
  readonly policies: () => readonly CompiledPolicy[];
  readonly log: Logger;
}

export function handleMutate(request: AdmissionRequest, deps: MutateDeps): AdmissionResponse {
  const applicable = deps.policies().filter((p) => appliesTo(p, request));
  deps.log.info('admission', {
    uid: request.uid,
    kind: request.kind.kind,
    namespace: request.namespace,
    name: request.name,
    operation: request.operation,
    policies: applicable.map((p) => p.key),
    allowed: true,
  });
  return allowed(request.uid);
}

/** A namespaced Policy applies only in its own namespace; a ClusterPolicy everywhere. */
function appliesTo(policy: CompiledPolicy, request: AdmissionRequest): boolean {
  if (policy.ref.kind === 'Policy' && policy.ref.namespace !== request.namespace) return false;
  return policy.rules.some((r) => r.verifyImages.length > 0 && r.kinds.has(request.kind.kind));
}
