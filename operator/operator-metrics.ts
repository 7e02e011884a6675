// What the operator tells the process's metrics, as plain callbacks (cmd/main.ts hands it pkg/metrics' Metrics):
// controller-runtime's reconcile, work-queue and leader-election figures, and each policy's Ready condition. Depths
// and leadership are read when Prometheus scrapes, not pushed.

export interface PolicyReadiness {
  readonly kind: string;
  readonly status: string;
  readonly reason: string;
}

export interface OperatorMetrics {
  /** Declares a controller, so that its counters read 0 before its first reconcile. */
  declareController(controller: string): void;
  observeReconcile(controller: string, result: 'success' | 'error', durationSeconds: number): void;
  watchQueue(name: string, depth: () => number): void;
  observeQueueAdd(name: string): void;
  watchLeader(name: string, isLeader: () => boolean): void;
  /** The Ready condition of the policy `key` as this replica computed it; undefined once the policy is gone. */
  setPolicyReadiness(key: string, readiness: PolicyReadiness | undefined): void;
}

/**
 * `handler`, each call counted and timed under the controller `controllerOf(key)` names, as controller-runtime's
 * reconcile metrics; a failure is counted, then thrown on for the queue to retry.
 */
export function observeReconciles(
  controllerOf: (key: string) => string,
  handler: (key: string) => Promise<void>,
  metrics: Pick<OperatorMetrics, 'observeReconcile'>,
  now: () => number,
): (key: string) => Promise<void> {
  return async (key) => {
    const started = now();
    const observe = (result: 'success' | 'error') => {
      try {
        metrics.observeReconcile(controllerOf(key), result, Math.max(0, now() - started) / 1000);
      } catch {
        // Counting is no reason to fail a reconcile.
      }
    };
    try {
      await handler(key);
    } catch (e) {
      observe('error');
      throw e;
    }
    observe('success');
  };
}
