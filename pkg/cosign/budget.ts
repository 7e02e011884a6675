// What one verification may cost, in total: registry bytes and requests, signed artifacts read, and signature × key
// checks. Per-item caps (a 1 MiB payload, 1,000 layers) alone do not bound a verification: a registry serving
// 300 layers and 40 bundles at their caps cost 782 MiB, and 100 payloads of 1 MiB against 3 RSA keys blocked the
// event loop for seconds. The budget is created per verification (or shared by every image of one admission) and
// charged by each stage; what runs out stops the reading or the checking, and the caller reports LimitExceeded
// unless something already read verified.

export interface WorkLimits {
  /** Bytes read from registries: manifests, referrer indexes and blobs. */
  readonly bytes: number;
  /** Calls to the registry. */
  readonly requests: number;
  /** Signed artifacts kept: signature layers and bundles. */
  readonly artifacts: number;
  /** Signature × key or certificate checks. */
  readonly checks: number;
}

/**
 * Real signatures are small (a simple-signing payload is ~300 bytes, a bundle 5–15 KB) and few. These limits leave
 * two orders of magnitude of room for real images while keeping the worst a registry can make one verification
 * cost within tens of MiB and a few hundred milliseconds of CPU, handed out in slices between which other work runs.
 */
export const DEFAULT_WORK_LIMITS: WorkLimits = Object.freeze({
  bytes: 8 * 1024 * 1024,
  requests: 200,
  artifacts: 500,
  checks: 2000,
});

export type WorkKind = keyof WorkLimits;

export class WorkBudget {
  readonly limits: WorkLimits;
  readonly #used: Record<WorkKind, number> = { bytes: 0, requests: 0, artifacts: 0, checks: 0 };
  #exhausted: WorkKind | undefined;

  constructor(limits: Partial<WorkLimits> = {}) {
    this.limits = { ...DEFAULT_WORK_LIMITS, ...limits };
  }

  /** What is left of one kind of work. */
  left(kind: WorkKind): number {
    return Math.max(0, this.limits[kind] - this.#used[kind]);
  }

  used(kind: WorkKind): number {
    return this.#used[kind];
  }

  /** Takes `amount` of `kind`; false, and the kind remembered as exhausted, when that much was not left. */
  take(kind: WorkKind, amount = 1): boolean {
    if (this.left(kind) < amount) {
      this.#exhausted ??= kind;
      return false;
    }
    this.#used[kind] += amount;
    return true;
  }

  /** Records work already done (bytes a read returned), even past the limit. */
  charge(kind: WorkKind, amount: number): void {
    this.#used[kind] += amount;
    if (this.#used[kind] > this.limits[kind]) this.#exhausted ??= kind;
  }

  /** The first kind that ran out, if any did. */
  get exhausted(): WorkKind | undefined {
    return this.#exhausted;
  }

  /** "read 8388608 bytes (limit 8388608)", for messages. */
  describe(kind: WorkKind): string {
    const what: Record<WorkKind, string> = {
      bytes: 'bytes read',
      requests: 'registry requests',
      artifacts: 'signatures read',
      checks: 'signature checks',
    };
    return `${what[kind]} reached the limit of ${this.limits[kind]}`;
  }
}
