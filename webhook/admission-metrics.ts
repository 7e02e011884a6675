// What the webhook tells the process's metrics, as plain callbacks (cmd/main.ts hands it pkg/metrics' Metrics):
// each admission answered, with its decision and how long it took, and each image verified (verify-images.ts).
import type { VerifyReason } from '../pkg/conditions/index.js';
import type { AdmissionRequest } from './admission-review.js';
import type { AdmissionResponse } from './responses.js';

export interface AdmissionMetrics {
  observeAdmission(admission: {
    readonly webhook: 'mutate' | 'validate';
    readonly kind: string;
    readonly operation: AdmissionRequest['operation'];
    readonly allowed: boolean;
    readonly patched: boolean;
    readonly durationSeconds: number;
  }): void;
  /** One image verified against one entry (a result cache hit is none); `reason` absent for a pass. */
  observeVerification(verification: { readonly reason?: VerifyReason; readonly durationSeconds: number }): void;
}

type Decide = (
  request: AdmissionRequest,
  failurePolicy?: 'Fail' | 'Ignore',
) => AdmissionResponse | Promise<AdmissionResponse>;

/**
 * `decide`, with each answer it gives counted and timed. An exception is not counted: the server answers it with a
 * 500, and the API server applies the webhook's failure policy.
 */
export function observeAdmissions(
  webhook: 'mutate' | 'validate',
  decide: Decide,
  metrics: Pick<AdmissionMetrics, 'observeAdmission'>,
  now: () => number,
): Decide {
  return async (request, failurePolicy) => {
    const started = now();
    const response = await decide(request, failurePolicy);
    try {
      metrics.observeAdmission({
        webhook,
        kind: request.kind.kind,
        operation: request.operation,
        allowed: response.allowed,
        patched: response.patch !== undefined,
        durationSeconds: Math.max(0, now() - started) / 1000,
      });
    } catch {
      // Counting is no reason to fail an admission.
    }
    return response;
  };
}
